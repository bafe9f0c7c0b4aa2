"""The dashboard's screen diff draws exactly what prompt_toolkit's own diff draws: both are fed
the same random sequence of screens and their output is played into a terminal. Ours is also
given pane rows as segments (pre-rendered strings); prompt_toolkit's gets the same rows as
cells, made by the cell path the dashboard uses when segments cannot be."""

from __future__ import annotations

import io
import random
import re
from types import SimpleNamespace

import pyte
import pytest
from prompt_toolkit.data_structures import Point, Size
from prompt_toolkit.layout.screen import _CHAR_CACHE, Screen
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.renderer import _StyleStringHasStyleCache, _StyleStringToAttrsCache
from prompt_toolkit.styles import DummyStyleTransformation, Style
from wcwidth import wcwidth

from nono.mux import render
from nono.mux.pane import row_cells

COLS, ROWS = 40, 8
STYLES = ["", "fg:ansired", "bg:ansiblue", "bold", "fg:#00ff00 reverse", "underline"]
GLYPHS = "abc xyz.-世界é"


class _Buffer(io.StringIO):
    encoding = "utf-8"  # what Vt100_Output asks of its stdout


class Terminal:
    """A Vt100_Output writing into pyte, and the state a renderer keeps between frames."""

    def __init__(self, diff) -> None:
        self.buffer = _Buffer()
        self.output = Vt100_Output(self.buffer, lambda: Size(ROWS, COLS), term="xterm")
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.previous: Screen | None = None
        self.pos = Point(0, 0)
        self.diff = diff
        style = Style([])
        self.attrs = _StyleStringToAttrsCache(style.get_attrs_for_style_str,
                                              DummyStyleTransformation())  # fmt: skip
        self.has_style = _StyleStringHasStyleCache(self.attrs)

    def draw(self, screen: Screen, is_done: bool = False) -> None:
        app = SimpleNamespace(layout=SimpleNamespace(current_window=None))
        self.pos, _ = self.diff(app, self.output, screen, self.pos, ColorDepth.DEPTH_24_BIT,
                                self.previous, None, is_done, True, self.attrs, self.has_style,
                                Size(ROWS, COLS), COLS if self.previous else 0)  # fmt: skip
        self.output.flush()
        self.stream.feed(self.buffer.getvalue())
        self.buffer.seek(0)
        self.buffer.truncate()
        self.previous = screen

    def cells(self) -> list[list[tuple]]:
        """What a person sees: a wide character once (its right half is part of it); a right
        half left without its character is a blank (pyte keeps such orphans, terminals do
        not); of a blank, only its background shows."""
        rows = []
        for y in range(ROWS):
            line, x = [], 0
            while x < COLS:
                cell = self.screen.buffer[y][x]
                if cell.data == "":
                    line.append((" ", "default", False))
                elif cell.data == " ":  # only the background shows on a blank
                    line.append((" ", cell.bg, cell.reverse))
                else:
                    line.append((cell.data, cell.fg, cell.bg, cell.bold, cell.reverse))
                    if wcwidth(cell.data[0]) == 2:
                        x += 1
                x += 1
            rows.append(line)
        return rows


def random_screen(rng: random.Random, base: Screen | None) -> Screen:
    screen = Screen()
    screen.width, screen.height = COLS, ROWS
    for y in range(ROWS):
        if base is not None and rng.random() < 0.6:
            screen.data_buffer[y].update(base.data_buffer[y])  # unchanged row
            continue
        x = rng.randrange(3)
        while x < COLS:
            if rng.random() < 0.3:
                x += rng.randrange(1, 6)  # a gap: the screen's default blank
                continue
            char = _CHAR_CACHE[rng.choice(GLYPHS), rng.choice(STYLES)]
            if x + char.width > COLS:
                break
            screen.data_buffer[y][x] = char
            x += char.width
    return screen


def random_runs(rng: random.Random, glyphs: str = GLYPHS) -> list[tuple[str, str]]:
    """What a supervisor sends for a row: styled runs, sometimes wider than the pane, with wide
    characters (one may be cut by the edge)."""
    return [("".join(rng.choice(glyphs) for _ in range(rng.randrange(1, 12))), rng.choice(STYLES))
            for _ in range(rng.randrange(0, 5))]  # fmt: skip


def segmented_pair(rng: random.Random, base: tuple[Screen, Screen] | None) -> tuple[Screen, Screen]:
    """The same content twice: panes' rows as segments beside cells (ours), and all as cells
    (prompt_toolkit's)."""
    sgr = render.Sgr(ColorDepth.DEPTH_24_BIT)
    ours, theirs = Screen(), Screen()
    ours.segments = {}  # type: ignore[attr-defined]
    for screen in (ours, theirs):
        screen.width, screen.height = COLS, ROWS
    for y in range(ROWS):
        if base is not None and rng.random() < 0.5:
            ours.data_buffer[y].update(base[0].data_buffer[y])  # unchanged row
            theirs.data_buffer[y].update(base[1].data_buffer[y])
            if y in base[0].segments:  # type: ignore[attr-defined]
                ours.segments[y] = base[0].segments[y]  # type: ignore[attr-defined]
            continue
        spans, x = [], rng.randrange(4)
        while x < COLS - 2 and len(spans) < 3:  # panes side by side, with a border between
            w = rng.randrange(1, COLS - x)
            spans.append((x, w))
            x += w + rng.randrange(1, 4)
        spans = [span for span in spans if rng.random() < 0.8]
        taken = set()
        for sx, sw in spans:
            runs = random_runs(rng)
            text, end = render.row_text(runs, [], sw, sgr)
            ours.segments.setdefault(y, []).append((sx, sw, text, sx + end))  # type: ignore[attr-defined]
            for dx, cell in enumerate(row_cells(runs, [], sw)):
                if cell is not None:
                    theirs.data_buffer[y][sx + dx] = cell
            taken.update(range(sx, sx + sw))
        x = 0
        while x < COLS:  # borders and labels around the panes
            char = _CHAR_CACHE[rng.choice(GLYPHS + "│─"), rng.choice(STYLES)]
            if rng.random() < 0.5 or any(c in taken for c in range(x, x + char.width)):
                x += 1
                continue
            if x + char.width > COLS:
                break
            ours.data_buffer[y][x] = theirs.data_buffer[y][x] = char
            x += char.width
    return ours, theirs


@pytest.mark.parametrize("seed", range(40))
def test_row_skipping_diff_draws_what_prompt_toolkit_draws(seed: int) -> None:
    rng = random.Random(seed)
    ours, theirs = Terminal(render.screen_diff), Terminal(render._ORIGINAL)
    screen = None
    for step in range(12):
        screen = random_screen(rng, screen)
        ours.draw(screen)
        theirs.draw(screen)
        assert ours.cells() == theirs.cells(), f"seed {seed}, frame {step}"


@pytest.mark.parametrize("seed", range(60))
def test_segments_draw_what_the_same_rows_as_cells_draw(seed: int) -> None:
    rng = random.Random(1000 + seed)
    ours, theirs = Terminal(render.screen_diff), Terminal(render._ORIGINAL)
    pair = None
    for step in range(12):
        pair = segmented_pair(rng, pair)
        ours.draw(pair[0])
        theirs.draw(pair[1])
        assert ours.cells() == theirs.cells(), f"seed {seed}, frame {step}"
    ours.draw(pair[0], is_done=True)  # the last frame, as the app leaves: all still shown
    assert ours.cells() == theirs.cells(), f"seed {seed}, done"


@pytest.mark.parametrize("seed", range(200))
def test_a_segment_shows_the_glyphs_the_cell_path_shows(seed: int) -> None:
    """Combining marks too (pyte places a mark next to a wide character differently from
    terminals, so the screens above are compared without them): a mark joins the glyph before
    it, and is gone with it when the edge cuts that glyph."""
    rng = random.Random(seed)
    runs = random_runs(rng, GLYPHS + "\u0301\u0301")
    width = rng.randrange(1, 30)
    text, end = render.row_text(runs, [], width, render.Sgr(ColorDepth.DEPTH_24_BIT))
    glyphs = re.sub(r"\x1b\[[0-9;]*[mX]", "", text)
    cells = row_cells(runs, [], width)
    shown = "".join(cell.char for cell in cells if cell is not None)
    assert glyphs == shown[: len(glyphs)] and not shown[len(glyphs) :].strip(" ")
    assert end == sum(max(wcwidth(g[0]), 1) for g in shown[: len(glyphs)] if wcwidth(g) != 0)


def test_a_segment_never_carries_control_characters_to_the_terminal() -> None:
    sgr = render.Sgr(ColorDepth.DEPTH_24_BIT)
    text, end = render.row_text([("a\x1b]52;c;eA==\x07b\x9bc", "")], [], 20, sgr)
    glyphs = re.sub(r"\x1b\[[0-9;]*[mX]", "", text)
    assert glyphs == "a?]52;c;eA==?b?c" and end == 16


def test_a_segment_uses_the_outer_terminals_colours() -> None:
    runs = [("x", "fg:#ff0000"), ("y", "fg:ansired")]
    assert "38;2;255;0;0" in render.row_text(runs, [], 5, render.Sgr(ColorDepth.DEPTH_24_BIT))[0]
    text_256 = render.row_text(runs, [], 5, render.Sgr(ColorDepth.DEPTH_8_BIT))[0]
    assert "38;5;196" in text_256 and "38;2" not in text_256
    assert "\x1b[0;31m" in text_256  # an ANSI colour stays one: the terminal's own palette


def test_the_original_diff_is_restored_after_the_dashboard() -> None:
    import prompt_toolkit.renderer as pt_renderer

    with render.row_skipping_renderer():
        assert pt_renderer._output_screen_diff is render.screen_diff
    assert pt_renderer._output_screen_diff is render._ORIGINAL


def test_the_replacement_is_only_used_with_the_diff_it_was_written_for() -> None:
    assert render._compatible()  # the installed prompt_toolkit: the fast diff is in use


def test_truecolour_reaches_a_256_colour_terminal_as_the_nearest_palette_colour() -> None:
    levels = (0, 95, 135, 175, 215, 255)
    palette = [(r, g, b) for r in levels for g in levels for b in levels]
    palette += [(v, v, v) for v in range(18, 219, 10)]
    rng = random.Random(7)
    for _ in range(500):
        rgb = tuple(rng.randrange(256) for _ in range(3))

        def distance(c: tuple[int, ...], rgb: tuple[int, ...] = rgb) -> int:
            return sum((a - b) ** 2 for a, b in zip(c, rgb, strict=True))

        got = render.nearest_256("".join(f"{c:02x}" for c in rgb))
        got_rgb = tuple(int(got[i : i + 2], 16) for i in (0, 2, 4))
        assert got_rgb in palette and distance(got_rgb) == min(map(distance, palette))
    sgr = render.Sgr(ColorDepth.DEPTH_8_BIT)
    assert sgr["fg:#fe0101"] == sgr["fg:#ff0000"] == "\x1b[0;38;5;196m"
