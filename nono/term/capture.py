"""Rendering out of the model: capture lines (text or ANSI) and the replay for a raw attach."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyte import charsets as cs
from pyte import modes as mo

from .lines import Row, Run, glyphs
from .style import DEFAULT, sgr

if TYPE_CHECKING:
    from .modes import PenCursor
    from .screen import VTScreen


def line_text(runs: Sequence[Run]) -> str:
    """A line as `tmux capture-pane -p` prints it: trailing spaces dropped."""
    return "".join(text for text, _ in runs).rstrip(" ")


def line_ansi(runs: Sequence[Run]) -> str:
    """A line as `tmux capture-pane -p -e` prints it, but self-contained: it starts from the
    default style and resets at its end, so lines can be printed or dropped one by one."""
    keep = len(line_text(runs))
    out: list[str] = []
    current = DEFAULT
    for text, style in runs:
        if keep <= 0:
            break
        text = text[:keep]
        keep -= len(text)
        if style != current:
            out.append(sgr(style))
            current = style
        out.append(text)
    if current != DEFAULT:
        out.append("\x1b[0m")
    return "".join(out)


def _cup(y: int, x: int) -> str:
    return f"\x1b[{y + 1};{x + 1}H"


def _rows(out: list[str], buffer: list[Row]) -> None:
    for y, row in enumerate(buffer):
        drawn = list(glyphs(row))
        while drawn and drawn[-1][0] == " " and drawn[-1][1] == DEFAULT:
            drawn.pop()
        if not drawn:
            continue
        out.append(_cup(y, 0))
        current = None
        for text, style, _width in drawn:
            if style is not current:
                out.append(sgr(style))
                current = style
            out.append(text)
    out.append("\x1b[0m")


_CHARSET_CODES = {table: code for code, table in cs.MAPS.items()}


def _charsets(g0: str, g1: str, shift: int) -> str:
    codes = _CHARSET_CODES
    return f"\x1b({codes.get(g0, 'B')}\x1b){codes.get(g1, 'B')}" + ("\x0e" if shift else "\x0f")


def render_ansi(screen: VTScreen) -> bytes:
    """Bytes that make a fresh terminal of the same size show what the screen shows, in the
    same modes, with the cursor (even one waiting to wrap) where the program left it."""
    cols, lines = screen.columns, screen.lines
    # Inside a synchronized update, so the terminal shows the result and not its drawing.
    out = ["\x1b[?2026h\x1b[0m\x1b[r\x1b[?6l\x1b[?7h\x1b[4l\x1b(B\x1b)B\x0f\x1b[H\x1b[2J"]
    if screen.alternate:
        # Draw the main screen first so that leaving the alternate screen later shows it.
        _rows(out, screen.main_buffer)
        main = screen.main_cursor
        if main is not None:
            out.append(_cup(min(main.y, lines - 1), min(main.x, cols - 1)))
            out.append(sgr(main.attrs.style))
        out.append(f"\x1b[?{screen.alternate}h\x1b[0m\x1b[H\x1b[2J")
    _rows(out, screen.buffer)
    if screen.tabstops != set(range(8, cols, 8)):
        out.append("\x1b[3g")
        out.extend(_cup(0, stop) + "\x1bH" for stop in sorted(screen.tabstops) if stop < cols)
    if screen.saved is not None:
        saved = screen.saved
        out.append(_cup(min(saved.cursor.y, lines - 1), min(saved.cursor.x, cols - 1)))
        out.append(sgr(saved.cursor.attrs.style) + _charsets(*saved[1:4]) + "\x1b7")
    origin = mo.DECOM in screen.mode
    top = 0
    if screen.margins is not None:
        top = screen.margins.top if origin else 0
        out.append(f"\x1b[{screen.margins.top + 1};{screen.margins.bottom + 1}r")
    if origin:
        out.append("\x1b[?6h")
    _cursor(out, screen, screen.cursor, top)
    modes = screen.modes()
    out.append(sgr(screen.cursor.attrs.style))
    out.append(_charsets(screen.g0_charset, screen.g1_charset, screen.charset))
    for on, code in (
        (mo.IRM in screen.mode, "4"),
        (mo.LNM in screen.mode, "20"),
        (not modes.autowrap, "?7"),
        (modes.app_cursor, "?1"),
        (modes.mouse is not None, f"?{modes.mouse}"),
        (modes.mouse_sgr, "?1006"),
        (modes.focus_events, "?1004"),
        (modes.bracketed_paste, "?2004"),
    ):
        if on:
            out.append(f"\x1b[{code}{'l' if code == '?7' else 'h'}")
    if modes.app_keypad:
        out.append("\x1b=")
    if screen.cursor_shape:
        out.append(f"\x1b[{screen.cursor_shape} q")
    if screen.title:
        out.append(f"\x1b]2;{screen.title}\x07")
    out.append("\x1b[?25l" if screen.cursor.hidden else "\x1b[?25h")
    if not modes.sync_output:
        out.append("\x1b[?2026l")
    return "".join(out).encode("utf-8", "replace")


def _cursor(out: list[str], screen: VTScreen, cursor: PenCursor, top: int) -> None:
    cols = screen.columns
    y = cursor.y - top
    if cursor.x >= cols and mo.DECAWM in screen.mode:
        # Waiting to wrap: draw the last glyph again, which leaves the terminal waiting too.
        text, style, width = list(glyphs(screen.buffer[cursor.y]))[-1]
        out.append(_cup(y, cols - width) + sgr(style) + text)
    else:
        out.append(_cup(y, min(cursor.x, cols - 1)))
