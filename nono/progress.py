"""A progress bar (prompt_toolkit's) for long snapshots and restores, shown only when it helps."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

# Anything quicker than this shows nothing at all (NONO_PROGRESS_DELAY: seconds, 0 shows every
# bar at once, for a slow terminal or a test that must see one).
DELAY = 0.5


def _delay() -> float:
    try:
        return float(os.environ.get("NONO_PROGRESS_DELAY", DELAY))
    except ValueError:
        return DELAY


class Progress:
    """A `(done, total, label)` callback that opens a bar once work has taken a moment."""

    def __init__(self, title: str, *, enabled: bool | None = None) -> None:
        self.title = title
        self.enabled = os.isatty(2) if enabled is None else enabled
        self.started = time.monotonic()
        self.bar: Any = None
        self.counter: Any = None

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.started < _delay():
                return
            from prompt_toolkit.output import create_output
            from prompt_toolkit.shortcuts import ProgressBar

            self.bar = ProgressBar(title=self.title, output=create_output(stdout=sys.stderr))
            self.bar.__enter__()
            # A finished bar says nothing the next message does not; left on screen, the bars
            # of a baseline and a final snapshot read as one bar printed twice. (Read when the
            # bar's application exits, so setting it after it started is in time.)
            self.bar.app.erase_when_done = True
            self.counter = self.bar(label=label, total=total or None)
        self.counter.items_completed = done
        if total:
            self.counter.total = total
        self.counter.label = label
        self.bar.invalidate()

    def close(self) -> None:
        if self.bar is not None:
            self.counter.done = True
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
