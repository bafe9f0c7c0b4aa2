"""Copy mode: tmux's vi copy-mode over one pane's lines, as a pure state machine (no I/O)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

from nono.term.style import DEFAULT, Style, char_width

Run = tuple[str, Style]
Runs = Sequence[Run]

WORD_SEPARATORS = "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~"
"""tmux's default `word-separators`; a space separates words too."""
MATCH_STYLE = Style(fg=0, bg=6)
"""tmux's copy-mode-match-style."""
CURRENT_MATCH_STYLE = Style(fg=0, bg=5)
"""tmux's copy-mode-current-match-style: the match the cursor is on."""

_END = sys.maxsize  # a wanted column meaning "the end of whatever line" (after `$`)
_SPACE, _SEPARATOR, _WORD = 0, 1, 2
_CACHE_LIMIT = 2048


@dataclass(frozen=True, slots=True)
class Result:
    """What the app must do after an action: leave copy mode, store copied text (paste buffer
    and OSC 52), or prompt for a search term ("search-forward"/"search-backward")."""

    exit: bool = False
    copied: str | None = None
    prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """Where a selection started; it ends at the cursor."""

    anchor: tuple[int, int]  # (line index, column)
    lines: bool = False  # select-line: whole lines from the anchor's to the cursor's


class _Cells(NamedTuple):
    chars: list[str]  # one per column; "" is a wide character's right half
    styles: list[Style]
    cols: list[int]  # the column each code point of the plain text starts at, then the end
    length: int  # columns up to the last non-space


_NO_CELLS = _Cells([], [], [0], 0)


def _cells_of(line: Runs) -> _Cells:
    chars: list[str] = []
    styles: list[Style] = []
    cols: list[int] = []
    for text, style in line:
        for char in text:
            width = char_width(char)
            if width == 0 and chars:  # a combining mark joins the character before it
                head = len(chars) - 1 if chars[-1] else len(chars) - 2
                chars[head] += char
                cols.append(len(chars))
                continue
            cols.append(len(chars))
            if width == 2:
                chars += (char, "")
                styles += (style, style)
            else:
                chars.append(char if width == 1 else " ")
                styles.append(style)
    cols.append(len(chars))
    length = len(chars)
    while length and chars[length - 1] == " ":
        length -= 1
    return _Cells(chars, styles, cols, length)


@lru_cache(maxsize=1024)
def _reversed(style: Style) -> Style:
    return replace(style, reverse=not style.reverse)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


class CopyMode:
    """tmux's vi copy mode over a pane's history lines (oldest first) then its screen rows.

    Positions are (line index, column); a wide character is one glyph over two columns and the
    cursor only rests on its left half. Lines are never reflowed to the view's width.
    """

    def __init__(
        self,
        lines: Sequence[Runs],
        width: int,
        height: int,
        cursor: tuple[int, int] | None = None,
        from_wheel: bool = False,
    ) -> None:
        """`cursor` is the pane's cursor (x, y on its screen: the last `height` lines), where
        tmux starts copy mode; without it the cursor goes after the last non-empty screen line.
        `from_wheel` is `copy-mode -e`: scrolling down to the bottom leaves copy mode."""
        self._lines: list[Runs] = list(lines)
        self._texts: list[str | None] = [None] * len(self._lines)
        self._cache: dict[int, _Cells] = {}
        self._dropped = 0  # lines dropped so far: cache keys stay valid across drop_oldest
        self.width = max(width, 1)
        self.height = max(height, 1)
        self.from_wheel = from_wheel
        self._top = self._bottom_top()
        self._selection: Selection | None = None
        self._pattern: re.Pattern[str] | None = None
        self._backward = False
        if cursor is not None:
            self._y = _clamp(self._top + cursor[1], 0, self._last())
            self._x = self._fix_x(cursor[0], self._y)
        else:
            self._y = next(
                (y for y in range(self._last(), self._top, -1) if self._cells(y).length),
                self._top,
            )
            self._x = self._end(self._y)
        self._want = self._x
        self._show()

    # What the app reads.

    @property
    def cursor(self) -> tuple[int, int]:
        """The cursor on the view: (x, y)."""
        return self._x, self._y - self._top

    @property
    def position(self) -> tuple[int, int]:
        """tmux's `[offset/history_size]`: lines scrolled up from the bottom, history lines."""
        bottom = self._bottom_top()
        return bottom - self._top, bottom

    @property
    def selection(self) -> Selection | None:
        return self._selection

    def view(self) -> list[list[Run]]:
        """Exactly `height` rows of runs, each exactly `width` columns wide, with the selection
        reversed and search matches highlighted; the app draws the cursor at `cursor`."""
        return [self._row(self._top + row) for row in range(self.height)]

    def selection_text(self) -> str:
        """The selected text, lines joined by "\\n", each without trailing spaces."""
        sel = self._selection
        if sel is None:
            return ""
        (sy, sx), (ey, ex) = sorted((sel.anchor, (self._y, self._x)))
        out = []
        for y in range(sy, ey + 1):
            chars = self._cells(y).chars
            start = sx if y == sy and not sel.lines else 0
            end = self._after(ey, ex) if y == ey and not sel.lines else len(chars)
            out.append("".join(chars[start:end]).rstrip(" "))
        return "\n".join(out)

    # What the app tells it.

    def act(self, action: str, count: int = 1) -> Result:
        """Do one copy-mode command `count` times; ValueError if there is no such command."""
        n = max(count, 1)
        page, half = (self.height - 2 if self.height > 2 else 1), max(self.height // 2, 1)
        match action:
            case "copy-cancel":
                return Result(exit=True)
            case "copy-copy":
                return Result(exit=True, copied=self.selection_text() or None)
            case "copy-search-backward" | "copy-search-forward":
                return Result(prompt=action.removeprefix("copy-"))
            case "copy-up" | "copy-down":
                self._go(self._y + (n if action == "copy-down" else -n))
            case "copy-left" | "copy-right":
                for _ in range(n):
                    self._left() if action == "copy-left" else self._right()
            case "copy-page-up" | "copy-half-page-up":
                self._page(-(half if "half" in action else page) * n)
            case "copy-page-down" | "copy-half-page-down":
                self._page((half if "half" in action else page) * n)
                return self._wheel_exit()
            case "scroll-up":
                self._scroll(-n)
            case "scroll-down":
                self._scroll(n)
                return self._wheel_exit()
            case "copy-top":
                self._go(0, 0)
            case "copy-bottom":
                self._go(self._last(), self._end(self._last()))
            case "copy-line-start":
                self._go(self._y, 0)
            case "copy-line-end":
                self._line_end()
            case "copy-word-next" | "copy-word-prev":
                for _ in range(n):
                    self._next_word() if action == "copy-word-next" else self._previous_word()
            case "copy-word-end":
                for _ in range(n):
                    self._word_end()
            case "copy-search-next" | "copy-search-prev":
                for _ in range(n):
                    self._search_again(self._backward != (action == "copy-search-prev"))
            case "copy-begin-selection":
                self._selection = Selection((self._y, self._x))
            case "copy-clear-selection":
                self._selection = None
            case "copy-select-line":
                self._selection = Selection((self._y, 0), lines=True)
                self._line_end()
            case _:
                raise ValueError(f"unknown copy-mode action: {action}")
        return Result()

    def search(self, text: str, backward: bool) -> bool:
        """Set the search term and jump to its next match from the cursor, wrapping around.

        Plain text, not a regular expression; case-insensitive when the term has no upper-case
        letter (tmux's smart case). Matches do not span lines."""
        if not text:
            return False
        flags = re.IGNORECASE if text == text.lower() else 0
        self._pattern = re.compile(re.escape(text), flags)
        self._backward = backward
        return self._search_again(backward)

    def extend(self, lines: Iterable[Runs]) -> None:
        """More output from the pane: the view stays on the content it shows."""
        before = len(self._lines)
        self._lines.extend(lines)
        self._texts.extend([None] * (len(self._lines) - before))

    def drop_oldest(self, n: int) -> None:
        """The pane's history dropped its `n` oldest lines; the view, the cursor and the
        selection stay on their content (or the oldest line left, if theirs is gone)."""
        n = _clamp(n, 0, len(self._lines))
        if not n:
            return
        del self._lines[:n]
        del self._texts[:n]
        self._dropped += n
        self._top = max(self._top - n, 0)
        if self._y >= n:
            self._y -= n
        else:
            self._y = self._x = self._want = 0
        if self._selection is not None:
            y, x = self._selection.anchor
            anchor = (y - n, x) if y >= n else (0, 0)
            self._selection = replace(self._selection, anchor=anchor)
        self._x = self._fix_x(self._x, self._y)
        self._show()

    def resize(self, width: int, height: int) -> None:
        """A new view size: a view at the bottom stays there, any other keeps its top line;
        either scrolls if the cursor would leave it. Lines are not reflowed."""
        at_bottom = self._top == self._bottom_top()
        self.width, self.height = max(width, 1), max(height, 1)
        if at_bottom:
            self._top = self._bottom_top()
        self._x = self._fix_x(self._x, self._y)
        self._show()

    # Lines and columns.

    def _last(self) -> int:
        return max(len(self._lines) - 1, 0)

    def _bottom_top(self) -> int:
        return max(len(self._lines) - self.height, 0)

    def _text(self, y: int) -> str:
        text = self._texts[y]
        if text is None:
            text = self._texts[y] = "".join(run[0] for run in self._lines[y])
        return text

    def _cells(self, y: int) -> _Cells:
        if not 0 <= y < len(self._lines):
            return _NO_CELLS
        key = self._dropped + y
        cells = self._cache.get(key)
        if cells is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            cells = self._cache[key] = _cells_of(self._lines[y])
        return cells

    def _end(self, y: int) -> int:
        """The rightmost column the cursor may take: just after the last character, as tmux."""
        return self._fix_x(_END, y)

    def _fix_x(self, x: int, y: int) -> int:
        """x moved onto line y: within its end and the view, on a wide character's left half."""
        chars, _styles, _cols, length = self._cells(y)
        x = _clamp(x, 0, min(length, self.width - 1))
        return x - 1 if x < len(chars) and chars[x] == "" else x

    def _after(self, y: int, x: int) -> int:
        """The column after the glyph at x."""
        chars = self._cells(y).chars
        return x + 2 if x + 1 < len(chars) and chars[x + 1] == "" else x + 1

    def _before(self, y: int, x: int) -> int:
        """The column of the glyph before x."""
        chars = self._cells(y).chars
        x -= 1
        return x - 1 if 0 < x < len(chars) and chars[x] == "" else x

    def _class(self, y: int, x: int) -> int:
        chars = self._cells(y).chars
        if x >= len(chars):
            return _SPACE
        char = (chars[x] or chars[x - 1])[0]
        if char == " ":
            return _SPACE
        return _SEPARATOR if char in WORD_SEPARATORS else _WORD

    # Moving.

    def _show(self) -> None:
        """Scroll the least that brings the cursor into view."""
        if self._y < self._top:
            self._top = self._y
        elif self._y >= self._top + self.height:
            self._top = self._y - self.height + 1
        self._top = _clamp(self._top, 0, self._bottom_top())

    def _go(self, y: int, x: int | None = None) -> None:
        """Move the cursor to line y, at x or else at the column it wants to keep."""
        self._y = _clamp(y, 0, self._last())
        self._x = self._fix_x(self._want if x is None else x, self._y)
        if x is not None:
            self._want = self._x
        self._show()

    def _left(self) -> None:
        # Like tmux, left from the first column goes to the end of the line above.
        if self._x > 0:
            self._go(self._y, self._before(self._y, self._x))
        elif self._y > 0:
            self._go(self._y - 1, self._end(self._y - 1))

    def _right(self) -> None:
        if self._x < self._end(self._y):
            self._go(self._y, self._after(self._y, self._x))
        elif self._y < self._last():
            self._go(self._y + 1, 0)

    def _page(self, lines: int) -> None:
        """Scroll by `lines` (up when negative) keeping the cursor's row; what the view cannot
        scroll, the cursor moves instead."""
        row = self._y - self._top
        top = _clamp(self._top + lines, 0, self._bottom_top())
        rest = lines - (top - self._top)
        self._top = top
        self._go(top + _clamp(row + rest, 0, self.height - 1))

    def _scroll(self, lines: int) -> None:
        """Move the view (down when positive); the cursor stays on its line unless it would
        leave the view."""
        self._top = _clamp(self._top + lines, 0, self._bottom_top())
        self._go(_clamp(self._y, self._top, self._top + self.height - 1))

    def _wheel_exit(self) -> Result:
        """`copy-mode -e`: reaching the bottom by scrolling down leaves copy mode."""
        return Result(exit=self.from_wheel and self._top >= self._bottom_top())

    def _line_end(self) -> None:
        self._go(self._y, self._end(self._y))
        self._want = _END

    def _onward(self, y: int, x: int) -> tuple[int, int] | None:
        """(y, x), or past the end of its line the start of the next one; None past the last."""
        last = self._last()
        while x > self._cells(y).length:
            if y >= last:
                return None
            y, x = y + 1, 0
        return y, x

    def _next_word(self) -> None:
        # tmux's grid_reader_cursor_next_word: skip the rest of this word (letters, or
        # separators), then spaces and line ends, to the next word's first character.
        y, x = self._y, self._x
        kind = self._class(y, x)
        if kind != _SPACE:
            x = self._after(y, x)
            while (at := self._onward(y, x)) and self._class(*at) == kind:
                y, x = at
                x = self._after(y, x)
        while (at := self._onward(y, x)) and self._class(*at) == _SPACE:
            y, x = at
            x = self._after(y, x)
        self._go(*(self._onward(y, x) or (y, x)))

    def _word_end(self) -> None:
        # tmux's vi next-word-end: one step right (so that from a word's last character it
        # goes on to the next word), over spaces and line ends, to just past the end of the
        # word found (letters, or separators), then back onto its last character.
        y, x = self._y, self._x
        if self._class(y, x) != _SPACE and x < self._cells(y).length:
            x = self._after(y, x)
        while at := self._onward(y, x):
            y, x = at
            kind = self._class(y, x)
            x = self._after(y, x)
            if kind != _SPACE:
                while (at := self._onward(y, x)) and self._class(*at) == kind:
                    y, x = at
                    x = self._after(y, x)
                y, x = self._onward(y, x) or (y, x)
                break
        if x > 0:
            x = self._before(y, x)
        elif y > 0:
            y -= 1
            x = self._end(y)
        self._go(y, x)

    def _previous_word(self) -> None:
        # tmux's grid_reader_cursor_previous_word: back to the nearest non-space (across line
        # ends), then to the first character of its word.
        y, x = self._y, self._x
        while True:
            if x > 0:
                x = self._before(y, x)
                if self._class(y, x) != _SPACE:
                    break
            elif y > 0:
                y -= 1
                x = self._cells(y).length
            else:
                return
        kind = self._class(y, x)
        while x > 0 and self._class(y, self._before(y, x)) == kind:
            x = self._before(y, x)
        self._go(y, x)

    # Searching.

    def _matches(self, y: int) -> list[tuple[int, int]]:
        """The columns of the search term's matches on line y, as half-open ranges."""
        text = self._text(y)
        if self._pattern is None or self._pattern.search(text) is None:
            return []
        cols = self._cells(y).cols
        return [(cols[m.start()], cols[m.end()]) for m in self._pattern.finditer(text)]

    def _search_again(self, backward: bool) -> bool:
        found = self._find(backward)
        if found is None:
            return False
        y, x = found
        if not self._top <= y < self._top + self.height:
            # Like tmux, a match out of view lands a quarter of the view above the bottom.
            self._top = _clamp(y - self.height + self.height // 4 + 1, 0, self._bottom_top())
        self._go(y, x)
        return True

    def _find(self, backward: bool) -> tuple[int, int] | None:
        """The next match from the cursor (line, column), wrapping around."""
        y0, x0, n = self._y, self._x, len(self._lines)
        if self._pattern is None or not n:
            return None
        pick = -1 if backward else 0
        here = [x for x, _ in self._matches(y0) if (x < x0 if backward else x > x0)]
        if here:
            return y0, here[pick]
        if backward:
            order = chain(range(y0 - 1, -1, -1), range(n - 1, y0 - 1, -1))
        else:
            order = chain(range(y0 + 1, n), range(y0 + 1))
        for y in order:
            matches = self._matches(y)
            if matches:
                return y, matches[pick][0]
        return None

    # Selecting.

    def _selected(self, y: int) -> tuple[int, int] | None:
        """The columns selected on line y, as a half-open range."""
        sel = self._selection
        if sel is None:
            return None
        (sy, sx), (ey, ex) = sorted((sel.anchor, (self._y, self._x)))
        if not sy <= y <= ey:
            return None
        if sel.lines:
            return 0, _END
        return (sx if y == sy else 0), (self._after(ey, ex) if y == ey else _END)

    # Drawing.

    def _row(self, y: int) -> list[Run]:
        width = self.width
        if y >= len(self._lines):
            return [(" " * width, DEFAULT)]
        chars, styles, _cols, _length = self._cells(y)
        n = len(chars)
        selected = self._selected(y)
        marks = [
            (start, end, CURRENT_MATCH_STYLE if (y, start) == (self._y, self._x) else MATCH_STYLE)
            for start, end in self._matches(y)
        ]
        out: list[Run] = []
        texts: list[str] = []
        current: Style | None = None
        x = 0
        while x < width:
            wide = False
            if x < n:
                char, style = chars[x] or " ", styles[x]
                wide = x + 1 < n and chars[x + 1] == ""
                if wide and x + 1 >= width:  # cut by the right edge: drawn as a space
                    char, wide = " ", False
            else:
                char, style = " ", DEFAULT
            for start, end, mark in marks:
                if start <= x < end:
                    style = mark
                    break
            if selected is not None and selected[0] <= x < selected[1]:
                style = _reversed(style)
            if style is not current and style != current:
                if texts:
                    out.append(("".join(texts), current or DEFAULT))
                texts = []
                current = style
            texts.append(char)
            x += 2 if wide else 1
        out.append(("".join(texts), current or DEFAULT))
        return out


WHEEL_ACTIONS = ("scroll-up", "scroll-down")
"""What the mouse wheel does in copy mode. Every other action `CopyMode.act` takes is a copy-mode
action of the dashboard's registry (actions.py), by the same name."""
