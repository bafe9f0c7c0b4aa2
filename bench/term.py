"""The terminal model alone: MB/s for the 20 MB mixed file, beside stock pyte and tmux, and for
the denser 20 MB workload (bench/mixed.py's _dense_line) beside tmux.

Prints numbers only.
`python bench/term.py [--mb 20] [--slow-mb 2] [--rec-mb 2] [--rec-slow-mb 0.5] [--skip-tmux]`
The model is fed in slices of the supervisor's size (MODEL_SLICE). The slow contenders (the
model without its bulk paths, stock pyte) get a prefix of the file to keep the run short.
tmux is timed headless in the same run: from a trigger to a marker printed after the file
showing in `capture-pane`.

Then the same for each recording of a real program in the terminal corpus
(tests/term_corpus/rec_*.in, at the corpus's 80x24): the recording is repeated until --rec-mb
(the model) or --rec-slow-mb (stock pyte) have been fed, to one 80x24 terminal per contender
with 10,000 lines of history (pyte Screen has none). The repeats land on a terminal the
previous one left behind: after rec_vim and rec_less it is still on the alternate screen,
which the next repeat enters again, as those programs would.
"""

from __future__ import annotations

import argparse
import gc
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

from nono.session.supervisor import MODEL_SLICE
from nono.term import TerminalModel

COLS, ROWS, HISTORY = 200, 50, 10_000
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "term_corpus"
REC_COLS, REC_ROWS = 80, 24  # the corpus size
SLICE = MODEL_SLICE  # what the supervisor hands the model per call

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


def repeated(data: bytes, mb: float) -> bytes:
    """`data` over and over, whole, until at least `mb` MB."""
    return data * -(-int(mb * MIB) // len(data))


def recordings(mb: float, slow_mb: float) -> None:
    """MB/s of the model, pyte Screen and pyte HistoryScreen on each corpus recording. Stock
    pyte raises on some real output (vim's `CSI > 4;2 m`); that is reported instead of a rate."""
    for path in sorted(CORPUS.glob("rec_*.in")):
        recording = path.read_bytes()
        data, prefix = repeated(recording, mb), repeated(recording, slow_mb)
        name = f"{path.stem} ({len(recording) / 1024:.1f} KB x {len(data) // len(recording)})"
        term = TerminalModel(REC_COLS, REC_ROWS, HISTORY)
        report(f"{name} model MB/s", f"{rate(term.feed, data):.2f}")
        screens = {
            f"  pyte Screen ({len(prefix) / MIB:.2f} MB) MB/s": pyte.Screen(REC_COLS, REC_ROWS),
            "  pyte HistoryScreen MB/s": pyte.HistoryScreen(REC_COLS, REC_ROWS, history=HISTORY),
        }
        for label, screen in screens.items():
            try:
                report(label, f"{pyte_rate(screen, prefix):.2f}")
            except Exception as error:  # stock pyte's bug, not the benchmark's
                report(label, type(error).__name__)


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
    parser.add_argument("--rec-mb", type=float, default=2.0)
    parser.add_argument("--rec-slow-mb", type=float, default=0.5)
    parser.add_argument("--skip-tmux", action="store_true")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        print(json.dumps(scrollback_rss()))
        return
    # The collector as a supervisor sets it (session/launch.py): the model's many small objects
    # otherwise cost a pass over the whole history every few thousand allocations.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
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
    # The dense workload: a colour change every few words, CJK and symbols inside lines, tabs.
    dense_path = ensure(Path("/var/tmp/nono-bench/dense.txt"), args.mb, dense=True)
    dense = dense_path.read_bytes()
    model = TerminalModel(COLS, ROWS, HISTORY)
    report(f"dense: model, bulk paths ({args.mb:g} MB) MB/s", f"{rate(model.feed, dense):.2f}")
    if not args.skip_tmux:
        tmux = tmux_rate(dense_path, args.mb)
        shown = "-" if tmux is None else f"{tmux:.2f}"
        report(f"dense: tmux headless ({args.mb:g} MB) MB/s", shown)
    child = subprocess.run([sys.executable, __file__, "--rss-child"], capture_output=True,
                           text=True, check=True)  # fmt: skip
    rss = json.loads(child.stdout)
    report("RSS, fresh model (MB)", f"{rss['before']:.1f}")
    report("RSS, 10,000 lines x 200 cols history (MB)", f"{rss['after']:.1f}")
    report("  of which history (MB)", f"{rss['history']:.1f}")
    recordings(args.rec_mb, args.rec_slow_mb)


if __name__ == "__main__":
    main()
