"""What the bulk paths do to the screen: text drawn at the cursor, colour changes, CR, LF, BS
and TAB, each exactly as VTScreen's own handlers would (tests/test_term_fast.py holds them to
that), without a call a character. fast.py finds these in the output; this writes them."""

from __future__ import annotations

import re
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pyte import charsets as cs
from pyte import modes as mo

from .lines import Row, compact
from .parser import MAX_PARAM_CHARS, MAX_PARAMS, split_params
from .style import (
    BLANK,
    DEFAULT,
    Cell,
    Program,
    Style,
    blank,
    is_interned,
    run_program,
    sgr_program,
    with_color,
)
from .widths import WIDTH_DIGITS, wide_split

if TYPE_CHECKING:
    from .screen import VTScreen

# SGR that sets one truecolour (a new pen nearly every time, so never in the cache). Four
# digits at most, so that split_params' cap at 9999 cannot matter.
_TRUECOLOR = re.compile(r"([34])8;2;(\d{1,4});(\d{1,4});(\d{1,4})").fullmatch
_HEX = {str(i): f"{i:02x}" for i in range(256)}  # a colour part as most programs write it
_TEXT_OF = itemgetter(0)  # the text of a run
_IDENTITY = cs.LAT1_MAP  # the G0/G1 table that leaves every character as it is


class BulkWriter:
    """Writes runs of text, colour changes and cursor moves onto a VTScreen's rows. A run of
    text drawn left to right is a run appended to its row (Row.draw), a line scrolling off is
    a list pop.

    Only the parser's machine (pyte's events) replaces the cursor or the buffer, or changes
    the modes, the charsets or the margins, and only it or a resize between feeds changes the
    size: `begin` looks them up once for all the writes until the machine's next turn."""

    def __init__(self, screen: VTScreen) -> None:
        self.screen = screen
        self._sgr: dict[tuple[int, str], tuple[Style, Any]] = {}
        self._programs: dict[str, Program] = {}  # SGR parameters -> what they do to any pen
        # The region whose rows this feed already marked dirty by scrolling (the dirty set
        # only grows during a feed, so marking it again would change nothing).
        self._marked: tuple[int, int] | None = None
        self.begin()

    def begin(self) -> None:
        """Look up what only the machine changes (after it had a turn)."""
        screen = self.screen
        self.cursor = screen.cursor
        self.buffer = screen.buffer
        self.cols = screen.columns
        self.dirty = screen.dirty
        # Characters drawn as they come: no insert mode, no charset that maps them.
        self.plain = (
            mo.IRM not in screen.mode
            and (screen.g1_charset if screen.charset else screen.g0_charset) == _IDENTITY
        )
        self.bottom = screen.lines - 1 if screen.margins is None else -1  # -1: a region is set
        history = screen.history  # where lines scrolled off go, if they are kept
        self.history = history if history.maxlen and not screen.alternate else None

    def start_feed(self) -> None:
        self._marked = None

    def end_feed(self) -> None:
        history = self.screen.history
        if history.unsized:
            history.settle(self.screen.columns)

    # Colour changes.

    def pen(self, params: str) -> None:
        """SGR with these parameters (the checks of Parser._csi for a final "m" with no marker
        or intermediates were made)."""
        cursor = self.cursor
        if params == "0" or not params:
            cursor.attrs = BLANK  # what apply_sgr gives for a reset, whatever the pen
            return
        pen = cursor.attrs.style
        key = (id(pen), params)
        hit = self._sgr.get(key)
        if hit is not None:  # the entry holds `pen`, so its id cannot have been reused
            cursor.attrs = hit[1]
            return
        # The pen-and-parameters pairs of a coloured log that mixes fore- and backgrounds are
        # too many for the cache above; its parameter strings are few. (A truecolour is a new
        # string nearly every time: it has a path of its own and is not kept.)
        program = self._programs.get(params)
        if program is None:
            truecolor = _truecolor(params)
            if truecolor is not None:
                cursor.attrs = Cell(" ", with_color(pen, *truecolor))
            else:
                if len(params) > MAX_PARAM_CHARS:
                    return
                split = split_params(params)
                if len(split) > MAX_PARAMS:
                    return
                if len(self._programs) >= 4096:
                    self._programs.clear()
                program = self._programs[params] = sgr_program(split)
        if program is not None:
            cursor.attrs = Cell(" ", run_program(pen, program))
        attrs = cursor.attrs
        if is_interned(attrs.style):
            if len(self._sgr) >= 4096:
                self._sgr.clear()
            self._sgr[key] = (pen, attrs)

    # Text.

    def line(self, params: str | None, run: str, wide: int, newline: str | None) -> None:
        """What most output is made of, in one call (a call costs as much as the work): a
        colour change (its parameters, or None), text of characters one column wide but for
        `wide` that are two (no marks or controls), and a CR LF (`newline`, the token's CR LF
        group as matched, or None)."""
        cursor = self.cursor
        if params is not None:
            self.pen(params)
        if run:
            x = cursor.x
            stop = x + len(run) + wide
            if stop <= self.cols and self.plain:  # no wrap: the whole run on this row
                y = cursor.y
                self.buffer[y].draw(x, stop, [(run, cursor.attrs.style)])
                cursor.x = stop
                self.screen.last_char = run[-1]
                self.dirty.add(y)
            else:
                self._wrapping(run, wide)
        if newline:
            cursor.x = 0
            y = cursor.y
            bottom = self.bottom
            if y == bottom:
                self._scroll(0, y)
            elif bottom >= 0:
                cursor.y = y + 1
            else:
                self.index()

    def _wrapping(self, run: str, wide: int) -> None:
        """Text that may wrap (or goes through a charset or insert mode)."""
        if not wide:
            self._draw(run, None)
            return
        for i, piece in enumerate(wide_split(run)):
            if piece:
                if not i % 2:
                    self._draw(piece, None)
                elif self.cols >= 2:
                    self._draw(piece, [2] * len(piece))
                else:
                    self.screen.draw(piece)  # a wide character on a screen one column wide

    def runs(self, pieces: list[str]) -> None:
        """Colour changes each with the (one-column) text after it, as `PARAMSmTEXT` pieces
        (the SGRs' CSIs split off). A line's worth of them that fits on the row goes onto it
        in one go, the common colour changes (pen() found in its cache) looked up here: a call
        costs as much as the work."""
        cursor = self.cursor
        before = cursor.attrs
        cache = self._sgr
        drawn: list[tuple[str, Style]] = []
        for piece in pieces:
            params, _, run = piece.partition("m")
            if params == "0" or not params:
                cursor.attrs = BLANK
            else:
                hit = cache.get((id(cursor.attrs.style), params))
                if hit is None:
                    self.pen(params)
                else:
                    cursor.attrs = hit[1]
            if run:
                drawn.append((run, cursor.attrs.style))
        if not drawn:
            return
        x = cursor.x
        stop = x + sum(map(len, map(_TEXT_OF, drawn)))
        if stop > self.cols or not self.plain:
            # It wraps, or goes through a charset or insert mode: again, a piece at a time
            # (the colour changes come out the same: pen() depends on the pen and nothing else).
            cursor.attrs = before
            for piece in pieces:
                params, _, run = piece.partition("m")
                self.pen(params)
                if run:
                    self._draw(run, None)
            return
        y = cursor.y
        self.buffer[y].draw(x, stop, drawn)
        cursor.x = stop
        self.screen.last_char = drawn[-1][0][-1]
        self.dirty.add(y)

    def other(self, text: str) -> None:
        """Text the tokenizer's classes do not cover: its widths are looked up."""
        digits = text.translate(WIDTH_DIGITS)
        n = len(text)
        if digits.count("1") == n:
            self._draw(text, None)
        elif digits.count("0") == digits.count("x") == 0 and self.cols >= 2:
            self._draw(text, [2] * n if digits.count("2") == n else list(map(int, digits)))
        else:  # combining marks, zero-width and unprintable characters
            self.screen.draw(text)

    def _draw(self, text: str, widths: list[int] | None) -> None:
        """VTScreen.draw for characters of width 1 (`widths` None) or of the given widths."""
        screen = self.screen
        if not self.plain:
            screen.draw(text)
            return
        cursor = self.cursor
        pen = cursor.attrs.style
        if widths is None:
            x = self._draw_narrow(pen, text)
            screen.last_char = text[-1]
        else:
            x = self._draw_wide(pen, text, widths)
        cursor.x = x
        self.dirty.add(cursor.y)

    def _draw_narrow(self, pen: Style, text: str) -> int:
        screen = self.screen
        cursor = self.cursor
        cols = self.cols
        autowrap = mo.DECAWM in screen.mode
        x = cursor.x
        row = self.buffer[cursor.y]
        i, n = 0, len(text)
        while i < n:
            if x >= cols:
                if autowrap:
                    self.dirty.add(cursor.y)
                    x = 0
                    self.index()
                    row = self.buffer[cursor.y]
                else:
                    # Each character past the edge overwrites the last column: the last stays.
                    x, i = cols - 1, n - 1
            k = min(n - i, cols - x)
            end = x + k
            row.draw(x, end, [(text if k == n else text[i : i + k], pen)])
            x = end
            i += k
        return x

    def _draw_wide(self, pen: Style, text: str, widths: list[int]) -> int:
        # VTScreen.draw's loop, less the cases `other` sent to it.
        screen = self.screen
        cursor = self.cursor
        cols = self.cols
        x = cursor.x
        row = self.buffer[cursor.y]
        n = len(text)
        end = x + 2 * n
        if end <= cols and widths.count(2) == n:  # all wide and no wrap (CJK, emoji)
            row.draw(x, end, [(text, pen)])
            screen.last_char = text[-1]
            return end
        autowrap = mo.DECAWM in screen.mode
        last = ""
        for char, width in zip(text, widths, strict=True):
            if x + width > cols:
                if autowrap:
                    self.dirty.add(cursor.y)
                    x = 0
                    self.index()
                    row = self.buffer[cursor.y]
                elif width > 1:
                    continue
                else:
                    x = cols - 1
            row.draw(x, x + width, [(char, pen)])
            x += width
            last = char
        if last:
            screen.last_char = last
        return x

    # Cursor moves.

    def moves(self, controls: str) -> None:
        """CR, LF, BS and TAB."""
        screen = self.screen
        cursor = self.cursor
        for char in controls:
            if char == "\n":
                self.index()
                if mo.LNM in screen.mode:
                    cursor.x = 0
            elif char == "\r":
                cursor.x = 0
            elif char == "\b":
                screen.backspace()
            else:
                self._tab()

    def _tab(self) -> None:
        """VTScreen.tab. The next stop of the usual every-eighth-column ones is found without
        sorting them all; and on a row the bulk paths are drawing, the columns skipped join
        its runs (Row.skip), so a tab in a line of log output does not make every later write
        on it a cell write."""
        screen = self.screen
        cursor = self.cursor
        x = cursor.x
        stop = (x // 8 + 1) * 8
        stops = screen.tabstops
        if stop >= self.cols or stop not in stops or any(s in stops for s in range(x + 1, stop)):
            screen.tab()
            stop = cursor.x
        else:
            cursor.x = stop
        self.buffer[cursor.y].skip(x, stop)

    def index(self) -> None:
        # VTScreen.index.
        screen = self.screen
        top, bottom = screen.margins or (0, screen.lines - 1)
        cursor = self.cursor
        y = cursor.y
        if y == bottom:
            self._scroll(top, bottom)
        elif y < screen.lines - 1:
            cursor.y = y + 1

    def _scroll(self, top: int, bottom: int) -> None:
        # VTScreen.scroll_region_up(top, bottom, 1).
        rows = self.buffer
        gone = rows.pop(top)
        history = self.history
        if history is not None:
            if gone.drawn is None:  # the slow path drew on it too: charged exactly, now
                history.add(gone)
            else:  # charged after the feed, from its runs (History.settle)
                history.lines.append(compact(gone))
                history.unsized += 1
        # The row that left comes back blank, without cells (see Row): cheaper than a new row.
        pen = self.cursor.attrs.style
        gone.reset(DEFAULT if pen.bg is None else blank(pen).style)
        rows.insert(bottom, gone)
        if self._marked != (top, bottom):
            self.dirty.update(range(top, bottom + 1))
            self._marked = (top, bottom)


def _truecolor(params: str) -> tuple[bool, str] | None:
    """(background, "#rrggbb") if `params` set one truecolour and nothing else."""
    parts = params.split(";")
    if len(parts) == 5 and parts[1] == "2" and (parts[0] == "38" or parts[0] == "48"):
        r, g, b = _HEX.get(parts[2]), _HEX.get(parts[3]), _HEX.get(parts[4])
        if r and g and b:  # the parts in plain decimal, 0-255: what nearly every program sends
            return parts[0] == "48", f"#{r}{g}{b}"
    match = _TRUECOLOR(params)
    if match is None:
        return None
    kind, r, g, b = match.groups()
    return kind == "4", f"#{min(int(r), 255):02x}{min(int(g), 255):02x}{min(int(b), 255):02x}"


__all__ = ["BulkWriter", "Row"]
