"""The scrollback: compact lines, oldest first, bounded by a line count and by the memory they
hold, whichever is reached first.

A line count alone does not bound memory: a line is a run per colour change, and a 1000-column
line that changes colour every few cells (or mints a new truecolour style each time, or piles
combining marks onto cells) holds tens of KB, so 10,000 of them pushed a supervisor to ~860 MB.
Each line is charged at least what it holds and the oldest go first past the budget.

The charge is exact (what sys.getsizeof finds) for a row the slow path drew on, and an upper
bound, costing no look at the runs, for a row only the bulk paths drew: they draw no combining
marks, so its text is at most a code point a cell, 4 bytes at most. Measuring every run would
cost the model ~5% of its speed on mixed output; the bound, counted from the number of runs
and the width, costs ~2-4% and overcounts, which the budget allows for.

The budget, 64 MB: 10,000 lines are charged ~11 MB for 200-column log output, ~16-18 MB for
bench/mixed.py's mixed and dense workloads (2.5-4x what they hold), and ~42 MB for a
1000-column screen of plain text, so the line count is what binds for all of them and the
whole history is kept. The bytes bind only for wide and dense, or hostile, output; what they
bound is real memory, so such a session (history, screen, the process itself) stays near
120 MB (a 1000x500 flood measured ~600 MB before) however its lines are made.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import islice
from sys import getsizeof

from .lines import Line, Row, compact
from .style import _INTERN_LIMIT, _INTERNED

HISTORY_BYTES = 64 * 1024 * 1024

# What CPython holds for a line beyond its text: the line's tuple (56 bytes, and 8 a run), a
# run's (str, Style) tuple (56) and its str's header (49-76 by kind); once the intern table is
# full, a new Style per run (~104) with its truecolour strings (2 x 58). Measured (getsizeof).
_LINE = 56
_RUN = 64
_HEADER = 76
_OWN_STYLE = 220
_BULK_RUN = _RUN + _HEADER


def line_bytes(line: Line) -> int:
    """What a history line holds in memory (exact but for styles, charged as if unshared once
    the intern table is full)."""
    own = _OWN_STYLE if len(_INTERNED) >= _INTERN_LIMIT else 0
    size = _LINE + (_RUN + own) * len(line)
    for text, _ in line:
        size += getsizeof(text)
    return size


class History:
    """A deque of lines with both bounds. The screen adds rows as they leave it (`add`), pops
    lines back when it grows, clears it, and reads it in order.

    The bulk paths, which scroll most lines of a flood, append to `lines` themselves and count
    them in `unsized`; `settle` charges them in one go after each feed (a call and the
    bookkeeping per line cost the model ~8% of its speed on mixed output; this costs ~2%). The
    charge therefore lags the lines by at most one feed's worth."""

    __slots__ = ("bytes", "lines", "max_bytes", "maxlen", "sizes", "unsized")

    def __init__(self, maxlen: int, max_bytes: int = HISTORY_BYTES) -> None:
        self.maxlen = max(maxlen, 0)
        # Both drop their oldest item when a line past `maxlen` comes (in C); `sizes` is the
        # charge of each line in `lines` but the last `unsized`.
        self.lines: deque[Line] = deque(maxlen=self.maxlen)
        self.sizes: deque[int] = deque(maxlen=self.maxlen)
        self.unsized = 0
        self.max_bytes = max(max_bytes, 0)
        self.bytes = 0  # what the sized lines kept are charged, in total

    def settle(self, cols: int) -> None:
        """Charge the lines the bulk paths appended (rows `cols` wide, drawn by them alone)."""
        count = min(self.unsized, len(self.lines))
        self.unsized = 0
        if not count:
            return
        per_run = _BULK_RUN if len(_INTERNED) < _INTERN_LIMIT else _BULK_RUN + _OWN_STYLE
        line = _LINE + 4 * cols
        new = [line + per_run * runs for runs in map(len, islice(reversed(self.lines), count))]
        new.reverse()
        self._extend(new)

    def add(self, row: Row) -> None:
        """A row leaving the screen (slow path): its compact line, charged exactly."""
        if self.unsized:
            self.settle(row.width)
        line = compact(row)
        self.lines.append(line)
        self._extend([line_bytes(line)])

    def append(self, line: Line) -> None:
        if self.unsized:
            raise RuntimeError("settle() the bulk lines first")
        self.lines.append(line)
        self._extend([line_bytes(line)])

    def _extend(self, new: list[int]) -> None:
        # The lines these sizes are for are in `lines` already, and pushed out as many old
        # lines as `sizes` is about to.
        sizes = self.sizes
        gone = len(sizes) + len(new) - self.maxlen
        if gone > 0:
            self.bytes -= sum(islice(sizes, gone))
        sizes.extend(new)
        self.bytes += sum(new)
        if self.bytes > self.max_bytes:
            lines = self.lines
            while self.bytes > self.max_bytes and lines:
                lines.popleft()
                self.bytes -= sizes.popleft()

    def pop(self) -> Line:
        if self.unsized:
            self.unsized -= 1  # never charged
            return self.lines.pop()
        self.bytes -= self.sizes.pop()
        return self.lines.pop()

    def clear(self) -> None:
        self.lines.clear()
        self.sizes.clear()
        self.unsized = 0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[Line]:
        return iter(self.lines)

    def __getitem__(self, index: int) -> Line:
        return self.lines[index]
