"""The terminal model alone: MB/s for the 20 MB mixed file, beside stock pyte and tmux.

Prints numbers only. `python bench/term.py [--mb 20] [--slow-mb 2] [--skip-tmux]`
The model is fed in 512-byte slices, as the supervisor feeds it. The slow contenders (the
model without its bulk paths, stock pyte) get a prefix of the file to keep the run short.
tmux is timed headless in the same run: from a trigger to a marker printed after the file
showing in `capture-pane`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyte

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from mixed import WORDS, ensure

from nono.term import TerminalModel

COLS, ROWS, HISTORY = 200, 50, 10_000
SLICE = 512  # what the supervisor hands the model per call
MIB = 1024 * 1024
DONE = "__NONO_TERM_BENCH_DONE__"


def rate(feed: Callable[[bytes], None], data: bytes) -> float:
    """MB/s (MiB, like the file's 20 MB) of feeding `data` in supervisor-sized slices."""
    start = time.perf_counter()
    for i in range(0, len(data), SLICE):
        feed(data[i : i + SLICE])
    return len(data) / MIB / (time.perf_counter() - start)


def pyte_rate(screen: pyte.Screen, data: bytes) -> float:
    return rate(pyte.ByteStream(screen).feed, data)


def tmux_rate(path: Path, mb: float) -> float | None:
    """Headless tmux: a private server, so no user's tmux is touched."""
    if shutil.which("tmux") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="nono-term-bench-", dir="/var/tmp") as tmp:
        trigger = Path(tmp) / "go"
        script = (f"while [ ! -e {trigger} ]; do sleep 0.005; done; cat {path}; "
                  f"printf '\\n{DONE}\\n'; exec sleep 999")  # fmt: skip
        tmux = ["tmux", "-L", "nono-term-bench", "-f", "/dev/null"]
        subprocess.run([*tmux, "new-session", "-d", "-x", str(COLS), "-y", str(ROWS), script],
                       check=True)  # fmt: skip
        try:
            time.sleep(0.3)
            start = time.monotonic()
            trigger.touch()
            while True:
                shown = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True,
                                       text=True, check=True).stdout  # fmt: skip
                if DONE in shown:
                    return mb / (time.monotonic() - start)
                time.sleep(0.02)
        finally:
            subprocess.run([*tmux, "kill-server"], capture_output=True)


def scrollback_rss() -> dict[str, float]:
    """RSS of a fresh process before and after 10,000 full 200-column lines of history.
    Run in a child so the other benchmarks' garbage does not count."""
    rss = _rss_mb()
    term = TerminalModel(COLS, ROWS, HISTORY)
    rng = random.Random(2)
    for i in range(HISTORY + ROWS):
        words = " ".join(rng.choice(WORDS) for _ in range(40))
        line = f"{i:06d} \x1b[1;3{i % 8}m{words[:60]}\x1b[0m {words[60:]}"[: COLS + 20]
        term.feed(f"{line}\r\n".encode())
    assert len(term.history_lines(HISTORY)) == HISTORY
    after = _rss_mb()
    return {"before": round(rss, 1), "after": round(after, 1), "history": round(after - rss, 1)}


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MIB


def report(name: str, value: str) -> None:
    print(f"{name:<48}{value:>10}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--slow-mb", type=float, default=2.0)
    parser.add_argument("--skip-tmux", action="store_true")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        print(json.dumps(scrollback_rss()))
        return
    path = ensure(Path("/var/tmp/nono-bench/mixed.txt"), args.mb)
    data = path.read_bytes()
    prefix = data[: int(args.slow_mb * MIB)]
    fast = TerminalModel(COLS, ROWS, HISTORY)
    report(f"model, bulk paths ({args.mb:g} MB) MB/s", f"{rate(fast.feed, data):.2f}")
    slow = TerminalModel(COLS, ROWS, HISTORY, fast=False)
    report(f"model, slow path only ({args.slow_mb:g} MB) MB/s", f"{rate(slow.feed, prefix):.2f}")
    screen = pyte.Screen(COLS, ROWS)
    report(f"pyte Screen ({args.slow_mb:g} MB) MB/s", f"{pyte_rate(screen, prefix):.2f}")
    history = pyte.HistoryScreen(COLS, ROWS, history=HISTORY)
    report(f"pyte HistoryScreen ({args.slow_mb:g} MB) MB/s", f"{pyte_rate(history, prefix):.2f}")
    if not args.skip_tmux:
        tmux = tmux_rate(path, args.mb)
        report(f"tmux headless ({args.mb:g} MB) MB/s", "-" if tmux is None else f"{tmux:.2f}")
    child = subprocess.run([sys.executable, __file__, "--rss-child"], capture_output=True,
                           text=True, check=True)  # fmt: skip
    rss = json.loads(child.stdout)
    report("RSS, fresh model (MB)", f"{rss['before']:.1f}")
    report("RSS, 10,000 lines x 200 cols history (MB)", f"{rss['after']:.1f}")
    report("  of which history (MB)", f"{rss['history']:.1f}")


if __name__ == "__main__":
    main()
