"""The parser's bulk paths: text runs, CR/LF/BS/TAB and plain SGR handled without pyte's
character-at-a-time machine, with the rest handed to it. Each path does exactly what the slow
path would (the differential test in tests/test_term_fast.py holds it to that)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import groupby, repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pyte import charsets as cs
from pyte import modes as mo
from pyte.screens import StaticDefaultDict

from .lines import Line, clear_wide_halves, compact
from .parser import MAX_PARAM_CHARS, MAX_PARAMS, Parser, split_params
from .style import BLANK, DEFAULT, Cell, Style, blank, char_width, is_interned

if TYPE_CHECKING:
    from .screen import Row, VTScreen

# Tried at each point where pyte's machine is between sequences. Anything else (other escapes
# and controls, a sequence cut by the end of a feed) goes to pyte's machine one character at a
# time, which is also what keeps the split between the paths invisible.
_TOKEN = re.compile(
    "([\x20-\x7e]+)"  # 1: ASCII text, one column per character
    "|([\r\n\b\t]+)"  # 2: cursor-only controls (and LF, which may scroll)
    "|\x1b\\[([0-9;:]*)m"  # 3: SGR with no private marker or intermediates
    "|([^\x00-\x9f]+)"  # 4: other text; widths are checked before the bulk path takes it
)
_ASCII, _MOVES, _SGR, _WIDE = 1, 2, 3, 4
_IDENTITY = cs.LAT1_MAP  # the G0/G1 table that leaves every character as it is
_data = itemgetter(0)
_style = itemgetter(1)
_new = tuple.__new__  # Cell(data, style) without the Python-level NamedTuple __new__


class _Cells(dict[str, Cell]):
    """One interned pen's cells by character. Drawing shares these (cells are immutable) rather
    than allocating, and later freeing, a cell per character drawn."""

    def __init__(self, pen: Style) -> None:
        self.pen = pen

    def __missing__(self, char: str) -> Cell:
        if len(self) > 2048:  # a pen drawing every CJK character must not grow without end
            self.clear()
        cell = self[char] = Cell(char, self.pen)
        return cell


class FastParser(Parser):
    """The Parser with bulk paths in front of pyte's machine.

    Lines that scroll off during a feed are shifted in a list of rows (`_rows`) instead of the
    screen's dict, one list operation per line; the list is written back, and the lines gone
    are compacted into the history, before any slow event and at the end of every feed.
    """

    def __init__(self, screen: VTScreen) -> None:
        self._rows: list[Row | None] | None = None
        self._gone: list[Row | None] = []  # rows scrolled off, oldest first, for the history
        self._keep = False  # whether scrolled-off rows go to the history in this batch
        self._marked = False  # whether this batch already marked the region dirty
        self._sgr: dict[tuple[int, str], tuple[Style, Cell]] = {}
        self._pens: dict[int, _Cells] = {}  # by id: only interned pens, which live for good
        super().__init__(screen)
        self.screen: VTScreen = screen

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        if not self.use_utf8:  # never, as select_other_charset ignores ESC % @, but be exact
            super().feed(data)
            return
        try:
            self._feed_text(self.utf8_decoder.decode(data))
        finally:
            self._flush()

    def _feed_text(self, text: str) -> None:
        screen = self.screen
        send = self._send_to_parser
        match = _TOKEN.match
        taking = self._taking_plain_text  # True: pyte's machine is between sequences
        pos, end = 0, len(text)
        while pos < end:
            if taking:
                token = match(text, pos)
                if token is not None:
                    pos = token.end()
                    kind = token.lastindex
                    if kind == _ASCII:
                        self._draw(token.group(_ASCII), None)
                    elif kind == _SGR:
                        self._set_pen(screen, token.group(_SGR))
                    elif kind == _MOVES:
                        self._moves(screen, token.group(_MOVES))
                    else:
                        self._draw_other(token.group(_WIDE))
                    continue
            self._flush()
            taking = send(text[pos])
            pos += 1
        self._taking_plain_text = taking

    # Events handled here.

    def _set_pen(self, screen: VTScreen, params: str) -> None:
        # The checks of Parser._csi for a final "m" with no marker or intermediates.
        if params == "0" or not params:
            screen.cursor.attrs = BLANK  # what apply_sgr gives for a reset, whatever the pen
            return
        pen = screen.cursor.attrs.style
        key = (id(pen), params)
        hit = self._sgr.get(key)
        if hit is not None:  # the entry holds `pen`, so its id cannot have been reused
            screen.cursor.attrs = hit[1]
            return
        if len(params) > MAX_PARAM_CHARS:
            return
        split = split_params(params)
        if len(split) > MAX_PARAMS:
            return
        screen.set_pen(split)
        attrs = screen.cursor.attrs
        if is_interned(attrs.style):
            if len(self._sgr) >= 1024:
                self._sgr.clear()
            self._sgr[key] = (pen, attrs)

    def _moves(self, screen: VTScreen, controls: str) -> None:
        cursor = screen.cursor
        for char in controls:
            if char == "\n":
                self._index(screen)
                if mo.LNM in screen.mode:
                    cursor.x = 0
            elif char == "\r":
                cursor.x = 0
            elif char == "\b":
                screen.backspace()
            else:
                screen.tab()

    def _index(self, screen: VTScreen) -> None:
        # VTScreen.index, with the scroll done on the row list.
        top, bottom = screen.margins or (0, screen.lines - 1)
        y = screen.cursor.y
        if y == bottom:
            self._scroll(screen, top, bottom)
        elif y < screen.lines - 1:
            screen.cursor.y = y + 1

    def _scroll(self, screen: VTScreen, top: int, bottom: int) -> None:
        # VTScreen.scroll_region_up(top, bottom, 1).
        rows = self._rows
        if rows is None:
            rows = self._materialize(screen)
        gone = rows.pop(top)
        pen = screen.cursor.attrs.style
        rows.insert(bottom, None if pen.bg is None else StaticDefaultDict(blank(pen)))
        if self._keep:
            self._gone.append(gone)
        if not self._marked:  # the region cannot change until the next flush
            screen.dirty.update(range(top, bottom + 1))
            self._marked = True

    def _draw_other(self, text: str) -> None:
        widths = list(map(char_width, text))
        if widths.count(1) == len(widths):
            self._draw(text, None)
        elif min(widths) >= 1 and max(widths) <= 2 <= self.screen.columns:
            self._draw(text, widths)
        else:  # combining marks, zero-width and unprintable characters
            self._flush()
            self.screen.draw(text)

    def _draw(self, text: str, widths: list[int] | None) -> None:
        """VTScreen.draw for characters of width 1 (`widths` None) or of the given widths."""
        screen = self.screen
        mode = screen.mode
        charset = screen.g1_charset if screen.charset else screen.g0_charset
        if mo.IRM in mode or charset != _IDENTITY:
            self._flush()
            screen.draw(text)
            return
        cursor = screen.cursor
        pen = cursor.attrs.style
        if widths is None:
            x = self._draw_narrow(screen, cursor, pen, text)
            screen.last_char = text[-1]
        else:
            x = self._draw_wide(screen, cursor, pen, text, widths)
        cursor.x = x
        screen.dirty.add(cursor.y)

    def _draw_narrow(self, screen: VTScreen, cursor: Any, pen: Style, text: str) -> int:
        cols = screen.columns
        autowrap = mo.DECAWM in screen.mode
        x = cursor.x
        line = self._line(screen, cursor.y)
        i, n = 0, len(text)
        while i < n:
            if x >= cols:
                if autowrap:
                    screen.dirty.add(cursor.y)
                    x = 0
                    self._index(screen)
                    line = self._line(screen, cursor.y)
                else:
                    # Each character past the edge overwrites the last column: the last stays.
                    x, i = cols - 1, n - 1
            k = min(n - i, cols - x)
            # Only the ends of a run can cut a wide character: inside it each character
            # overwrites the stub the previous one blanked.
            clear_wide_halves(line, x, x + k)
            part = text if k == n else text[i : i + k]
            line.update(zip(range(x, x + k), self._cells(pen, part), strict=True))
            x += k
            i += k
        return x

    def _draw_wide(
        self, screen: VTScreen, cursor: Any, pen: Style, text: str, widths: list[int]
    ) -> int:
        # VTScreen.draw's loop, less the cases _draw_other sent to it.
        cols = screen.columns
        autowrap = mo.DECAWM in screen.mode
        x = cursor.x
        line = self._line(screen, cursor.y)
        cells = self._pens.get(id(pen))
        if cells is None:
            cells = _Cells(pen)
        stub = cells[""]
        last = ""
        for char, width in zip(text, widths, strict=True):
            if x + width > cols:
                if autowrap:
                    screen.dirty.add(cursor.y)
                    x = 0
                    self._index(screen)
                    line = self._line(screen, cursor.y)
                elif width > 1:
                    continue
                else:
                    x = cols - 1
            clear_wide_halves(line, x, x + width)
            line[x] = cells[char]
            if width == 2:
                line[x + 1] = stub
            x += width
            last = char
        if last:
            screen.last_char = last
        return x

    def _cells(self, pen: Style, text: str) -> Iterator[Cell]:
        """Cells drawing `text` with `pen`."""
        cells = self._pens.get(id(pen))
        if cells is None:
            if not is_interned(pen):  # a one-off truecolor pen: caching it would not pay
                return map(_new, repeat(Cell), zip(text, repeat(pen)))
            if len(self._pens) >= 256:
                self._pens.clear()
            cells = self._pens[id(pen)] = _Cells(pen)
        return map(cells.__getitem__, text)

    # The row list.

    def _line(self, screen: VTScreen, y: int) -> Row:
        rows = self._rows
        if rows is None:
            return screen.buffer[y]
        row = rows[y]
        if row is None:
            row = rows[y] = screen.buffer.default_factory()  # type: ignore[misc]
        return row

    def _materialize(self, screen: VTScreen) -> list[Row | None]:
        get = screen.buffer.get
        self._rows = rows = [get(y) for y in range(screen.lines)]
        self._keep = not screen.alternate and bool(screen.history.maxlen)
        return rows

    def _flush(self) -> None:
        """Hand the screen back to the slow path: rows written back, history appended."""
        rows = self._rows
        if rows is None:
            return
        screen = self.screen
        self._rows = None
        self._marked = False
        buffer = screen.buffer
        for y, row in enumerate(rows):
            if row is None:
                buffer.pop(y, None)
            else:
                buffer[y] = row
        gone = self._gone
        if gone:
            history = screen.history
            cols = screen.columns
            assert history.maxlen is not None
            # Lines the history would drop at once are not worth compacting.
            history.extend(compact_row(row, cols) for row in gone[-history.maxlen :])
            gone.clear()


_COUNTING: dict[int, list[int]] = {}


def _counting(n: int) -> list[int]:
    found = _COUNTING.get(n)
    if found is None:
        found = _COUNTING[n] = list(range(n))
    return found


def compact_row(row: Row | None, cols: int) -> Line:
    """lines.compact without a generator step per cell, for rows of one code point per cell
    (ASCII, CJK, emoji: most of what scrolls by); anything else goes to lines.compact."""
    if not row:
        return ()
    default = row.default  # type: ignore[attr-defined]
    if default is BLANK:
        # Cells past the last one set are default blanks, which compact drops anyway. A row
        # drawn left to right holds its cells in column order: no lookup per cell.
        keys = list(row)
        width = len(keys)
        if width <= cols and keys == _counting(width):
            cells = list(row.values())
        else:
            width = min(max(keys) + 1, cols)
            cells = list(map(row.get, range(width), repeat(default)))
    else:
        width = cols
        cells = list(map(row.get, range(width), repeat(default)))
    datas = list(map(_data, cells))
    text = "".join(datas)
    styles = list(map(_style, cells))
    if len(text) != width or not text.isascii():
        stubs = datas.count("")
        if len(text) != width - stubs:  # a cell holding a combining mark
            return compact(row, cols)
        if stubs:
            # glyphs() pairs each wide character with the stub after it; anything else
            # (an orphan half, a wide character cut at the edge) is left to it.
            expected: list[str] = []
            for char in text:
                expected.append(char)
                if char_width(char) == 2:
                    expected.append("")
            if expected != datas:
                return compact(row, cols)
            styles = [style for data, style in zip(datas, styles, strict=True) if data]
        elif 2 in map(char_width, text):
            return compact(row, cols)
    first = styles[0]
    if styles == [first] * len(styles):  # identity first, so no Style.__eq__ per cell
        line = [(text, first)]
    else:
        line = []
        x = 0
        # groupby compares neighbours with ==, as runs() does, and keys each run by its first.
        for style, group in groupby(styles):
            n = len(list(group))
            line.append((text[x : x + n], style))
            x += n
    # What compact drops: trailing default-style blanks.
    while line:
        part, style = line[-1]
        if style != DEFAULT:
            break
        stripped = part.rstrip(" ")
        if stripped:
            line[-1] = (stripped, style)
            break
        line.pop()
    return tuple(line)
