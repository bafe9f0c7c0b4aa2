"""Cell styles: the Style value, SGR parameters parsed into it, and SGR rendered back out."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from operator import attrgetter
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

    def __eq__(self, other: object) -> bool:
        # The generated __eq__ builds two tuples; rows compare neighbouring styles often, and
        # different styles nearly always differ in a colour.
        if self is other:
            return True
        if other.__class__ is not Style:
            return NotImplemented
        return (
            self.fg == other.fg
            and self.bg == other.bg
            and self.bold == other.bold
            and self.italic == other.italic
            and self.underline == other.underline
            and self.reverse == other.reverse
            and self.strikethrough == other.strikethrough
            and self.dim == other.dim
            and self.blink == other.blink
        )


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

# Style's fields by position, as apply_sgr changes them.
_FG, _BG, _BOLD, _ITALIC, _UNDERLINE, _REVERSE, _STRIKE, _DIM, _BLINK = range(9)
_FIELDS = attrgetter(*(field.name for field in fields(Style)))
_DEFAULTS = list(_FIELDS(DEFAULT))
_FLAGS = {
    1: (_BOLD, True),
    2: (_DIM, True),
    3: (_ITALIC, True),
    5: (_BLINK, True),
    6: (_BLINK, True),
    7: (_REVERSE, True),
    9: (_STRIKE, True),
    21: (_UNDERLINE, True),  # double underline, drawn as a plain one
    23: (_ITALIC, False),
    24: (_UNDERLINE, False),
    25: (_BLINK, False),
    27: (_REVERSE, False),
    29: (_STRIKE, False),
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
        r, g, b = params[i + 1][0], params[i + 2][0], params[i + 3][0]
        return f"#{_byte(r):02x}{_byte(g):02x}{_byte(b):02x}", i + 4
    return _BAD, len(params)


Program = tuple[bool, tuple[tuple[int, object], ...]]
"""What an SGR does to any pen: whether it starts from the default, then the fields it sets
(by position), in order."""


def sgr_program(params: Params) -> Program:
    """`CSI params m` as a Program: the same for every pen, so it can be worked out once per
    parameter string and applied to each pen with run_program."""
    reset = False
    sets: list[tuple[int, object]] = []
    i = 0
    while i < len(params):
        group = params[i]
        i += 1
        code = group[0] or 0
        if code == 0:
            reset, sets = True, []
        elif code in _FLAGS:
            sets.append(_FLAGS[code])
        elif code == 4:
            sets.append((_UNDERLINE, len(group) == 1 or bool(group[1])))  # 4:0: no underline
        elif code == 22:
            sets += ((_BOLD, False), (_DIM, False))
        elif 30 <= code <= 37:
            sets.append((_FG, code - 30))
        elif 40 <= code <= 47:
            sets.append((_BG, code - 40))
        elif 90 <= code <= 97:
            sets.append((_FG, code - 90 + 8))
        elif 100 <= code <= 107:
            sets.append((_BG, code - 100 + 8))
        elif code == 39:
            sets.append((_FG, None))
        elif code == 49:
            sets.append((_BG, None))
        elif code in (38, 48, 58):
            if len(group) > 1:
                color = _colon_color(group[1:])
            else:
                color, i = _semicolon_color(params, i)
            # 58 (underline colour) is parsed only so its parts are not read as attributes.
            if color is not _BAD and code != 58:
                sets.append((_FG if code == 38 else _BG, color))
        # anything else is unknown: it changes nothing
    return reset, tuple(sets)


def run_program(pen: Style, program: Program) -> Style:
    """The pen after the SGR `program` stands for."""
    reset, sets = program
    if not sets:
        return DEFAULT if reset else pen
    values = _DEFAULTS.copy() if reset else list(_FIELDS(pen))
    for field, value in sets:
        values[field] = value
    return intern(_make(*values))


def apply_sgr(pen: Style, params: Params) -> Style:
    """The pen after `CSI params m`."""
    return run_program(pen, sgr_program(params))


def with_color(pen: Style, background: bool, color: Color) -> Style:
    """apply_sgr(pen, params) for params that set only the foreground or background colour."""
    values = list(_FIELDS(pen))
    values[_BG if background else _FG] = color
    return intern(_make(*values))


# Style(*values) without the frozen dataclass's __init__, which sets each field through
# object.__setattr__ and costs three times as much: the slots are set directly. There is no
# __post_init__, so the object is the same.
_new = object.__new__
(_fg, _bg, _bold, _italic, _underline, _reverse, _strike, _dim, _blink) = (
    Style.__dict__[field.name].__set__ for field in fields(Style)
)


def _make(
    fg: Color,
    bg: Color,
    bold: bool,
    italic: bool,
    underline: bool,
    reverse: bool,
    strikethrough: bool,
    dim: bool,
    blink: bool,
) -> Style:
    style = _new(Style)
    _fg(style, fg)
    _bg(style, bg)
    _bold(style, bold)
    _italic(style, italic)
    _underline(style, underline)
    _reverse(style, reverse)
    _strike(style, strikethrough)
    _dim(style, dim)
    _blink(style, blink)
    return style


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


# ------------------------------------------------------------------ the wire form
# A style crosses the session protocol (SCREEN frames, history answers) as the SGR parameters
# that set it from the default: "" for the default, "1;31", "38;5;208", "38;2;255;135;0". It is
# short, a string (so JSON carries it as is and the dashboard caches on it), says every field
# and colour form exactly, and is read back by the same SGR parser the terminal model uses.


@lru_cache(maxsize=4096)
def encode_style(style: Style) -> str:
    """`style` as the SGR parameters that set it from the default ("" for the default)."""
    parts = []
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
    return ";".join(parts)


@lru_cache(maxsize=4096)
def decode_style(text: str) -> Style:
    """The Style `text` (encode_style's form) stands for. Anything else, even SGR that would
    set the same style another way, raises ValueError naming it: a peer that sends it is not
    speaking this protocol."""
    if not text:
        return DEFAULT
    try:
        params: Params = [[int(part)] for part in text.split(";")]
    except ValueError:
        raise ValueError(f"not a cell style: {text!r}") from None
    style = apply_sgr(DEFAULT, params)
    if encode_style(style) != text:
        raise ValueError(f"not a cell style: {text!r}")
    return style


@lru_cache(maxsize=4096)
def sgr(style: Style) -> str:
    """One SGR sequence that sets exactly `style`, whatever the pen was before."""
    params = encode_style(style)
    return f"\x1b[0;{params}m" if params else "\x1b[0m"
