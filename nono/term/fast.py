"""The parser's bulk paths: text runs, CR/LF/BS/TAB and plain SGR handled without pyte's
character-at-a-time machine, with the rest handed to it. Each path does exactly what the slow
path would (the differential test in tests/test_term_fast.py holds it to that)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pyte import charsets as cs
from pyte import modes as mo

from .lines import Row, compact
from .parser import MAX_PARAM_CHARS, MAX_PARAMS, Parser, split_params
from .style import (
    BLANK,
    DEFAULT,
    Cell,
    Program,
    Style,
    blank,
    char_width,
    is_interned,
    run_program,
    sgr_program,
    with_color,
)

if TYPE_CHECKING:
    from .screen import VTScreen

NARROW_BLOCKS = ((0xA0, 0x24F), (0x370, 0x4FF), (0x2010, 0x205E), (0x2190, 0x23FF),
                 (0x2500, 0x25FF))  # fmt: skip
"""Where tools' output finds its one-column characters beyond ASCII: Latin letters, Greek,
Cyrillic, punctuation, arrows, maths, box drawing, blocks, shapes."""
WIDE_BLOCKS = ((0x1100, 0x115F), (0x2E80, 0x303E), (0x3041, 0x33FF), (0x3400, 0x4DBF),
               (0x4E00, 0x9FFF), (0xA000, 0xA4CF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF),
               (0xFE30, 0xFE4F), (0xFF00, 0xFF60), (0xFFE0, 0xFFE6))  # fmt: skip
"""And its two-column ones: CJK, kana, Hangul, fullwidth forms."""


def width_class(blocks: tuple[tuple[int, int], ...], width: int) -> str:
    """Regex class ranges of the characters in `blocks` that are `width` columns wide and are
    not a mark, a control or a line or paragraph separator. Text made of such characters is
    drawn in bulk (its columns counted, not looked up a character at a time) instead of being
    cut into a token at each of them."""
    import unicodedata

    codes = [
        c
        for start, stop in blocks
        for c in range(start, stop + 1)
        if char_width(chr(c)) == width
        and not unicodedata.category(chr(c)).startswith(("C", "M", "Zl", "Zp"))
    ]
    spans: list[list[int]] = []
    for c in codes:
        if spans and c == spans[-1][1] + 1:
            spans[-1][1] = c
        else:
            spans.append([c, c])
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in spans)


# width_class(NARROW_BLOCKS, 1) and width_class(WIDE_BLOCKS, 2), written out: working them out
# costs ~10 ms at every start (tests/test_term_fast.py checks they agree).
_NARROW_BEYOND_ASCII = (
    "\xa0-\xac\xae-\u024f\u0370-\u0377\u037a-\u037f\u0384-\u038a\u038c\u038e-\u03a1\u03a3-"
    "\u0482\u048a-\u04ff\u2010-\u2027\u202f-\u205e\u2190-\u2319\u231c-\u2328\u232b-\u23e8"
    "\u23ed-\u23ef\u23f1-\u23f2\u23f4-\u23ff\u2500-\u25fc\u25ff"
)
_NARROW = "\x20-\x7e" + _NARROW_BEYOND_ASCII  # one column a character
_WIDE_CLASS = (
    "\u1100-\u115f\u2e80-\u2e99\u2e9b-\u2ef3\u2f00-\u2fd5\u2ff0-\u2ffb\u3000-\u3029\u3030-"
    "\u303e\u3041-\u3096\u309b-\u30ff\u3105-\u312f\u3131-\u3163\u3165-\u318e\u3190-\u31e3"
    "\u31f0-\u321e\u3220-\u3247\u3250-\u4dbf\u4e00-\ua48c\ua490-\ua4c6\uac00-\ud7a3\uf900-"
    "\ufa6d\ufa70-\ufad9\ufe30-\ufe4f\uff01-\uff60\uffe0-\uffe6"
)
_WIDE_CHARS = re.compile(f"[{_WIDE_CLASS}]").findall
_WIDE_SPLIT = re.compile(f"([{_WIDE_CLASS}]+)").split  # narrow, wide, narrow, ... pieces
# Tried at each point where pyte's machine is between sequences. Anything else (other escapes
# and controls, a sequence cut by the end of a feed) goes to pyte's machine one character at a
# time, which is also what keeps the split between the paths invisible.
# The third takes a line's worth of colour changes with the text after each (two or more), and
# the last what most other output is made of: a colour change, the text in it, and the end of
# the line. The last also matches the empty string, which means "none of these".
_TOKEN = re.compile(
    "([\r\n\b\t]+)"  # 1: cursor-only controls (and LF, which may scroll)
    f"|([^\x00-\x9f{_NARROW_BEYOND_ASCII}{_WIDE_CLASS}]+)"  # 2: other text; widths checked
    f"|((?:\x1b\\[[0-9;:]*+m[{_NARROW}]*+){{2,}}+)"  # 3: SGRs, each with the text after it
    "(\r\n)?"  # 4: CR LF
    "|(?:\x1b\\[([0-9;:]*)m)?"  # 5: SGR with no private marker or intermediates
    f"([{_NARROW}{_WIDE_CLASS}]*)"  # 6: text of one- and two-column characters
    "(\r\n)?"  # 7: CR LF
)
_MOVES, _OTHER, _RUNS, _RUNS_CRLF, _SGR, _TEXT, _CRLF = range(1, 8)
_WITHOUT_SGR = re.compile("\x1b\\[[0-9;:]*m").sub
# What a feed may end with that could still become an SGR. Held back for the next feed, whose
# first token it becomes, rather than going to pyte's machine, which would then take the rest
# of it one character at a time. Nothing shows the difference: until its final byte an SGR
# changes nothing either way.
_SGR_SO_FAR = re.compile("\x1b(?:\\[[0-9;:]{0,64})?\\Z").match
# SGR that sets one truecolour (a new pen nearly every time, so never in the cache). Four
# digits at most, so that split_params' cap at 9999 cannot matter.
_TRUECOLOR = re.compile(r"([34])8;2;(\d{1,4});(\d{1,4});(\d{1,4})").fullmatch
_HEX = {str(i): f"{i:02x}" for i in range(256)}  # a colour part as most programs write it
_IDENTITY = cs.LAT1_MAP  # the G0/G1 table that leaves every character as it is


class FastParser(Parser):
    """The Parser with bulk paths in front of pyte's machine. They work on the screen's rows
    directly: a run of text drawn left to right is a run appended to its row (lines.Row), a
    line scrolling off is a list pop."""

    def __init__(self, screen: VTScreen) -> None:
        self._sgr: dict[tuple[int, str], tuple[Style, Any]] = {}
        self._programs: dict[str, Program] = {}  # SGR parameters -> what they do to any pen
        # The region whose rows this feed already marked dirty by scrolling (the dirty set
        # only grows during a feed, so marking it again would change nothing).
        self._marked: tuple[int, int] | None = None
        self._held = ""  # the start of an SGR that ended the last feed (see _SGR_SO_FAR)
        super().__init__(screen)
        self.screen: VTScreen = screen

    def feed(self, data: bytes) -> None:  # type: ignore[override]
        if not self.use_utf8:  # never, as select_other_charset ignores ESC % @, but be exact
            super().feed(data)
            return
        self._marked = None
        text = self.utf8_decoder.decode(data)
        if self._held:
            text, self._held = self._held + text, ""
        self._feed_text(text)
        history = self.screen.history
        if history.unsized:
            history.settle(self.screen.columns)

    def _feed_text(self, text: str) -> None:
        # The common cases of _set_pen, _draw_narrow, _claim and _moves are written out here: a
        # call costs as much as the work. Anything unusual goes to those methods.
        screen = self.screen
        send = self._send_to_parser
        tokens = _TOKEN.finditer
        pens = self._sgr
        dirty = screen.dirty
        taking = self._taking_plain_text  # True: pyte's machine is between sequences
        pos, end = 0, len(text)
        while pos < end:
            if not taking:
                taking = send(text[pos])
                pos += 1
                continue
            # Only pyte's machine replaces the cursor or the buffer, or changes the size, the
            # modes, the charsets or the margins: between its turns they are looked up once.
            cursor = screen.cursor
            buffer = screen.buffer
            cols = screen.columns
            plain = (
                mo.IRM not in screen.mode
                and (screen.g1_charset if screen.charset else screen.g0_charset) == _IDENTITY
            )
            bottom = screen.lines - 1 if screen.margins is None else -1  # -1: a region is set
            for token in tokens(text, pos):
                stop = token.end()
                if stop == pos:  # the empty match: none of these, so pyte's turn
                    break
                pos = stop
                kind = token.lastindex
                if kind == _MOVES:
                    self._moves(screen, token.group(_MOVES))
                    continue
                if kind == _OTHER:
                    self._draw_other(token.group(_OTHER))
                    continue
                if kind <= _RUNS_CRLF:
                    self._draw_runs(screen, buffer, cols, plain, token.group(_RUNS))
                    params = run = None
                    crlf = kind == _RUNS_CRLF
                else:
                    params, run, crlf = token.group(_SGR, _TEXT, _CRLF)
                if params is not None:
                    if params == "0" or not params:
                        cursor.attrs = BLANK
                    else:
                        hit = pens.get((id(cursor.attrs.style), params))
                        if hit is None:
                            self._set_pen(screen, params)
                        else:
                            cursor.attrs = hit[1]
                wide = 0 if not run or run.isascii() else len(_WIDE_CHARS(run))
                if wide:
                    self._draw_mixed(screen, buffer, cols, plain, run, wide)
                elif run:
                    x = cursor.x
                    k = len(run)
                    stop = x + k
                    if stop > cols or not plain:
                        self._draw(run, None)
                    else:
                        y = cursor.y
                        row = buffer[y]
                        pen = cursor.attrs.style
                        drawn = row.drawn
                        if drawn is not None and x == row.used:
                            if drawn and ((last := drawn[-1][1]) is pen or last == pen):
                                if last is not pen:
                                    row.ensure_cells()
                                drawn[-1] = (drawn[-1][0] + run, last)
                            else:
                                drawn.append((run, pen))
                            if x < row.first:
                                row.first = x
                            row.used = stop
                            write = row.has_cells
                        else:
                            write = _claim(row, x, stop, run, pen)
                        if write:
                            row.chars[x:stop] = run
                            row.styles[x:stop] = [pen] * k
                        cursor.x = stop
                        screen.last_char = run[-1]
                        dirty.add(y)
                if crlf:
                    cursor.x = 0
                    y = cursor.y
                    if y == bottom:
                        self._scroll(screen, 0, y)
                    elif bottom >= 0:
                        cursor.y = y + 1
                    else:
                        self._index(screen)
            if pos < end:
                if text[pos] == "\x1b" and _SGR_SO_FAR(text, pos):
                    self._held = text[pos:]
                    break
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
        # The pen-and-parameters pairs of a coloured log that mixes fore- and backgrounds are
        # too many for the cache above; its parameter strings are few. (A truecolour is a new
        # string nearly every time: it has a path of its own and is not kept.)
        program = self._programs.get(params)
        if program is None:
            truecolor = _truecolor(params)
            if truecolor is not None:
                screen.cursor.attrs = Cell(" ", with_color(pen, *truecolor))
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
            screen.cursor.attrs = Cell(" ", run_program(pen, program))
        attrs = screen.cursor.attrs
        if is_interned(attrs.style):
            if len(self._sgr) >= 4096:
                self._sgr.clear()
            self._sgr[key] = (pen, attrs)

    def _draw_runs(
        self, screen: VTScreen, buffer: list[Row], cols: int, plain: bool, runs: str
    ) -> None:
        """Token 3: colour changes, each with the text after it. When the text fits on a row
        that holds only what the bulk paths drew (a line being written), its cells are written
        in one go; otherwise each piece goes the usual way."""
        cursor = screen.cursor
        # Split at each CSI: each piece is an SGR's parameters, "m" and the text after it.
        pieces = runs.split("\x1b[")
        del pieces[0]  # empty: the token starts with an SGR
        x = cursor.x
        y = cursor.y
        row = buffer[y]
        drawn = row.drawn
        if (
            not plain
            or drawn is None
            or x != row.used
            or (x + len(runs) > cols and x + len(_WITHOUT_SGR("", runs)) > cols)
        ):
            for piece in pieces:
                params, _, run = piece.partition("m")
                self._set_pen(screen, params)
                if run:
                    self._draw(run, None)
            return
        pens = self._sgr
        texts: list[str] = []
        texts_pens: list[Style] = []  # each text's pen, for the cells if the row has them
        for piece in pieces:
            params, _, run = piece.partition("m")
            if params == "0" or not params:
                cursor.attrs = BLANK
            else:
                hit = pens.get((id(cursor.attrs.style), params))
                if hit is None:
                    self._set_pen(screen, params)
                else:
                    cursor.attrs = hit[1]
            if run:
                pen = cursor.attrs.style
                # _claim's merge; styles that differ nearly always differ in the foreground.
                if drawn and ((last := drawn[-1][1]) is pen or (last.fg == pen.fg and last == pen)):
                    if last is not pen:
                        row.ensure_cells()  # written again below, with `pen`
                    drawn[-1] = (drawn[-1][0] + run, last)
                else:
                    drawn.append((run, pen))
                texts.append(run)
                texts_pens.append(pen)
        if texts:
            text = "".join(texts)
            stop = x + len(text)
            if x < row.first:
                row.first = x
            row.used = stop
            if row.has_cells:
                styles: list[Style] = []
                for run, pen in zip(texts, texts_pens, strict=True):
                    styles += [pen] * len(run)
                row.chars[x:stop] = text
                row.styles[x:stop] = styles
            cursor.x = stop
            screen.last_char = text[-1]
            screen.dirty.add(y)

    def _draw_mixed(
        self, screen: VTScreen, buffer: list[Row], cols: int, plain: bool, run: str, wide: int
    ) -> None:
        """Text with `wide` two-column characters among one-column ones. On a row drawn only
        in bulk so far, with no cells yet, it joins the row's runs in one go; otherwise its
        one- and two-column pieces go the usual ways."""
        cursor = screen.cursor
        x = cursor.x
        stop = x + len(run) + wide
        row = buffer[cursor.y]
        drawn = row.drawn
        pen = cursor.attrs.style
        if (
            stop <= cols
            and plain
            and drawn is not None
            and x == row.used
            and not row.has_cells
            # an equal pen that is another object (past the intern limit) needs cells: below
            and (not drawn or (last := drawn[-1][1]) is pen or last != pen)
        ):
            _claim(row, x, stop, run, pen)  # joins the runs; no cells to write (see above)
            cursor.x = stop
            screen.last_char = run[-1]
            screen.dirty.add(cursor.y)
            return
        for i, piece in enumerate(_WIDE_SPLIT(run)):
            if piece:
                if not i % 2:
                    self._draw(piece, None)
                elif cols >= 2:
                    self._draw(piece, [2] * len(piece))
                else:
                    screen.draw(piece)  # a wide character on a screen one column wide

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
                self._tab(screen, cursor)

    def _tab(self, screen: VTScreen, cursor: Any) -> None:
        """VTScreen.tab. The next stop of the usual every-eighth-column ones is found without
        sorting them all; and on a row the bulk paths are drawing, the columns skipped join
        `drawn` as the blanks they are, so the text after the tab does not cost the row its
        runs (a tab in a line of log output would make every later write on it a cell write)."""
        x = cursor.x
        stop = (x // 8 + 1) * 8
        stops = screen.tabstops
        if (
            stop >= screen.columns
            or stop not in stops
            or any(s in stops for s in range(x + 1, stop))
        ):
            screen.tab()
            stop = cursor.x
        else:
            cursor.x = stop
        row = screen.buffer[cursor.y]
        drawn = row.drawn
        if drawn and x == row.used and stop > x:  # past `used`, every cell is a blank in fill
            fill = row.fill
            if drawn[-1][1] is fill:
                drawn[-1] = (drawn[-1][0] + " " * (stop - x), fill)
            else:
                drawn.append((" " * (stop - x), fill))
            row.used = stop

    def _index(self, screen: VTScreen) -> None:
        # VTScreen.index.
        top, bottom = screen.margins or (0, screen.lines - 1)
        y = screen.cursor.y
        if y == bottom:
            self._scroll(screen, top, bottom)
        elif y < screen.lines - 1:
            screen.cursor.y = y + 1

    def _scroll(self, screen: VTScreen, top: int, bottom: int) -> None:
        # VTScreen.scroll_region_up(top, bottom, 1).
        rows = screen.buffer
        gone = rows.pop(top)
        history = screen.history
        if history.maxlen and not screen.alternate:
            if gone.drawn is None:  # the slow path drew on it too: charged exactly, now
                history.add(gone)
            else:  # charged after the feed, from its runs (History.settle)
                history.lines.append(compact(gone))
                history.unsized += 1
        # The row that left comes back blank, without cells (see Row): cheaper than a new row.
        pen = screen.cursor.attrs.style
        gone.reset(DEFAULT if pen.bg is None else blank(pen).style)
        rows.insert(bottom, gone)
        if self._marked != (top, bottom):
            screen.dirty.update(range(top, bottom + 1))
            self._marked = (top, bottom)

    def _draw_other(self, text: str) -> None:
        digits = text.translate(_WIDTH_DIGITS)
        n = len(text)
        if digits.count("1") == n:
            self._draw(text, None)
        elif digits.count("0") == digits.count("x") == 0 and self.screen.columns >= 2:
            self._draw(text, [2] * n if digits.count("2") == n else list(map(int, digits)))
        else:  # combining marks, zero-width and unprintable characters
            self.screen.draw(text)

    def _draw(self, text: str, widths: list[int] | None) -> None:
        """VTScreen.draw for characters of width 1 (`widths` None) or of the given widths."""
        screen = self.screen
        mode = screen.mode
        charset = screen.g1_charset if screen.charset else screen.g0_charset
        if mo.IRM in mode or charset != _IDENTITY:
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
        row = screen.buffer[cursor.y]
        i, n = 0, len(text)
        while i < n:
            if x >= cols:
                if autowrap:
                    screen.dirty.add(cursor.y)
                    x = 0
                    self._index(screen)
                    row = screen.buffer[cursor.y]
                else:
                    # Each character past the edge overwrites the last column: the last stays.
                    x, i = cols - 1, n - 1
            k = min(n - i, cols - x)
            end = x + k
            run = text if k == n else text[i : i + k]
            if _claim(row, x, end, run, pen):
                row.chars[x:end] = run
                row.styles[x:end] = [pen] * k
            x = end
            i += k
        return x

    def _draw_wide(
        self, screen: VTScreen, cursor: Any, pen: Style, text: str, widths: list[int]
    ) -> int:
        # VTScreen.draw's loop, less the cases _draw_other sent to it.
        cols = screen.columns
        autowrap = mo.DECAWM in screen.mode
        x = cursor.x
        row = screen.buffer[cursor.y]
        n = len(text)
        end = x + 2 * n
        if end <= cols and widths.count(2) == n:
            # All wide and no wrap (CJK, emoji): each character and its stub in one slice.
            if _claim(row, x, end, text, pen):
                cells = [""] * (2 * n)
                cells[::2] = text
                row.chars[x:end] = cells
                row.styles[x:end] = [pen] * (2 * n)
            screen.last_char = text[-1]
            return end
        chars, styles = row.chars, row.styles
        last = ""
        for char, width in zip(text, widths, strict=True):
            if x + width > cols:
                if autowrap:
                    screen.dirty.add(cursor.y)
                    x = 0
                    self._index(screen)
                    row = screen.buffer[cursor.y]
                    chars, styles = row.chars, row.styles
                elif width > 1:
                    continue
                else:
                    x = cols - 1
            end = x + width
            _claim(row, x, end, char, pen)
            chars[x] = char
            styles[x] = pen
            if width == 2:
                chars[x + 1] = ""
                styles[x + 1] = pen
            x = end
            last = char
        if last:
            screen.last_char = last
        return x


class _WidthDigits(dict[int, str]):
    """A str.translate table from a code point to its width as a digit ("x": unprintable), so
    the widths of a run of text are found in one call rather than one call a character."""

    def __missing__(self, code: int) -> str:
        width = char_width(chr(code))
        digit = str(width) if 0 <= width <= 2 else "x"
        if len(self) < 1 << 16:
            self[code] = digit
        return digit


_WIDTH_DIGITS = _WidthDigits()


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


def _claim(row: Row, x: int, end: int, text: str, pen: Style) -> bool:
    """Before `text` in `pen` is written over cells x..end-1 of `row`: keep the row's drawn runs
    or drop them, and repair what the write is about to cut. Whether the cells are to be
    written: not if the row has none yet (see Row).

    Only the ends of a run can cut a wide character: inside it each character overwrites the
    stub the previous one blanked. Past `used` every cell is a blank, so text that starts there
    cuts nothing."""
    drawn = row.drawn
    if drawn is not None and x == row.used:
        if drawn and ((last := drawn[-1][1]) is pen or last == pen):
            if last is not pen:
                row.ensure_cells()  # an equal pen that is another object: the cells must show it
            drawn[-1] = (drawn[-1][0] + text, last)
        else:
            drawn.append((text, pen))
        if x < row.first:
            row.first = x
        row.used = end
        return row.has_cells
    row.drop_drawn()
    chars = row.chars
    if end < len(chars) and chars[end] == "":
        chars[end] = " "
    if x and chars[x] == "":
        chars[x - 1] = " "
        row.first = min(row.first, x - 1)
    elif x < row.first:
        row.first = x
    if end > row.used:
        row.used = end
    return True
