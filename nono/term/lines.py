"""Rows read out: the glyphs of a row of cells, its style runs, and the compact scrollback form."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping

from pyte.screens import StaticDefaultDict

from .style import BLANK, DEFAULT, Cell, Style, char_width

Run = tuple[str, Style]
Line = tuple[Run, ...]
"""A scrollback line: style runs with the trailing default blanks dropped. Plain strings plus
shared Style objects keep 10,000 lines to a few MB instead of one tuple per cell."""

Row = Mapping[int, Cell]


def glyphs(row: Row, cols: int) -> Iterator[tuple[str, Style, int]]:
    """(text, style, width) for each thing drawn in the row, left to right.

    A wide character whose stub is missing, or a stub whose character is gone, would make a real
    terminal shift the rest of the row; both are drawn as a blank so every row is `cols` wide.
    """
    x = 0
    while x < cols:
        cell = row[x]
        data = cell.data
        if data and char_width(data[0]) == 2:
            if x + 1 < cols and row[x + 1].data == "":
                yield data, cell.style, 2
                x += 2
                continue
            data = " "
        elif not data:
            data = " "
        yield data, cell.style, 1
        x += 1


def runs(row: Row, cols: int) -> list[Run]:
    """The row as runs of same-style text, full width."""
    out: list[Run] = []
    texts: list[str] = []
    current: Style | None = None
    for text, style, _width in glyphs(row, cols):
        if style is not current and style != current:
            if texts:
                out.append(("".join(texts), current or DEFAULT))
            texts = []
            current = style
        texts.append(text)
    if texts:
        out.append(("".join(texts), current or DEFAULT))
    return out


def compact(row: Row | None, cols: int) -> Line:
    """The scrollback form of a row."""
    if not row:
        return ()
    line = runs(row, cols)
    while line:
        text, style = line[-1]
        if style != DEFAULT:
            break
        stripped = text.rstrip(" ")
        if stripped:
            line[-1] = (stripped, style)
            break
        line.pop()
    return tuple(line)


def expand(line: Line, cols: int) -> StaticDefaultDict[int, Cell]:
    """A scrollback line back as a row of cells (resize pulls history onto the screen)."""
    row: StaticDefaultDict[int, Cell] = StaticDefaultDict(BLANK)
    x = 0
    for text, style in line:
        for char in text:
            width = char_width(char)
            if width <= 0:
                prev = x - 1
                if prev >= 0 and row[prev].data == "":
                    prev -= 1
                if prev >= 0:
                    row[prev] = Cell(row[prev].data + char, row[prev].style)
                continue
            if x + width > cols:
                return row
            row[x] = Cell(char, style)
            if width == 2:
                row[x + 1] = Cell("", style)
            x += width
    return row


def clear_wide_halves(line: MutableMapping[int, Cell], start: int, end: int) -> None:
    """Before cells start..end-1 are overwritten: a wide character cut by either edge has its
    other half blanked (keeping its style), as terminals do."""
    before = line.get(start)
    if before is not None and before.data == "" and start > 0:
        line[start - 1] = Cell(" ", line[start - 1].style)
    after = line.get(end)
    if after is not None and after.data == "":
        line[end] = Cell(" ", after.style)
