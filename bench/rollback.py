"""Rollback benchmark: baseline, 1% incremental, restore and store size on a 20,000-file tree.

Usage: python bench/rollback.py [--files N] [--mb M] [--keep]
Builds a deterministic synthetic tree under /var/tmp (not /tmp: often a RAM disk), with its
own XDG_STATE_HOME beside it. Page caches are not dropped: the baseline is measured as it comes.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

GOALS = {"baseline": 6.0, "incremental": 0.5, "restore": 0.5}


def build_tree(root: Path, files: int, total_mb: int, seed: int = 20240501) -> int:
    """files spread over 2-level directories; sizes skewed (many small, a few large)."""
    rng = random.Random(seed)
    weights = [rng.paretovariate(1.2) for _ in range(files)]
    scale = total_mb * 1024 * 1024 / sum(weights)
    written = 0
    per_dir = 100
    for i in range(files):
        d = root / f"pkg{i // (per_dir * 20):02d}" / f"mod{(i // per_dir) % 20:02d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        size = max(1, int(weights[i] * scale))
        if i % 3:  # two in three files are text, so diffs and the like see real text
            line = f"line {i} of a synthetic source file for the nono rollback benchmark\n"
            data = (line * (size // len(line) + 1)).encode()[:size]
        else:
            data = rng.randbytes(size)
        (d / f"file{i:05d}.{'txt' if i % 3 else 'bin'}").write_bytes(data)
        written += size
    (root / ".gitignore").write_text("*.log\n/scratch/\n")
    return written


def change_files(root: Path, fraction: float, seed: int = 7) -> list[Path]:
    every = sorted(p for p in root.rglob("file*") if p.is_file())
    chosen = random.Random(seed).sample(every, max(1, int(len(every) * fraction)))
    for path in chosen:
        with open(path, "r+b") as f:
            f.write(b"CHANGED BY THE AGENT\n")
    return chosen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="keep the tree and store afterwards")
    args = ap.parse_args()

    base = Path("/var/tmp") / f"nono-bench-rollback-{os.getuid()}"
    shutil.rmtree(base, ignore_errors=True)
    tree = base / "tree"
    tree.mkdir(parents=True)
    os.environ["XDG_STATE_HOME"] = str(base / "state")
    from nono.rollback import Rollback  # after XDG_STATE_HOME is set

    t = time.perf_counter()
    size = build_tree(tree, args.files, args.mb)
    print(
        f"tree: {args.files:,} files, {size / 1e6:.0f} MB built in {time.perf_counter() - t:.1f} s"
    )
    results = {}
    try:
        t = time.perf_counter()
        rb = Rollback.create([str(tree)])
        results["baseline"] = time.perf_counter() - t
        info = rb.snapshots()[0]
        print(
            f"baseline snapshot:    {results['baseline']:.2f} s  "
            f"({info.files:,} files, {info.new_objects:,} objects)"
        )

        changed = change_files(tree, 0.01)
        t = time.perf_counter()
        info = rb.snapshot()
        results["incremental"] = time.perf_counter() - t
        print(
            f"incremental (1%):     {results['incremental']:.2f} s  "
            f"({len(changed)} files changed, {info.new_objects} new objects)"
        )

        fresh = Rollback.open(rb.id)  # a new process's view: manifests read from disk
        t = time.perf_counter()
        plan = fresh.plan_restore(0)
        plan_time = time.perf_counter() - t
        t = time.perf_counter()
        result = fresh.restore(plan)
        results["restore"] = time.perf_counter() - t
        print(f"restore plan:         {plan_time:.2f} s  ({len(plan.actions)} actions)")
        print(
            f"restore ({result.restored} files):   {results['restore']:.2f} s  "
            f"(plan + restore {plan_time + results['restore']:.2f} s)"
        )
        store = rb.size_bytes()
        print(f"store size:           {store / 1e6:.0f} MB for {size / 1e6:.0f} MB of files")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print()
    for name, goal in GOALS.items():
        got = results.get(name)
        verdict = "ok" if got is not None and got < goal else "MISSED"
        shown = f"{got:.2f} s" if got is not None else "n/a"
        print(f"goal {name:<12} < {goal:.1f} s: {shown:>8}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
