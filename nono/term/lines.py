"""Rows: the screen's row of cells, its glyphs and style runs, and the compact scrollback form."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress, groupby

from .style import DEFAULT, Cell, Style, char_width

NEVER = 1 << 62  # Row.first of a row nothing was written on
Run = tuple[str, Style]
Line = tuple[Run, ...]
"""A scrollback line: style runs with the trailing default blanks dropped. Plain strings plus
shared Style objects keep 10,000 lines to a few MB instead of one tuple per cell."""


class Row:
    """One screen row, exactly as wide as the screen: a glyph and a style per column.

    `chars[x]` is what cell x shows: one character, "" for the second cell of a wide character
    (a stub), or a character followed by the zero-width marks that joined it. Two flat lists
    rather than a cell object per column, so drawing, erasing and shifting a run of cells are
    slice assignments done in C, and a row scrolls off as one string join.

    `fill` is the style of the blanks the row was cleared to: the cells a wider screen adds.
    `first` is the lowest column written since (NEVER if none): a cleared row that scrolls
    off with nothing written on it (or only past a width it was cut to) leaves an empty line in
    the history, whatever its background. `used` is at least one past the highest column
    written since: the cells from there on are blanks in `fill`, which compacting a row into
    the history need not look at.

    `drawn` is the row's runs as the bulk paths drew them (`draw`), left to right from column 0
    up to `used`, for as long as nothing else wrote on the row (None from the first other
    write): a row scrolling off then goes to the history without its cells being looked at again.
    While only the bulk paths drew on a row, its cells need not exist: `chars` and `styles`
    are made from `drawn` when first asked for, and most rows scroll off before that. Every
    cell of a run in `drawn` holds that run's Style object, so the cells made are the ones that
    would have been written.
    """

    __slots__ = ("_chars", "_styles", "drawn", "fill", "first", "used", "width")

    def __init__(self, cols: int, fill: Style = DEFAULT) -> None:
        self._chars: list[str] | None = None
        self._styles: list[Style] | None = None
        self.width = cols
        self.fill = fill
        self.first = NEVER
        self.used = 0
        self.drawn: list[Run] | None = []

    @property
    def chars(self) -> list[str]:
        chars = self._chars
        if chars is None:
            chars = self._make_cells()
        return chars

    @property
    def styles(self) -> list[Style]:
        styles = self._styles
        if styles is None:
            self._make_cells()
            styles = self._styles
        return styles  # type: ignore[return-value]

    @property
    def has_cells(self) -> bool:
        """Whether `chars` and `styles` exist yet (if not, `drawn` is all there is to say)."""
        return self._chars is not None

    def _make_cells(self) -> list[str]:
        chars = [" "] * self.width
        styles = [self.fill] * self.width
        x = 0
        for text, style in self.drawn or ():
            x = _put(chars, styles, x, text, style)
        self._chars, self._styles = chars, styles
        return chars

    def drop_drawn(self) -> None:
        """For a write `drawn` cannot follow: the cells are made if they were not, and `drawn`
        is dropped."""
        if self._chars is None:
            self._make_cells()
        self.drawn = None

    def draw(self, x: int, end: int, runs: list[Run]) -> None:
        """Write `runs` (text and its pen, one after another) over cells x..end-1, as drawing at
        the cursor does. Their text is characters one or two columns wide (no marks, no
        controls) that fit: `end - x` is its width in columns.

        Where the row's runs end (at `used`, on a row nothing else wrote on) they join them,
        each merged into the one before it if that is in an equal pen, and cells not made yet
        stay unmade. Anything else drops the row's runs and repairs what the write cuts: only its
        ends can cut a wide character, as inside it each character overwrites the stub the
        one before blanked. Past `used` every cell is a blank, so text that starts there cuts
        nothing."""
        drawn = self.drawn
        if drawn is not None and x == self.used:
            for text, pen in runs:
                # Styles that differ nearly always differ in the foreground: compared first.
                if drawn and ((last := drawn[-1][1]) is pen or (last.fg == pen.fg and last == pen)):
                    if last is not pen and self._chars is None:
                        self._make_cells()  # an equal pen that is another object: cells show it
                    drawn[-1] = (drawn[-1][0] + text, last)
                else:
                    drawn.append((text, pen))
            if x < self.first:
                self.first = x
            self.used = end
            chars = self._chars
            if chars is None:
                return
        else:
            chars = self._chars
            if chars is None:
                chars = self._make_cells()
            self.drawn = None
            if end < len(chars) and chars[end] == "":
                chars[end] = " "
            if x and chars[x] == "":
                chars[x - 1] = " "
                if x - 1 < self.first:
                    self.first = x - 1
            elif x < self.first:
                self.first = x
            if end > self.used:
                self.used = end
        styles = self._styles
        assert styles is not None  # made with the chars
        if len(runs) == 1:
            text, pen = runs[0]
            n = len(text)
            if end - x == n:  # all one column wide
                chars[x:end] = text
                styles[x:end] = [pen] * n
                return
            if end - x == 2 * n:  # all two (CJK, emoji): each character and its stub
                cells = [""] * (2 * n)
                cells[::2] = text
                chars[x:end] = cells
                styles[x:end] = [pen] * (2 * n)
                return
        for text, pen in runs:
            x = _put(chars, styles, x, text, pen)

    def skip(self, x: int, stop: int) -> None:
        """The cursor moved from x to `stop` over the row without writing (a tab). Where the
        row's runs end, the columns passed join them as the blanks in `fill` they are, so text
        written after a tab keeps the row in runs rather than costing it its cells."""
        drawn = self.drawn
        if drawn and x == self.used and stop > x:
            fill = self.fill
            if drawn[-1][1] is fill:
                drawn[-1] = (drawn[-1][0] + " " * (stop - x), fill)
            else:
                drawn.append((" " * (stop - x), fill))
            self.used = stop

    def reset(self, fill: Style) -> None:
        """Blank again, as Row(self.width, fill) would be."""
        self._chars = self._styles = None
        self.fill = fill
        self.first = NEVER
        self.used = 0
        self.drawn = []

    def cell(self, x: int) -> Cell:
        return Cell(self.chars[x], self.styles[x])

    def set(self, x: int, data: str, style: Style) -> None:
        chars = self._chars
        if chars is None:
            chars = self._make_cells()
        chars[x] = data
        self._styles[x] = style  # type: ignore[index]  # made with the chars
        self.drawn = None
        if x < self.first:
            self.first = x
        if x >= self.used:
            self.used = x + 1

    def in_use(self) -> bool:
        """Whether anything but default blanks is on it (a clear keeps such rows)."""
        cols = len(self.chars)
        return (
            self.fill != DEFAULT
            or self.chars.count(" ") != cols
            or self.styles.count(DEFAULT) != cols
        )

    def resize(self, cols: int) -> None:
        """Cut or extend to `cols` cells; a wide character cut in half becomes a blank."""
        old = len(self.chars)
        self.drawn = None
        self.width = cols
        if cols < old:
            del self.chars[cols:]
            del self.styles[cols:]
        elif cols > old:
            self.chars.extend([" "] * (cols - old))
            self.styles.extend([self.fill] * (cols - old))
        if self.first >= cols:
            self.first = NEVER
        self.used = min(self.used, cols)
        if char_width(self.chars[cols - 1][:1] or " ") == 2:
            self.set(cols - 1, " ", self.styles[cols - 1])


def _put(chars: list[str], styles: list[Style], x: int, text: str, style: Style) -> int:
    """Write the cells of `text` (characters one or two columns wide, no marks) in `style`
    from column x; the column after them."""
    if text.isascii():  # printable ASCII (the only ASCII drawn): one cell each
        end = x + len(text)
        chars[x:end] = text
        styles[x:end] = [style] * len(text)
        return end
    for char in text:
        chars[x] = char
        styles[x] = style
        if char_width(char) == 2:
            chars[x + 1] = ""
            styles[x + 1] = style
            x += 2
        else:
            x += 1
    return x


def glyphs(row: Row) -> Iterator[tuple[str, Style, int]]:
    """(text, style, width) for each thing drawn in the row, left to right.

    A wide character whose stub is missing, or a stub whose character is gone, would make a real
    terminal shift the rest of the row; both are drawn as a blank so every row is full width.
    """
    return _glyphs(row.chars, row.styles)


def _glyphs(chars: list[str], styles: list[Style]) -> Iterator[tuple[str, Style, int]]:
    cols = len(chars)
    x = 0
    while x < cols:
        data = chars[x]
        if data and char_width(data[0]) == 2:
            if x + 1 < cols and chars[x + 1] == "":
                yield data, styles[x], 2
                x += 2
                continue
            data = " "
        elif not data:
            data = " "
        yield data, styles[x], 1
        x += 1


def runs(row: Row) -> list[Run]:
    """The row as runs of same-style text, full width."""
    if not row.has_cells:  # then only the bulk paths drew on it: its runs are at hand
        return _drawn_runs(row)
    return _runs(row.chars, row.styles)


def _drawn_runs(row: Row) -> list[Run]:
    out = list(row.drawn or ())
    blanks = row.width - row.used
    if blanks:
        fill = row.fill
        if out and (out[-1][1] is fill or out[-1][1] == fill):
            out[-1] = (out[-1][0] + " " * blanks, out[-1][1])
        else:
            out.append((" " * blanks, fill))
    return out


def _runs(chars: list[str], styles: list[Style]) -> list[Run]:
    text = "".join(chars)
    cols = len(chars)
    if len(text) != cols or not text.isascii():
        # Not one ASCII character per cell. Stubs join to nothing, so if every other cell is
        # one code point (no combining marks), `text` is the glyphs and the styles of the cells
        # that are not stubs are theirs: a wide character is always followed by its stub (every
        # write keeps them paired, and tests/test_term_fast.py checks it).
        stubs = chars.count("")
        if len(text) + stubs != cols:
            return _glyph_runs(chars, styles)
        if stubs:
            styles = list(compress(styles, chars))
    first = styles[0]
    if styles[-1] is first and styles.count(first) == len(styles):
        return [(text, first)]
    out: list[Run] = []
    x = 0
    # groupby compares neighbours with == (identity first), as _glyph_runs does, and keys each
    # run by its first style.
    for style, group in groupby(styles):
        n = len(list(group))
        out.append((text[x : x + n], style))
        x += n
    return out


def _glyph_runs(chars: list[str], styles: list[Style]) -> list[Run]:
    out: list[Run] = []
    texts: list[str] = []
    current: Style | None = None
    for data, style, _width in _glyphs(chars, styles):
        if style is not current and style != current:
            if texts:
                out.append(("".join(texts), current or DEFAULT))
            texts = []
            current = style
        texts.append(data)
    if texts:
        out.append(("".join(texts), current or DEFAULT))
    return out


def compact(row: Row | None) -> Line:
    """The scrollback form of a row."""
    if row is None or row.first == NEVER:
        return ()
    used = row.used
    line = row.drawn
    if line is not None and row.fill is DEFAULT:
        if line and line[-1][0][-1] != " ":
            return tuple(line)  # nothing to strip: most lines end in a word
        line = line.copy()
    elif row.fill is DEFAULT and used < len(row.chars):
        # The default blanks past `used` are what compacting drops anyway.
        line = _runs(row.chars[:used], row.styles[:used])
    else:
        line = _runs(row.chars, row.styles)
    while line:
        text, style = line[-1]
        if style is not DEFAULT and style != DEFAULT:
            break
        stripped = text.rstrip(" ")
        if stripped:
            line[-1] = (stripped, style)
            break
        line.pop()
    return tuple(line)


def expand(line: Line, cols: int) -> Row:
    """A scrollback line back as a row of cells (resize pulls history onto the screen)."""
    row = Row(cols)
    row.drop_drawn()
    row.first = 0 if line else NEVER
    row.used = cols
    chars, styles = row.chars, row.styles
    x = 0
    for text, style in line:
        for char in text:
            width = char_width(char)
            if width <= 0:
                prev = x - 1
                if prev >= 0 and chars[prev] == "":
                    prev -= 1
                if prev >= 0:
                    chars[prev] += char
                continue
            if x + width > cols:
                return row
            chars[x] = char
            styles[x] = style
            if width == 2:
                chars[x + 1] = ""
                styles[x + 1] = style
            x += width
    return row


def clear_wide_halves(row: Row, start: int, end: int) -> None:
    """Before cells start..end-1 are overwritten: a wide character cut by either edge has its
    other half blanked (keeping its style), as terminals do."""
    chars = row._chars  # Row.drop_drawn, written out: pyte's draw comes here for every cell
    if chars is None:
        chars = row._make_cells()
    row.drawn = None
    if start > 0 and chars[start] == "":
        chars[start - 1] = " "
        start -= 1
    if end < len(chars) and chars[end] == "":
        chars[end] = " "
    if start < row.first:
        row.first = start
