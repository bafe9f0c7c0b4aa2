"""A screen diff for the dashboard that skips unchanged rows.

prompt_toolkit's renderer compares every cell of every row on every frame (with a Python-level
scan per row for its last non-blank column): at 200x50 that is ~15 ms a frame, measured, which
is what a keystroke's echo waits behind while another pane floods. The dashboard redraws from
cached rows of shared Char objects, so an unchanged row compares equal as a dict, in C; only
the rows that differ are walked, cell by cell.

It handles the steady state of a full-screen app only (the same size as the last frame, not
the final frame); everything else goes to prompt_toolkit's own diff.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

import prompt_toolkit.renderer as pt_renderer
from prompt_toolkit.data_structures import Point
from prompt_toolkit.layout.screen import Screen


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
    if is_done or not full_screen or not previous_screen or previous_width != size.columns:
        return _ORIGINAL(app, output, screen, current_pos, color_depth, previous_screen,
                         last_style, is_done, full_screen, attrs_for_style_string,
                         style_string_has_style, size, previous_width)  # fmt: skip
    width, height = size.columns, size.rows
    write = output.write
    output.hide_cursor()
    output.reset_attributes()
    style: str | None = None
    attrs = None
    x = y = -1  # where the terminal's cursor is; unknown until the first move
    text: list[str] = []
    for row_y in range(min(max(screen.height, previous_screen.height), height)):
        new_row = screen.data_buffer[row_y]
        old_row = previous_screen.data_buffer[row_y]
        if new_row == old_row:
            continue
        new_default = new_row.default_factory()  # the screen's blank (rows are defaultdicts)
        old_default = old_row.default_factory()
        columns = sorted(c for c in set(new_row).union(old_row) if c < width)
        covered = -1  # columns up to here belong to a wide character already on screen
        forced = -1  # a column whose old wide character's right half must be redrawn
        index = 0
        while index < len(columns) or forced > covered:
            if forced > covered and (index >= len(columns) or forced < columns[index]):
                c, forced = forced, -1
                if c >= width:
                    continue
                must = True
            else:
                c = columns[index]
                index += 1
                must = c == forced
                if must:
                    forced = -1
            if c <= covered:
                continue
            new = new_row.get(c, new_default)
            old = old_row.get(c, old_default)
            c_width = new.width if new.width > 0 else 1
            if not must and new.char == old.char and new.style == old.style:
                covered = c + c_width - 1
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
            covered = c + c_width - 1
        if text:
            write("".join(text))
            text.clear()
    cursor = screen.get_cursor_position(app.layout.current_window)
    output.cursor_goto(cursor.y + 1, cursor.x + 1)
    output.reset_attributes()
    if screen.show_cursor:
        output.show_cursor()
    return cursor, None


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
    if not _compatible():
        yield
        return
    pt_renderer._output_screen_diff = screen_diff
    try:
        yield
    finally:
        pt_renderer._output_screen_diff = _ORIGINAL
