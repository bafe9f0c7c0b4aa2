"""Driving the real `nono mux` as a person does: a PTY of a fixed size, the screen read through
pyte."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte

PREFIX = "\x1d"  # ctrl-], the default keymap's prefix


class Dashboard:
    """`nono mux` in a PTY of cols x rows."""

    def __init__(
        self, cwd: Path, *args: str, cols: int = 100, rows: int = 30, env: dict | None = None
    ) -> None:
        environ = dict(os.environ)
        environ.update({"TERM": "xterm-256color", "SHELL": "/bin/bash"})
        environ.update(env or {})
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "nono", "mux", *args],
            cwd=str(cwd),
            env=environ,
            dimensions=(rows, cols),
        )

    # ------------------------------------------------------------ reading

    def pump(self, wait: float = 0.05) -> bool:
        """Read what the dashboard wrote; False once it has exited."""
        try:
            data = self.child.read_nonblocking(1 << 20, timeout=wait)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def lines(self) -> list[str]:
        return list(self.screen.display)

    def wait(self, what: str | Callable[[str], bool], timeout: float = 15) -> str:
        """Until the screen shows `what` (text, or a test of the whole screen's text)."""
        check = what if callable(what) else (lambda text: what in text)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what!r}; the screen:\n{text}")
            if not self.pump(0.05) and not check(self.text()):
                raise AssertionError(f"nono mux exited waiting for {what!r}:\n{self.text()}")

    def wait_gone(self, what: str, timeout: float = 15) -> str:
        return self.wait(lambda text: what not in text, timeout)

    def settle(self, quiet: float = 0.3, timeout: float = 5) -> None:
        """Read until the dashboard has written nothing for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet:
            before = len(self.raw)
            if not self.pump(0.05):
                return
            if len(self.raw) != before:
                last = time.monotonic()

    # ------------------------------------------------------------ typing

    def send(self, data: str | bytes) -> None:
        self.child.send(data)
        self.pump(0.02)

    def prefix(self, key: str) -> None:
        self.send(PREFIX)
        self.send(key)

    def type_line(self, line: str) -> None:
        self.send(line + "\r")

    def resize(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows
        self.screen.resize(rows, cols)
        self.child.setwinsize(rows, cols)

    # ------------------------------------------------------------ the layout on screen

    def headers(self) -> list[tuple[int, int, str]]:
        """(row, column, name) of each pane header: `─ N:name` at the top of each pane."""
        found = []
        for y, line in enumerate(self.lines()[:-1]):
            for match in re.finditer(r"─ \d+:([\w.-]+?)[!#]?(?= |─|$)", line):
                found.append((y, match.start(), match.group(1)))
        return found

    def status(self) -> str:
        return self.lines()[-1]

    def exit(self, timeout: float = 10) -> int | None:
        deadline = time.monotonic() + timeout
        while self.pump(0.05) and time.monotonic() < deadline:
            pass
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()
