"""Writing into prompt_toolkit's Screen for the Dashboard: styled text cut at a column, blank
fills, rows of cached cells copied in, and a PaintedRow composed left to right from styled text."""

from __future__ import annotations

from prompt_toolkit.layout.screen import _CHAR_CACHE, Char, Screen

from nono.mux import layout, render
from nono.mux.pane import Cells


def put(screen: Screen, x: int, y: int, text: str, style: str, limit: int) -> int:
    """Write `text` from column x, stopping before column `limit`; returns the next column."""
    row = screen.data_buffer[y]
    for ch in text:
        char = _CHAR_CACHE[ch, style]
        width = char.width
        if x + width > limit:
            break
        row[x] = char
        x += max(width, 1)
    return x


def fill(screen: Screen, x: int, y: int, width: int, char: str, style: str) -> None:
    row = screen.data_buffer[y]
    cell = _CHAR_CACHE[char, style]
    for col in range(x, x + width):
        row[col] = cell


def placed_row(cells: Cells, x0: int, width: int) -> dict[int, Char]:
    """One row's cells keyed by screen column, cut to `width`: what blit copies. Plain blanks
    are left out: the screen's default is a blank, and the renderer's diff walks every cell
    a row holds, so a mostly empty pane costs little to draw."""
    blank = _CHAR_CACHE[" ", ""]
    row = {
        x0 + dx: cell
        for dx, cell in enumerate(cells[:width])
        if cell is not blank and cell is not None
    }
    edge = row.get(x0 + width - 1)
    if edge is not None and edge.width == 2:
        del row[x0 + width - 1]  # a wide character cut by the pane's edge
    return row


def blit(screen: Screen, rows: list[Cells], rect: layout.Rect) -> None:
    """Copy cached rows into the rectangle (cut or padded to it)."""
    blank = _CHAR_CACHE[" ", ""]
    data = screen.data_buffer
    for dy in range(rect.height):
        row = data[rect.y + dy]
        cells = rows[dy] if dy < len(rows) else ()
        x = rect.x
        for dx in range(rect.width):
            cell = cells[dx] if dx < len(cells) else blank
            if cell is None:
                continue  # the right half of a wide character drawn just before
            if cell.width == 2 and dx + 1 >= rect.width:
                cell = blank  # a wide character cut by the pane's edge
            row[x + dx] = cell


class PaintedRow:
    """One row composed left to right from styled text, cut at its width as put() cuts."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.x = 0
        self.runs: list[tuple[str, str]] = []

    def add(self, text: str, style: str) -> None:
        room = self.width - self.x
        if room <= 0 or not text:
            return
        if not text.isprintable():
            text = text.translate(render.CONTROLS)  # a title is the agent's text
        if text.isascii():
            text = text[:room]
            width = len(text)
        else:
            kept, width = [], 0
            for ch in text:
                w = _CHAR_CACHE[ch, style].width
                if width + w > room:
                    break
                kept.append(ch)
                width += max(w, 0)
            text = "".join(kept)
        if text:
            self.runs.append((text, style))
            self.x += width

    def pad(self, to: int, char: str, style: str) -> None:
        """`char` (one column wide) up to column `to`."""
        to = min(to, self.width)
        if to > self.x:
            self.runs.append((char * (to - self.x), style))
            self.x = to
