"""How the dashboard reaches the terminal: pane rows as pre-rendered segments, and a screen diff
that skips what did not change.

prompt_toolkit's renderer compares every cell of every row on every frame: at 200x50 that is
~15 ms a frame, measured, which is what a keystroke's echo waits behind while another pane
floods. Two things make a frame cheap here:

- A pane's row is drawn as a segment: one string with its own SGR, made once per row version
  from the runs its supervisor sent, with no prompt_toolkit cell per column. A changed row costs
  one cursor move and one write; an unchanged one, a comparison of two strings. Pane headers
  and the status bar are segments too, made again only when what they show changes.
- The rest (separators, overlays, prompts' cursor) is cells, and a row of cells that compares
  equal as a dict, in C, is skipped; only rows that differ are walked cell by cell.

The dashboard puts segments on prompt_toolkit's Screen as `screen.segments` (row -> list of
Segment); a screen without them is diffed by prompt_toolkit's own code.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import prompt_toolkit.renderer as pt_renderer
from prompt_toolkit.data_structures import Point, Size
from prompt_toolkit.layout.screen import Screen
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.styles import Attrs
from prompt_toolkit.styles import Style as PtStyle

from nono.term.style import Color, Style, char_width, decode_style

Segment = tuple[int, int, str, int]
"""Columns drawn by one pre-rendered string: (x, width, text, end). The text draws from column
x with SGR of its own and leaves the attributes reset; `end` is the column after its last
glyph (the rest of the width is erased with ECH, which leaves the cursor there)."""

RESET = "\x1b[0m"
SGR_CACHE = 8192
# C0 and C1 controls never reach a segment as themselves: an agent's text must not be able to
# speak to the outer terminal (the model keeps none; this is the dashboard's own guard).
CONTROLS = {c: "?" for c in [*range(0x20), *range(0x7F, 0xA0)]}


_HEX = re.compile(r"(?<=#)([0-9a-fA-F]{6})")
_CUBE = (0, 95, 135, 175, 215, 255)
# The 16 ANSI colours by the names prompt_toolkit passes through as SGR 30-37/90-97, so the
# outer terminal's own palette is used, as tmux does.
_ANSI = ("ansiblack", "ansired", "ansigreen", "ansiyellow", "ansiblue", "ansimagenta",
         "ansicyan", "ansigray", "ansibrightblack", "ansibrightred", "ansibrightgreen",
         "ansibrightyellow", "ansibrightblue", "ansibrightmagenta", "ansibrightcyan",
         "ansiwhite")  # fmt: skip


# ------------------------------------------------------------------ a pane's cell styles
# A pane's rows come with their styles in the protocol's form (term.style.encode_style). The
# segments the dashboard draws need them as SGR for the outer terminal's colour depth: that is
# Sgr.cells, made once per style straight from the Style (style_attrs). Only prompt_toolkit's
# own cells (its diff when screen_diff cannot run, copy-mode text) need a style string.


def color_name(color: Color) -> str | None:
    """A model colour as prompt_toolkit writes it: an ANSI name, or #rrggbb."""
    if color is None:
        return None
    if isinstance(color, str):
        return color
    if color < 16:
        return _ANSI[color]
    if color < 232:
        n = color - 16
        r, g, b = _CUBE[n // 36], _CUBE[(n // 6) % 6], _CUBE[n % 6]
    else:
        r = g = b = 8 + 10 * (color - 232)
    return f"#{r:02x}{g:02x}{b:02x}"


def style_attrs(style: Style) -> Attrs:
    """A cell style as the attributes prompt_toolkit's output renders (what the style string
    style_string(style) parses to)."""
    fg, bg = color_name(style.fg), color_name(style.bg)
    return Attrs(fg.lstrip("#") if fg else "", bg.lstrip("#") if bg else "", style.bold,
                 style.underline, style.strikethrough, style.italic, style.blink, style.reverse,
                 False, style.dim)  # fmt: skip


def style_string(style: Style) -> str:
    """A cell style as a prompt_toolkit style string ("" for the terminal's default)."""
    parts = []
    fg, bg = color_name(style.fg), color_name(style.bg)
    if fg:
        parts.append(f"fg:{fg}")
    if bg:
        parts.append(f"bg:{bg}")
    for on, word in ((style.bold, "bold"), (style.italic, "italic"),
                     (style.underline, "underline"), (style.reverse, "reverse"),
                     (style.strikethrough, "strike"), (style.dim, "dim"),
                     (style.blink, "blink")):  # fmt: skip
        if on:
            parts.append(word)
    return " ".join(parts)


@lru_cache(maxsize=SGR_CACHE)
def cell_style_string(wire: str) -> str:
    """A style in the protocol's form as a prompt_toolkit style string."""
    return style_string(decode_style(wire))


def _nearest_level(channel: int) -> int:
    return min(_CUBE, key=lambda level: abs(level - channel))


def nearest_256(rgb: str) -> str:
    """The palette colour (cube or grey ramp, not the 16 the terminal's theme sets) nearest to
    rrggbb, as rrggbb: per channel for the cube, by the mean for the greys. The palette is the
    one prompt_toolkit maps to (its grey ramp is 18..218), so it maps the answer to itself."""
    r, g, b = int(rgb[0:2], 16), int(rgb[2:4], 16), int(rgb[4:6], 16)
    cube = [_nearest_level(c) for c in (r, g, b)]
    grey = min(218, max(18, 8 + round(((r + g + b) / 3 - 8) / 10) * 10))  # prompt_toolkit's

    def distance(p: tuple[int, int, int] | list[int]) -> int:
        return (p[0] - r) ** 2 + (p[1] - g) ** 2 + (p[2] - b) ** 2

    best = cube if distance(cube) <= distance((grey, grey, grey)) else [grey] * 3
    return "".join(f"{c:02x}" for c in best)


class _Sink:
    """A stdout for a Vt100_Output whose escape codes are wanted as a string."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, data: str) -> None:
        self.parts.append(data)

    def flush(self) -> None:
        pass

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


class _Codes(dict[str, str]):
    """A bounded cache: key -> SGR, made by `make` when missing."""

    def __init__(self, make: Callable[[str], str]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: str) -> str:
        if len(self) >= SGR_CACHE:
            self.clear()  # an agent printing every truecolour once must not grow it forever
        code = self[key] = self.make(key)
        return code


class Sgr(_Codes):
    """prompt_toolkit style string -> the SGR sequence prompt_toolkit's own output sends for it
    at this colour depth (so a pane's colours map to a 256- or 16-colour terminal exactly as
    the dashboard's other cells do); `cells` is the same for a pane's cell styles, keyed by
    their protocol form."""

    def __init__(self, depth: ColorDepth) -> None:
        super().__init__(self._for_style_string)
        self.depth = depth
        self.cells = _Codes(self._for_cell)
        self._style = PtStyle([])
        self._sink = _Sink()
        self._output = Vt100_Output(self._sink, lambda: Size(rows=1, columns=1), term="xterm")  # type: ignore[arg-type]

    # At 256 colours prompt_toolkit finds the nearest of 240 colours by trying each (~0.1 ms,
    # measured) and caches every RGB it meets: an agent's truecolour gradient costs that per
    # colour. Said as the nearest palette colour, it finds it at once.

    def _for_style_string(self, style: str) -> str:
        if self.depth is ColorDepth.DEPTH_8_BIT and "#" in style:
            style = _HEX.sub(lambda m: nearest_256(m.group(1)), style)
        return self._code(self._style.get_attrs_for_style_str(style))

    def _for_cell(self, wire: str) -> str:
        attrs = style_attrs(decode_style(wire))
        if self.depth is ColorDepth.DEPTH_8_BIT:  # its colours are ANSI names or rrggbb
            attrs = attrs._replace(color=_nearest(attrs.color), bgcolor=_nearest(attrs.bgcolor))
        return self._code(attrs)

    def _code(self, attrs: Attrs) -> str:
        self._output.set_attributes(attrs, self.depth)
        self._output.flush()
        return self._sink.take()


def _nearest(color: str | None) -> str | None:
    return nearest_256(color) if color and not color.startswith("ansi") else color


def row_text(runs: Any, styles: Any, width: int, sgr: Sgr) -> tuple[str, int]:
    """Runs of (text, style) as one segment's text exactly `width` columns wide, and how many
    columns its glyphs take (the rest is erased). A style is an index into `styles` (a frame's
    table of cell styles in the protocol's form) or a prompt_toolkit style string itself. Cut
    like a terminal cuts a line: a wide character that does not fit becomes a blank; a
    combining mark joins the glyph before it."""
    parts: list[str] = []
    col = 0
    last = None
    full = False  # a glyph did not fit: nothing after it shows, not even its marks
    cells = sgr.cells
    for text, index in runs:
        code = cells[styles[index]] if isinstance(index, int) else sgr[index]
        if not text.isprintable():
            text = text.translate(CONTROLS)
        if text.isascii():
            if len(text) > width - col:
                text, full = text[: width - col], True
            if text:
                if code != last:
                    parts.append(code)
                    last = code
                parts.append(text)
                col += len(text)
        else:
            for ch in text:
                w = char_width(ch)
                if w <= 0:
                    if col:
                        parts.append(ch)  # joins the glyph before it, in that glyph's style
                    continue
                if col + w > width:
                    full = True
                    if col == width:
                        break
                    ch, w = " ", 1  # a wide character cut by the edge
                if code != last:
                    parts.append(code)
                    last = code
                parts.append(ch)
                col += w
                if full:
                    break
        if full:
            break
    if col < width:
        parts.append(f"{RESET}\x1b[{width - col}X")
    elif last != RESET:
        parts.append(RESET)
    return "".join(parts), col


def screen_diff(
    app: Any,
    output: Any,
    screen: Screen,
    current_pos: Point,
    color_depth: Any,
    previous_screen: Screen | None,
    last_style: str | None,
    is_done: bool,
    full_screen: bool,
    attrs_for_style_string: Any,
    style_string_has_style: Any,
    size: Any,
    previous_width: int,
) -> tuple[Point, str | None]:
    """Same contract as prompt_toolkit.renderer._output_screen_diff (it replaces it)."""
    segments: dict[int, list[Segment]] | None = getattr(screen, "segments", None)
    width, height = size.columns, size.rows
    if segments is None:
        if is_done or not full_screen or not previous_screen or previous_width != width:
            return _ORIGINAL(app, output, screen, current_pos, color_depth, previous_screen,
                             last_style, is_done, full_screen, attrs_for_style_string,
                             style_string_has_style, size, previous_width)  # fmt: skip
        segments = {}
    output.hide_cursor()
    if not previous_screen or previous_width != width:
        # Nothing on the terminal can be trusted: clear it and draw everything.
        if not previous_screen:
            output.disable_autowrap()
        output.reset_attributes()
        output.cursor_goto(1, 1)
        output.erase_down()
        previous_screen = Screen()
    old_segments: dict[int, list[Segment]] = getattr(previous_screen, "segments", None) or {}
    write = output.write
    raw = output.write_raw
    output.reset_attributes()
    style: str | None = None
    attrs = None
    x = y = -1  # where the terminal's cursor is; unknown until the first move
    text: list[str] = []
    no_segments: list[Segment] = []
    for row_y in range(min(max(screen.height, previous_screen.height), height)):
        new_row = screen.data_buffer[row_y]
        old_row = previous_screen.data_buffer[row_y]
        new_segs = segments.get(row_y, no_segments)
        old_segs = old_segments.get(row_y, no_segments)
        if new_row == old_row and new_segs == old_segs:
            continue
        # Segments first: a segment written over the right half of an old wide cell blanks
        # its left half too, and the cells below redraw that column.
        for seg in new_segs:
            if seg in old_segs:
                continue
            seg_x, _, seg_text, seg_end = seg
            if seg_x >= width:
                continue
            if text:
                write("".join(text))
                text.clear()
            output.cursor_goto(row_y + 1, seg_x + 1)
            raw(seg_text)
            x, y = seg_end, row_y
            style = attrs = None  # a segment leaves the attributes reset
        columns_set = set(new_row).union(old_row)
        stale: set[int] = set()  # columns an old segment drew and no new one does
        if new_segs or old_segs:
            covered = [(sx, sx + sw) for sx, sw, _, _ in new_segs]
            for sx, sw, _, _ in old_segs:
                if (sx, sx + sw) not in covered:
                    stale.update(range(sx, sx + sw))
            for start, stop in covered:
                stale.difference_update(range(start, stop))
                columns_set.difference_update(range(start, stop))
            columns_set |= stale
        # The screen's blank (rows are defaultdicts, always made with a factory).
        assert new_row.default_factory is not None and old_row.default_factory is not None
        new_default = new_row.default_factory()
        old_default = old_row.default_factory()
        columns = sorted(c for c in columns_set if c < width)
        covered_to = -1  # columns up to here belong to a wide character already on screen
        forced = -1  # a column whose old wide character's right half must be redrawn
        index = 0
        while index < len(columns) or forced > covered_to:
            if forced > covered_to and (index >= len(columns) or forced < columns[index]):
                c, forced = forced, -1
                if c >= width or _in(c, new_segs):
                    continue
                must = True
            else:
                c = columns[index]
                index += 1
                must = c == forced or c in stale
                if c == forced:
                    forced = -1
            if c <= covered_to:
                continue
            new = new_row.get(c, new_default)
            old = old_row.get(c, old_default)
            c_width = new.width if new.width > 0 else 1
            if not must and new.char == old.char and new.style == old.style:
                covered_to = c + c_width - 1
                continue
            if c + c_width > width:
                continue
            if old.width == 2 and new.width != 2:
                forced = c + 1  # a terminal blanks the right half; draw what belongs there
            if (x, y) != (c, row_y):
                if text:
                    write("".join(text))
                    text.clear()
                output.cursor_goto(row_y + 1, c + 1)
            if new.style != style:
                new_attrs = attrs_for_style_string[new.style]
                if new_attrs != attrs:
                    if text:
                        write("".join(text))
                        text.clear()
                    output.set_attributes(new_attrs, color_depth)
                    attrs = new_attrs
                style = new.style
            text.append(new.char)  # runs of cells go out in one write
            x, y = c + c_width, row_y
            covered_to = c + c_width - 1
        if text:
            write("".join(text))
            text.clear()
    if is_done:
        # The app is leaving its alternate screen: the cursor to the bottom, autowrap back on.
        cursor = Point(x=0, y=min(screen.height, height) - 1)
        output.cursor_goto(cursor.y + 1, 1)
        output.enable_autowrap()
    else:
        cursor = screen.get_cursor_position(app.layout.current_window)
        output.cursor_goto(cursor.y + 1, cursor.x + 1)
    output.reset_attributes()
    if screen.show_cursor:
        output.show_cursor()
    return cursor, None


def _in(column: int, segments: list[Segment]) -> bool:
    return any(sx <= column < sx + sw for sx, sw, _, _ in segments)


_ORIGINAL = pt_renderer._output_screen_diff


_PARAMETERS = ["app", "output", "screen", "current_pos", "color_depth", "previous_screen",
               "last_style", "is_done", "full_screen", "attrs_for_style_string",
               "style_string_has_style", "size", "previous_width"]  # fmt: skip


def _compatible() -> bool:
    """Whether this prompt_toolkit's diff has the contract screen_diff was written for."""
    try:
        return list(inspect.signature(_ORIGINAL).parameters) == _PARAMETERS
    except (TypeError, ValueError):
        return False


@contextlib.contextmanager
def row_skipping_renderer() -> Iterator[None]:
    """Use screen_diff for prompt_toolkit apps run inside this block (the dashboard). A
    prompt_toolkit whose private diff has changed keeps its own: slower, never wrong."""
    global _active
    if not _compatible():
        yield
        return
    pt_renderer._output_screen_diff = screen_diff
    _active = True
    try:
        yield
    finally:
        _active = False
        pt_renderer._output_screen_diff = _ORIGINAL


_active = False


def active() -> bool:
    """Whether screen_diff is prompt_toolkit's diff now: only then may a screen hold segments."""
    return _active
