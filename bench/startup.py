"""Startup overhead of `nono run -- true` against plain `true` (median of many runs).

Prints milliseconds; no pass/fail. Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def measure(argv: list[str], runs: int, cwd: str, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, check=True, stdin=subprocess.DEVNULL, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--nono",
        help="the nono to measure (default: the one on PATH), e.g. "
        "one pip-installed into a clean venv",
    )
    args = parser.parse_args()
    nono = args.nono or shutil.which("nono") or sys.exit("nono is not on PATH: pip install -e .")
    work = tempfile.mkdtemp(dir="/var/tmp", prefix="nono-bench-")
    # Byte code cached as an installed package has it (in the run's own directory, not the
    # repository's): under PYTHONDONTWRITEBYTECODE every start would compile nono again.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
    true = shutil.which("true")
    with open(nono) as f:  # the interpreter behind this nono, for the floor
        first = f.readline()
    python = first[2:].strip() if first.startswith("#!") else sys.executable
    cases = {
        "true": [true],
        "python -c pass (interpreter floor)": [python, "-c", "pass"],
        "python -S -c pass": [python, "-S", "-c", "pass"],
        "nono run -- true": [nono, "run", "--", "true"],
        "nono run --profile claude-code --allow-cwd --block-net -- true": [
            nono, "run", "--profile", "claude-code", "--allow-cwd", "--block-net", "--", "true"
        ],
    }  # fmt: skip
    for argv in cases.values():  # warm the page cache
        measure(argv, 3, work, env)
    print(f"{'case':<66} {'median':>8} {'p90':>8}  (ms, {args.runs} runs)")
    medians = {}
    for name, argv in cases.items():
        times = sorted(measure(argv, args.runs, work, env))
        medians[name] = statistics.median(times)
        p90 = times[int(len(times) * 0.9) - 1]
        print(f"{name:<66} {medians[name]:8.1f} {p90:8.1f}")
    overhead = medians["nono run -- true"] - medians["true"]
    print(f"overhead of nono run -- true over true: {overhead:.1f} ms")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
