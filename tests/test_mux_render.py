"""The dashboard's row-skipping screen diff draws exactly what prompt_toolkit's own diff draws:
both are fed the same random sequence of screens and their output is played into a terminal."""

from __future__ import annotations

import io
import random
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

    def draw(self, screen: Screen) -> None:
        app = SimpleNamespace(layout=SimpleNamespace(current_window=None))
        self.pos, _ = self.diff(app, self.output, screen, self.pos, ColorDepth.DEPTH_24_BIT,
                                self.previous, None, False, True, self.attrs, self.has_style,
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


def test_the_original_diff_is_restored_after_the_dashboard() -> None:
    import prompt_toolkit.renderer as pt_renderer

    with render.row_skipping_renderer():
        assert pt_renderer._output_screen_diff is render.screen_diff
    assert pt_renderer._output_screen_diff is render._ORIGINAL


def test_the_replacement_is_only_used_with_the_diff_it_was_written_for() -> None:
    assert render._compatible()  # the installed prompt_toolkit: the fast diff is in use
