"""Cell styles: the Style value, SGR parameters parsed into it, and SGR rendered back out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

from wcwidth import wcwidth as _wcwidth

Color = int | str | None
"""None is the terminal's default colour, an int a palette index (0-15 are the ANSI colours,
whether set by `31` or `38;5;1`), a string "#rrggbb" a truecolor."""


@dataclass(frozen=True, slots=True)
class Style:
    """How a run of cells is drawn; equal styles compare (and hash) equal."""

    fg: Color = None
    bg: Color = None
    bold: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    strikethrough: bool = False
    dim: bool = False
    blink: bool = False


DEFAULT = Style()


class Cell(NamedTuple):
    """One screen cell. A wide character's second cell holds "" (a stub); zero-width marks are
    appended to the character they follow, so `data` may hold more than one code point."""

    data: str
    style: Style = DEFAULT


BLANK = Cell(" ", DEFAULT)

char_width = lru_cache(maxsize=8192)(_wcwidth)

# Interning keeps one object per distinct style, so rows compare styles mostly by identity and
# scrollback shares them. Bounded, because truecolor output can mint styles without end.
_INTERNED: dict[Style, Style] = {DEFAULT: DEFAULT}
_INTERN_LIMIT = 4096


def intern(style: Style) -> Style:
    found = _INTERNED.get(style)
    if found is not None:
        return found
    if len(_INTERNED) < _INTERN_LIMIT:
        _INTERNED[style] = style
    return style


def is_interned(style: Style) -> bool:
    """Whether `style` is the one shared object for its value, so handing it out again for the
    same SGR input gives what `apply_sgr` would: past the limit every result is a new object."""
    return _INTERNED.get(style) is style


def blank(pen: Style) -> Cell:
    """The cell an erase leaves behind: xterm and tmux keep only the background (BCE)."""
    if pen.bg is None:
        return BLANK
    return Cell(" ", intern(Style(bg=pen.bg)))


Params = list[list[int | None]]
"""CSI parameters: one list per `;`-separated parameter holding its `:`-separated parts;
an empty part is None."""

_FLAGS = {
    1: ("bold", True),
    2: ("dim", True),
    3: ("italic", True),
    5: ("blink", True),
    6: ("blink", True),
    7: ("reverse", True),
    9: ("strikethrough", True),
    21: ("underline", True),  # double underline, drawn as a plain one
    23: ("italic", False),
    24: ("underline", False),
    25: ("blink", False),
    27: ("reverse", False),
    29: ("strikethrough", False),
}
_BAD = object()  # a malformed extended colour: leave the colour as it was


def _byte(value: int | None) -> int:
    return min(max(value or 0, 0), 255)


def _colon_color(parts: list[int | None]) -> object:
    # 38:5:n, 38:2::r:g:b (ITU form, empty colour space), 38:2:r:g:b (common misuse).
    if parts[0] == 5 and len(parts) >= 2:
        return _byte(parts[1])
    if parts[0] == 2 and len(parts) >= 4:
        r, g, b = parts[-3:]
        return f"#{_byte(r):02x}{_byte(g):02x}{_byte(b):02x}"
    return _BAD


def _semicolon_color(params: Params, i: int) -> tuple[object, int]:
    # 38;5;n and 38;2;r;g;b: the colour's parts are the following parameters.
    kind = params[i][0] if i < len(params) else None
    if kind == 5 and i + 1 < len(params):
        return _byte(params[i + 1][0]), i + 2
    if kind == 2 and i + 3 < len(params):
        r, g, b = (params[j][0] for j in range(i + 1, i + 4))
        return f"#{_byte(r):02x}{_byte(g):02x}{_byte(b):02x}", i + 4
    return _BAD, len(params)


def apply_sgr(pen: Style, params: Params) -> Style:
    """The pen after `CSI params m`."""
    base = pen
    changes: dict[str, object] = {}
    i = 0
    while i < len(params):
        group = params[i]
        i += 1
        code = group[0] or 0
        if code == 0:
            base = DEFAULT
            changes.clear()
        elif code in _FLAGS:
            name, value = _FLAGS[code]
            changes[name] = value
        elif code == 4:
            changes["underline"] = len(group) == 1 or bool(group[1])  # 4:0 is "no underline"
        elif code == 22:
            changes["bold"] = changes["dim"] = False
        elif 30 <= code <= 37:
            changes["fg"] = code - 30
        elif 40 <= code <= 47:
            changes["bg"] = code - 40
        elif 90 <= code <= 97:
            changes["fg"] = code - 90 + 8
        elif 100 <= code <= 107:
            changes["bg"] = code - 100 + 8
        elif code == 39:
            changes["fg"] = None
        elif code == 49:
            changes["bg"] = None
        elif code in (38, 48, 58):
            if len(group) > 1:
                color = _colon_color(group[1:])
            else:
                color, i = _semicolon_color(params, i)
            # 58 (underline colour) is parsed only so its parts are not read as attributes.
            if color is not _BAD and code != 58:
                changes["fg" if code == 38 else "bg"] = color
    if not changes:
        return base
    return intern(replace(base, **changes))  # type: ignore[arg-type]


def _color_sgr(color: Color, base: int, bright: int, extended: int) -> str:
    if isinstance(color, str):
        r, g, b = int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
        return f"{extended};2;{r};{g};{b}"
    assert color is not None
    if color < 8:
        return str(base + color)
    if color < 16:
        return str(bright + color - 8)
    return f"{extended};5;{color}"


@lru_cache(maxsize=4096)
def sgr(style: Style) -> str:
    """One SGR sequence that sets exactly `style`, whatever the pen was before."""
    parts = ["0"]
    for flag, code in (
        (style.bold, "1"),
        (style.dim, "2"),
        (style.italic, "3"),
        (style.underline, "4"),
        (style.blink, "5"),
        (style.reverse, "7"),
        (style.strikethrough, "9"),
    ):
        if flag:
            parts.append(code)
    if style.fg is not None:
        parts.append(_color_sgr(style.fg, 30, 90, 38))
    if style.bg is not None:
        parts.append(_color_sgr(style.bg, 40, 100, 48))
    return "\x1b[" + ";".join(parts) + "m"
