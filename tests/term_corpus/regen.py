"""Writes each terminal corpus case's NAME.expected: what tmux shows after reading NAME.in."""

# Each NAME.in holds raw bytes a program writes. All cases run at once through a private tmux
# server, one 80x24 window each, with the pane's output processing off so the bytes arrive
# unchanged. NAME.expected records the cursor and pane state tmux reports, then
# `capture-pane -p -S -` (text) and `capture-pane -p -e -S -` (text with SGR).
# To add a case: write NAME.in, run `python tests/term_corpus/regen.py [NAME...]`, read the
# NAME.expected it wrote, and commit both. tests/test_term.py compares the model against them.

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
COLS, ROWS = 80, 24
# Pane state compared by the tests; each is a tmux format variable.
STATE = (
    "alternate_on",
    "cursor_flag",
    "keypad_cursor_flag",
    "keypad_flag",
    "mouse_standard_flag",
    "mouse_button_flag",
    "mouse_all_flag",
    "mouse_sgr_flag",
    "origin_flag",
    "wrap_flag",
    "pane_title",
)


@dataclass(frozen=True)
class Expected:
    cursor: tuple[int, int]  # as tmux reports it: x == COLS while waiting to wrap
    state: dict[str, str]
    text: list[str]  # history lines, then the screen's
    ansi: list[str]

    def dump(self) -> str:
        state = "\n".join(f"{key}={value}" for key, value in self.state.items())
        return (
            f"# tmux output for this case's .in at {COLS}x{ROWS}; regenerate with regen.py\n"
            f"cursor={self.cursor[0]},{self.cursor[1]}\n{state}\n"
            "--- text\n" + "".join(line + "\n" for line in self.text) + "--- ansi\n"
            "" + "".join(line + "\n" for line in self.ansi)
        )

    @classmethod
    def load(cls, path: Path) -> Expected:
        raw = path.read_bytes().decode("utf-8")
        head, rest = raw.split("--- text\n", 1)
        text, ansi = rest.split("--- ansi\n", 1)
        # split("\n"), not splitlines(): cells may hold U+2028, U+0085 and other "breaks".
        fields = dict(line.split("=", 1) for line in head.split("\n")[1:-1])
        x, y = fields.pop("cursor").split(",")
        return cls((int(x), int(y)), fields, _lines(text), _lines(ansi))


class Tmux:
    """A private tmux server (its own socket, no config) for as long as the `with` lasts."""

    def __init__(self) -> None:
        self.env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        self.env.pop("TMUX", None)
        self.server = ["tmux", "-L", f"nono-term-{os.getpid()}-{time.monotonic_ns()}"]

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [*self.server, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def __enter__(self) -> Tmux:
        size = ["-x", str(COLS), "-y", str(ROWS)]
        self("new-session", "-d", *size, "-s", "corpus", "-n", "idle", "sleep 9999")
        self.socket = Path(self("display", "-p", "#{socket_path}").strip())
        return self

    def __exit__(self, *_: object) -> None:
        subprocess.run([*self.server, "kill-server"], env=self.env, capture_output=True)
        self.socket.unlink(missing_ok=True)  # tmux 3.3a leaves it behind

    def start(self, window: int, case: Path, tmp: str, go: Path) -> None:
        """Open a window that cats `case` once `go` exists, then touches `tmp/window.done`."""
        # Waiting for "go" lets the pane title be cleared before the case can set one; with
        # output processing off, LF stays LF; without echo, replies to queries are not drawn.
        script = (
            f"while [ ! -e {go} ]; do sleep 0.01; done; stty -opost -echo; "
            f"cat {shlex.quote(str(case))}; touch {tmp}/{window}.done; exec sleep 9999"
        )
        self("new-window", "-d", "-t", f"corpus:{window}", "sh", "-c", script)
        self("select-pane", "-t", f"corpus:{window}", "-T", "")

    def capture(self, window: int, ansi: bool = False) -> list[str]:
        """`capture-pane -p -S -` once tmux has parsed everything the pane was sent."""
        flags = ["-p", "-e"] if ansi else ["-p"]
        captured = None
        for _ in range(50):
            previous = captured
            captured = self("capture-pane", *flags, "-S", "-", "-t", f"corpus:{window}")
            if captured == previous:
                break
            time.sleep(0.02)
        return _lines(captured or "")

    def state(self, window: int, keys: tuple[str, ...]) -> list[str]:
        fmt = "\t".join(f"#{{{key}}}" for key in keys)
        return self("display", "-p", "-t", f"corpus:{window}", fmt).rstrip("\n").split("\t")


def _wait_done(tmp: str, windows: range) -> None:
    deadline = time.monotonic() + 20
    while not all(Path(tmp, f"{window}.done").exists() for window in windows):
        if time.monotonic() > deadline:
            raise SystemExit("tmux did not finish the corpus in 20 s")
        time.sleep(0.02)


def run_tmux(cases: list[Path]) -> dict[str, Expected]:
    """Run every case through one private tmux server; return what tmux shows for each."""
    windows = range(1, len(cases) + 1)
    with Tmux() as tmux, tempfile.TemporaryDirectory(prefix="nono-term-corpus-") as tmp:
        go = Path(tmp, "go")
        for window, case in zip(windows, cases, strict=True):
            tmux.start(window, case, tmp, go)
        go.touch()
        _wait_done(tmp, windows)
        results: dict[str, Expected] = {}
        for window, case in zip(windows, cases, strict=True):
            ansi, text = tmux.capture(window, ansi=True), tmux.capture(window)
            geometry = ("cursor_x", "cursor_y", "pane_width", "pane_height")
            values = tmux.state(window, (*geometry, *STATE))
            x, y, width, height = (int(n) for n in values[:4])
            state = values[4:]
            if (width, height) != (COLS, ROWS):
                raise SystemExit(f"tmux made a {width}x{height} pane, not {COLS}x{ROWS}")
            results[case.stem] = Expected((x, y), dict(zip(STATE, state, strict=True)), text, ansi)
        return results


def run_tmux_resizes(
    case: Path, sizes: list[tuple[int, int]]
) -> list[tuple[tuple[int, int], list[str]]]:
    """Feed `case` to tmux, then resize the window to each size; the cursor and
    `capture-pane -p -S -` after each resize."""
    with Tmux() as tmux, tempfile.TemporaryDirectory(prefix="nono-term-resize-") as tmp:
        go = Path(tmp, "go")
        tmux.start(1, case, tmp, go)
        go.touch()
        _wait_done(tmp, range(1, 2))
        tmux.capture(1)
        results = []
        for cols, rows in sizes:
            tmux("resize-window", "-t", "corpus:1", "-x", str(cols), "-y", str(rows))
            text = tmux.capture(1)
            x, y = (int(n) for n in tmux.state(1, ("cursor_x", "cursor_y")))
            results.append(((x, y), text))
        return results


def _lines(capture: str) -> list[str]:
    return capture.split("\n")[:-1]  # every line, the last included, ends with "\n"


def main(argv: list[str]) -> int:
    cases = sorted(CORPUS.glob("*.in"))
    if argv:
        cases = [case for case in cases if case.stem in argv]
    for name, expected in run_tmux(cases).items():
        CORPUS.joinpath(f"{name}.expected").write_bytes(expected.dump().encode("utf-8"))
        print(f"wrote {name}.expected")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
