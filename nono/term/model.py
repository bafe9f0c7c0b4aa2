"""TerminalModel: the session's terminal as the rest of nono sees it (bytes in, screen out)."""

from __future__ import annotations

from itertools import islice

from .capture import line_ansi, line_text, render_ansi
from .fast import FastParser
from .history import HISTORY_BYTES
from .lines import runs
from .modes import Modes
from .parser import Parser
from .screen import VTScreen
from .style import Style


class TerminalModel:
    """A headless terminal fed with everything a program writes to its PTY.

    Pure: no I/O. Answers to the program's queries are collected for the caller to write back
    (`take_replies`); rows changed since the last look are collected too (`take_dirty`).
    """

    def __init__(
        self,
        cols: int = 80,
        rows: int = 24,
        history: int = 10_000,
        fast: bool = True,
        history_bytes: int = HISTORY_BYTES,
    ) -> None:
        """`fast=False` leaves out the bulk paths (nono/term/fast.py, bulk.py): only the
        differential test needs that, to hold them to the slow path's results. The history
        keeps at most `history` lines and what `history_bytes` of memory holds
        (nono/term/history.py)."""
        if cols < 1 or rows < 1:
            raise ValueError(f"terminal size must be at least 1x1, not {cols}x{rows}")
        self._screen = VTScreen(cols, rows, history, history_bytes)
        self._parser = FastParser(self._screen) if fast else Parser(self._screen)

    def feed(self, data: bytes) -> None:
        """Take output from the program; UTF-8 and escape sequences may be split anywhere."""
        self._parser.feed(data)

    def resize(self, cols: int, rows: int) -> None:
        """Change size like tmux: the bottom of the screen and the scrollback are kept."""
        if cols < 1 or rows < 1:
            raise ValueError(f"terminal size must be at least 1x1, not {cols}x{rows}")
        self._screen.resize(rows, cols)

    @property
    def cols(self) -> int:
        return self._screen.columns

    @property
    def rows(self) -> int:
        return self._screen.lines

    @property
    def cursor(self) -> tuple[int, int]:
        """(x, y), 0-based; a cursor waiting to wrap past the last column reports that column."""
        cursor = self._screen.cursor
        return min(cursor.x, self._screen.columns - 1), cursor.y

    @property
    def cursor_visible(self) -> bool:
        return not self._screen.cursor.hidden

    @property
    def alternate(self) -> bool:
        return bool(self._screen.alternate)

    @property
    def title(self) -> str:
        return self._screen.title

    @property
    def bells(self) -> int:
        """How many BEL characters the program has written (not counting those in OSC strings)."""
        return self._screen.bells

    @property
    def modes(self) -> Modes:
        return self._screen.modes()

    def take_notifications(self) -> list[tuple[str, str]]:
        """OSC 9, 99 and 777 sequences written since the last call, as (code, payload)."""
        found, self._screen.notifications[:] = list(self._screen.notifications), []
        return found

    def take_replies(self) -> bytes:
        """Answers owed to the program (DA1, DA2, DSR, CPR, DECRQM), to write to the PTY."""
        replies, self._screen.replies[:] = "".join(self._screen.replies), []
        return replies.encode()

    def take_dirty(self) -> set[int]:
        """Rows changed since the last call."""
        rows = self._screen.lines
        dirty = {y for y in self._screen.dirty if y < rows}
        self._screen.dirty.clear()
        return dirty

    def render_ansi(self) -> bytes:
        """A replay for a raw client: written to a fresh terminal of this size, it shows this
        screen (alternate screen included) in these modes, so the live output can follow."""
        return render_ansi(self._screen)

    def row_runs(self, y: int) -> list[tuple[str, Style]]:
        """Row `y` (full width) as runs of same-style text, for clients that draw cells."""
        if not 0 <= y < self._screen.lines:
            raise IndexError(f"row {y} is outside a {self._screen.lines}-row screen")
        return runs(self._screen.buffer[y])

    def screen_lines(self, ansi: bool = False) -> list[str]:
        """The visible rows, trailing spaces dropped (`tmux capture-pane -p [-e]`)."""
        render = line_ansi if ansi else line_text
        return [render(self.row_runs(y)) for y in range(self._screen.lines)]

    def history_runs(self, n: int) -> list[tuple[tuple[str, Style], ...]]:
        """The last `n` lines scrolled off the main screen as style runs (trailing blanks
        dropped), oldest first, for clients that draw cells (copy mode)."""
        history = self._screen.history
        return list(islice(history, max(len(history) - n, 0), None))

    @property
    def history_bytes(self) -> int:
        """What the history's lines are charged (at least what they hold in memory)."""
        history = self._screen.history
        history.settle(self._screen.columns)
        return history.bytes

    @property
    def history_size(self) -> int:
        return len(self._screen.history)

    def history_lines(self, n: int, ansi: bool = False) -> list[str]:
        """The last `n` lines scrolled off the main screen, oldest first."""
        history = self._screen.history
        render = line_ansi if ansi else line_text
        return [render(line) for line in islice(history, max(len(history) - n, 0), None)]

    def capture(self, history: int = 0, ansi: bool = False) -> str:
        """History lines then screen lines (`tmux capture-pane -p [-e] -S -history`)."""
        return "\n".join(self.history_lines(history, ansi) + self.screen_lines(ansi))
