"""The emulated screen: pyte's Screen with the drawing, erasing, scrolling and scrollback fixed
to behave like tmux, the reference the corpus tests compare against."""

from __future__ import annotations

from typing import Any

import pyte
from pyte import charsets as cs
from pyte import modes as mo
from pyte.screens import Margins

from .history import HISTORY_BYTES, History
from .lines import Row, clear_wide_halves, expand
from .modes import ModeState, PenCursor
from .style import BLANK, Cell, Params, apply_sgr, blank, char_width

Buffer = list[Row]

_MAX_COMBINING = 16  # code points per cell: a flood of combining marks must not grow one cell
NOTIFICATIONS_KEPT = 16


class VTScreen(ModeState, pyte.Screen):
    """A pyte Screen whose rows are `Row`s (a glyph and a Style per cell) in a list, with an
    alternate screen and a compact main-screen scrollback. pyte's handlers that were wrong for
    real programs, and all that touch cells, are overridden."""

    buffer: Buffer  # type: ignore[assignment]
    # pyte's Cursor, whose `attrs` here hold a Cell and never pyte's Char (see PenCursor).
    cursor: PenCursor  # type: ignore[assignment]

    def __init__(
        self, cols: int, rows: int, history: int, history_bytes: int = HISTORY_BYTES
    ) -> None:
        # pyte.Screen.__init__ calls reset(), which needs these.
        self.history = History(history, history_bytes)
        self.replies: list[str] = []
        self.bells = 0  # BEL characters seen, for clients that mark a pane needing attention
        # OSC 9 / 99 / 777 the program wrote, (code, payload), for the supervisor to read as
        # what the agent says of its state; the oldest go if nobody takes them.
        self.notifications: list[tuple[str, str]] = []
        super().__init__(cols, rows)

    @property
    def default_char(self) -> Cell:  # type: ignore[override]
        return BLANK

    def reset(self) -> None:
        title = getattr(self, "title", "")
        super().reset()
        self.buffer = self.blank_buffer()
        self.title = title  # RIS resets the terminal, not what the user calls the pane
        self.g1_charset = cs.LAT1_MAP  # G1 starts as ASCII (xterm, tmux): a stray SO is harmless
        self.cursor.attrs = BLANK
        self.reset_mode_state()
        self.last_char = ""

    def blank_buffer(self) -> Buffer:
        cols = self.columns
        return [Row(cols) for _ in range(self.lines)]

    def bell(self) -> None:
        self.bells += 1

    def notify(self, code: str, payload: str) -> None:
        if len(self.notifications) >= NOTIFICATIONS_KEPT:
            del self.notifications[0]
        self.notifications.append((code, payload))

    # Drawing.

    def draw(self, data: str) -> None:
        data = data.translate(self.g1_charset if self.charset else self.g0_charset)
        cursor = self.cursor
        cols = self.columns
        autowrap = mo.DECAWM in self.mode
        insert = mo.IRM in self.mode
        pen = cursor.attrs.style
        line = self.buffer[cursor.y]
        for char in data:
            width = char_width(char)
            if width <= 0 or width > cols:
                if width == 0:
                    self._combine(char)
                continue  # C0/C1 controls, or wide in one column: nothing drawn (tmux too)
            if cursor.x + width > cols:
                if autowrap:
                    # Past the edge (or a wide character at the last column): wrap first.
                    self.dirty.add(cursor.y)
                    cursor.x = 0
                    self.index()
                    line = self.buffer[cursor.y]
                elif width > 1:
                    continue  # tmux drops a wide character that cannot fit without wrapping
                else:
                    cursor.x = cols - 1
            if insert:
                self.insert_characters(width)
            x = cursor.x
            # Overwriting half of a wide character blanks the other half, as terminals do.
            clear_wide_halves(line, x, x + width)
            line.set(x, char, pen)
            if width == 2:
                line.set(x + 1, "", pen)
            cursor.x = x + width
            self.last_char = char
        self.dirty.add(cursor.y)

    def _combine(self, char: str) -> None:
        # Zero-width code points (combining marks, ZWJ, variation selectors) join the glyph
        # before the cursor, kept as sent (no NFC, as tmux) so capture shows the same bytes.
        x, y = self.cursor.x - 1, self.cursor.y
        line = self.buffer[y]
        if x > 0 and line.chars[x] == "":
            x -= 1
        if x < 0:
            return
        data = line.chars[x]
        if data and len(data) < _MAX_COMBINING:
            line.set(x, data + char, line.styles[x])
            self.dirty.add(y)

    def repeat_last(self, count: int | None = None) -> None:
        """REP: draw the last drawn character again `count` times."""
        if self.last_char:
            self.draw(self.last_char * min(count or 1, self.columns * self.lines))

    def select_graphic_rendition(self, *attrs: int, **_: Any) -> None:
        self.set_pen([[attr] for attr in attrs])

    def set_pen(self, params: Params) -> None:
        self.cursor.attrs = Cell(" ", apply_sgr(self.cursor.attrs.style, params))

    # Scrolling. tmux moves every line scrolled off the top of a region into the history,
    # whatever the region, and keeps none from the alternate screen.

    def _region(self) -> Margins:
        return self.margins or Margins(0, self.lines - 1)

    def cleared_row(self) -> Row:
        """A row as erasing leaves it: blanks in the pen's background (BCE)."""
        return Row(self.columns, blank(self.cursor.attrs.style).style)

    def _fill(self, y: int) -> None:
        self.buffer[y] = self.cleared_row()

    def scroll_region_up(self, top: int, bottom: int, count: int, history: bool = True) -> None:
        count = min(count, bottom - top + 1)
        buf = self.buffer
        if history and not self.alternate and self.history.maxlen:
            for y in range(top, top + count):
                self.history.add(buf[y])
        buf[top : bottom + 1] = buf[top + count : bottom + 1] + [
            self.cleared_row() for _ in range(count)
        ]
        self.dirty.update(range(top, bottom + 1))

    def scroll_region_down(self, top: int, bottom: int, count: int) -> None:
        count = min(count, bottom - top + 1)
        buf = self.buffer
        buf[top : bottom + 1] = [self.cleared_row() for _ in range(count)] + buf[
            top : bottom + 1 - count
        ]
        self.dirty.update(range(top, bottom + 1))

    def index(self) -> None:
        top, bottom = self._region()
        if self.cursor.y == bottom:
            self.scroll_region_up(top, bottom, 1)
        elif self.cursor.y < self.lines - 1:  # below the region: move, never scroll
            self.cursor.y += 1

    def reverse_index(self) -> None:
        top, bottom = self._region()
        if self.cursor.y == top:
            self.scroll_region_down(top, bottom, 1)
        elif self.cursor.y > 0:
            self.cursor.y -= 1

    def scroll_up(self, count: int | None = None, *_: int) -> None:
        """SU (CSI S): scroll the region up; the cursor stays."""
        top, bottom = self._region()
        self.scroll_region_up(top, bottom, count or 1)

    def scroll_down(self, count: int | None = None, *rest: int) -> None:
        """SD (CSI T); with five parameters it is xterm's mouse tracking request instead."""
        if not rest:
            top, bottom = self._region()
            self.scroll_region_down(top, bottom, count or 1)

    def insert_lines(self, count: int | None = None) -> None:
        top, bottom = self._region()
        if top <= self.cursor.y <= bottom:
            self.scroll_region_down(self.cursor.y, bottom, count or 1)
            self.cursor.x = 0

    def delete_lines(self, count: int | None = None) -> None:
        top, bottom = self._region()
        if top <= self.cursor.y <= bottom:
            self.scroll_region_up(self.cursor.y, bottom, count or 1, history=False)
            self.cursor.x = 0

    # Erasing. Erased cells keep only the pen's background (BCE), like xterm and tmux.

    def _erase(self, line: Row, start: int, end: int) -> None:
        start, end = max(start, 0), min(end, self.columns)
        if start >= end:
            return
        clear_wide_halves(line, start, end)
        line.drop_drawn()
        fill = blank(self.cursor.attrs.style).style
        line.chars[start:end] = [" "] * (end - start)
        line.styles[start:end] = [fill] * (end - start)
        line.used = max(line.used, end)

    def erase_characters(self, count: int | None = None) -> None:
        x = self.cursor.x
        self._erase(self.buffer[self.cursor.y], x, x + (count or 1))
        self.dirty.add(self.cursor.y)

    def erase_in_line(self, how: int = 0, *_: Any, **__: Any) -> None:
        x, line = self.cursor.x, self.buffer[self.cursor.y]
        if how == 0:
            self._erase(line, x, self.columns)
        elif how == 1:
            self._erase(line, 0, x + 1)
        elif how == 2:
            self._erase(line, 0, self.columns)
        self.dirty.add(self.cursor.y)

    def erase_in_display(self, how: int = 0, *_: Any, **__: Any) -> None:
        y = self.cursor.y
        if how == 3:
            self.history.clear()
        elif how == 2 or (how == 0 and y == 0 and self.cursor.x == 0):
            self._clear_into_history()
        elif how == 0:
            self.erase_in_line(0)
            for row in range(y + 1, self.lines):
                self._fill(row)
            self.dirty.update(range(y, self.lines))
        elif how == 1:
            for row in range(y):
                self._fill(row)
            self.erase_in_line(1)
            self.dirty.update(range(y + 1))

    def _clear_into_history(self) -> None:
        # tmux's scroll-on-clear: a full clear of the main screen keeps what was on it, down to
        # the last line in use, in the history (so `clear` does not lose an agent's output).
        if not self.alternate and self.history.maxlen:
            used = [y for y, row in enumerate(self.buffer) if row.in_use()]
            for y in range(max(used, default=-1) + 1):
                self.history.add(self.buffer[y])
        for y in range(self.lines):
            self._fill(y)
        self.dirty.update(range(self.lines))

    # Characters.

    def insert_characters(self, count: int | None = None) -> None:
        x, cols = self.cursor.x, self.columns
        if x >= cols:
            return
        count = min(count or 1, cols - x)
        line = self.buffer[self.cursor.y]
        chars, styles = line.chars[x : cols - count], line.styles[x : cols - count]
        self._erase(line, x, cols)
        line.chars[x + count :] = chars
        line.styles[x + count :] = styles
        self._erase(line, x, x + count)
        if char_width(line.chars[cols - 1][:1] or " ") == 2:
            line.chars[cols - 1] = " "  # pushed half off the edge
        self.dirty.add(self.cursor.y)

    def delete_characters(self, count: int | None = None) -> None:
        x, cols = self.cursor.x, self.columns
        if x >= cols:
            return
        count = min(count or 1, cols - x)
        line = self.buffer[self.cursor.y]
        self._erase(line, x, x + count)  # repairs the wide characters cut at both edges
        chars, styles = line.chars[x + count :], line.styles[x + count :]
        self._erase(line, x, cols)
        line.chars[x : x + len(chars)] = chars
        line.styles[x : x + len(styles)] = styles
        self.dirty.add(self.cursor.y)

    # Cursor movement: tmux's rules, which differ from pyte's at the margins and when the
    # cursor sits past the last column waiting to wrap.

    def cursor_up(self, count: int | None = None) -> None:
        margins = self.margins
        top = margins.top if margins and self.cursor.y >= margins.top else 0
        self.cursor.y = max(self.cursor.y - (count or 1), top)
        self.ensure_hbounds()

    def cursor_down(self, count: int | None = None) -> None:
        margins = self.margins
        bottom = margins.bottom if margins and self.cursor.y <= margins.bottom else self.lines - 1
        self.cursor.y = min(self.cursor.y + (count or 1), bottom)
        self.ensure_hbounds()

    def cursor_position(self, line: int | None = None, column: int | None = None) -> None:
        self.cursor.x = (column or 1) - 1
        self.ensure_hbounds()
        self.cursor_to_line(line)

    def cursor_to_line(self, line: int | None = None) -> None:
        y = (line or 1) - 1
        if self.margins is not None and mo.DECOM in self.mode:
            top, bottom = self.margins
            self.cursor.y = min(max(y + top, top), bottom)
        else:
            self.cursor.y = min(max(y, 0), self.lines - 1)

    def set_margins(self, top: int | None = None, bottom: int | None = None) -> None:
        top = min(max((top or 1) - 1, 0), self.lines - 1)
        bottom = min(max((bottom or self.lines) - 1, 0), self.lines - 1)
        if top >= bottom:
            return  # DECSTBM ignores a region under two lines
        self.margins = None if (top, bottom) == (0, self.lines - 1) else Margins(top, bottom)
        self.cursor_position()

    def tab_forward(self, count: int | None = None) -> None:
        for _ in range(min(count or 1, self.columns)):
            self.tab()

    def tab_back(self, count: int | None = None) -> None:
        for _ in range(min(count or 1, self.columns)):
            x = min(self.cursor.x, self.columns - 1)
            self.cursor.x = max((stop for stop in self.tabstops if stop < x), default=0)

    def alignment_display(self) -> None:
        self.buffer = self.blank_buffer()
        for row in self.buffer:
            row.chars[:] = ["E"] * self.columns
            row.first, row.used, row.drawn = 0, self.columns, None
        self.dirty.update(range(self.lines))

    # Resizing, like tmux: keep the bottom of the screen and the cursor's line; lines leaving
    # the top go to the history, and growing pulls them back. Columns are cut, not re-wrapped.

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        rows, cols = lines or self.lines, columns or self.columns
        if (rows, cols) == (self.lines, self.columns):
            return
        self.history.settle(self.columns)  # the bulk lines, charged at the width they had
        old = self.lines
        if self.alternate:
            self.buffer, self.cursor.y = self._fit(self.buffer, self.cursor.y, old, rows, False)
            if self.main_buffer is not None and self.main_cursor is not None:
                self.main_buffer, self.main_cursor.y = self._fit(
                    self.main_buffer, self.main_cursor.y, old, rows, True
                )
        else:
            self.buffer, self.cursor.y = self._fit(self.buffer, self.cursor.y, old, rows, True)
        self.lines, self.columns = rows, cols
        for buffer in (self.buffer, self.main_buffer or []):
            for row in buffer:
                row.resize(cols)
        for cursor in (self.cursor, self.main_cursor, self.saved and self.saved.cursor):
            if cursor is not None:
                cursor.x = cols - 1 if cursor.x >= cols else cursor.x  # lose a pending wrap
                cursor.y = min(cursor.y, rows - 1)
        self.margins = None
        self.tabstops = set(range(8, cols, 8))
        self.dirty.update(range(rows))

    def _fit(
        self, buffer: Buffer, cy: int, old: int, new: int, history: bool
    ) -> tuple[Buffer, int]:
        # Rows keep the old width here; resize() cuts or extends them all afterwards.
        shift = 0  # rows move down by this much (negative: up)
        if new < old:
            drop = min(max(old - 1 - cy, 0), old - new)  # lines below the cursor go first
            del buffer[old - drop :]
            shift = -(old - new - drop)
            if history and not self.alternate_for(buffer) and self.history.maxlen:
                for y in range(-shift):
                    self.history.add(buffer[y])
            fitted = buffer[-shift:]
        else:
            if history:
                shift = min(len(self.history), new - old)
            pulled = [expand(self.history.pop(), self.columns) for _ in range(shift)]
            fitted = pulled[::-1] + buffer
            fitted += [Row(self.columns) for _ in range(new - len(fitted))]
        return fitted, max(min(cy + shift, new - 1), 0)

    def alternate_for(self, buffer: Buffer) -> bool:
        """Whether `buffer` is the alternate screen's, whose lines never reach the history."""
        return bool(self.alternate) and buffer is self.buffer
