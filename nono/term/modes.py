"""Terminal modes and the state around them: mode flags, the alternate screen, the saved cursor,
titles, and the replies owed to the program for its queries. The mode set a client mirrors,
`Modes`, and its wire form are in modeset.py."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pyte import modes as mo

from .modeset import MOUSE_MODES, Modes

if TYPE_CHECKING:
    from .style import Cell

ALTERNATE_MODES = (47, 1047, 1049)
_PYTE_PRIVATE = (6, 7, 25)  # origin, autowrap, cursor visible: pyte's Screen handles these
_PYTE_ANSI = (4, 20)  # insert, newline (LNM)
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")

# What we claim to be: a VT220 with ANSI colour (DA1), a VT220 firmware 10 (DA2). Not tmux's
# ">84", which would make programs wrap their output in tmux passthrough sequences.
PRIMARY_DA = "\x1b[?62;22c"
SECONDARY_DA = "\x1b[>1;10;0c"


class PenCursor(Protocol):
    """pyte's Cursor as VTScreen uses it. pyte types `attrs` as its own Char; here it always
    holds a style.Cell (VTScreen.reset puts BLANK there, every SGR a Cell, and pyte's only
    handlers that read a Char are overridden), so this is the type the code can rely on."""

    x: int
    y: int
    attrs: Cell
    hidden: bool


class Savepoint(NamedTuple):
    """What DECSC keeps: pyte's Savepoint, fields in the same order, with the cursor as above."""

    cursor: PenCursor
    g0_charset: str
    g1_charset: str
    charset: int
    origin: bool
    wrap: bool


class ModeState:
    """Mixin for VTScreen (a pyte Screen): the state that is not cells."""

    # Provided by pyte.Screen / VTScreen.
    buffer: Any
    blank_buffer: Any
    cursor: PenCursor
    mode: set[int]
    lines: int
    columns: int
    margins: Any
    dirty: set[int]
    replies: list[str]
    title: str
    icon_name: str
    g0_charset: str
    g1_charset: str
    charset: int

    def reset_mode_state(self) -> None:
        self.alternate = 0  # the mode (47, 1047 or 1049) that entered it; 0 on the main screen
        self.main_buffer: Any = None
        self.main_cursor: PenCursor | None = None
        self.saved: Savepoint | None = None  # DECSC's single slot
        self.app_cursor = self.app_keypad = self.mouse_sgr = False
        self.focus_events = self.bracketed_paste = self.sync_output = False
        self.mouse: int | None = None
        self.cursor_shape = 0  # DECSCUSR: kept so a replay restores it

    def modes(self) -> Modes:
        return Modes(
            bracketed_paste=self.bracketed_paste,
            app_cursor=self.app_cursor,
            app_keypad=self.app_keypad,
            mouse=self.mouse,
            mouse_sgr=self.mouse_sgr,
            focus_events=self.focus_events,
            sync_output=self.sync_output,
            autowrap=mo.DECAWM in self.mode,
            origin=mo.DECOM in self.mode,
        )

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        self._switch(modes, bool(kwargs.get("private")), True)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        self._switch(modes, bool(kwargs.get("private")), False)

    def _switch(self, modes: tuple[int, ...], private: bool, on: bool) -> None:
        pyte_switch = super().set_mode if on else super().reset_mode  # type: ignore[misc]
        if not private:
            known = [mode for mode in modes if mode in _PYTE_ANSI]
            if known:
                pyte_switch(*known)
            return
        # DECCOLM (?3) and reverse video (?5) are ignored, as tmux does: a program must not
        # resize the session, and DECSCNM would rewrite every cell.
        for mode in modes:
            if mode in _PYTE_PRIVATE:
                pyte_switch(mode, private=True)
            elif mode == 1:
                self.app_cursor = on
            elif mode == 66:
                self.app_keypad = on
            elif mode in MOUSE_MODES:
                # Any of the three turns tracking off: they are one setting, as in xterm.
                self.mouse = mode if on else None
            elif mode == 1006:
                self.mouse_sgr = on
            elif mode == 1004:
                self.focus_events = on
            elif mode == 2004:
                self.bracketed_paste = on
            elif mode == 2026:
                self.sync_output = on
            elif mode in ALTERNATE_MODES:
                self.enter_alternate(mode) if on else self.leave_alternate(mode)
            elif mode == 1048:
                self.save_cursor() if on else self.restore_cursor()

    def keypad_application(self) -> None:
        self.app_keypad = True

    def keypad_numeric(self) -> None:
        self.app_keypad = False

    # The alternate screen, as tmux does it: entering (by any of the three modes) saves the
    # main screen and clears; leaving restores it; only ?1049 on both ends moves the cursor back.

    def enter_alternate(self, mode: int) -> None:
        if self.alternate:
            return
        self.main_buffer = self.buffer
        self.main_cursor = copy.copy(self.cursor)
        self.buffer = self.blank_buffer()
        self.alternate = mode
        self.dirty.update(range(self.lines))

    def leave_alternate(self, mode: int) -> None:
        if not self.alternate:
            return
        self.buffer = self.main_buffer
        if mode == 1049 and self.alternate == 1049 and self.main_cursor is not None:
            hidden = self.cursor.hidden
            self.cursor = self.main_cursor
            self.cursor.hidden = hidden
        self.main_buffer = self.main_cursor = None
        self.alternate = 0
        self.dirty.update(range(self.lines))

    # DECSC / DECRC: one slot (pyte keeps a stack), restorable more than once.

    def save_cursor(self) -> None:
        self.saved = Savepoint(
            copy.copy(self.cursor),
            self.g0_charset,
            self.g1_charset,
            self.charset,
            mo.DECOM in self.mode,
            mo.DECAWM in self.mode,
        )

    def restore_cursor(self) -> None:
        saved = self.saved
        hidden = self.cursor.hidden
        if saved is None:
            self.mode.discard(mo.DECOM)
            self.cursor.x = self.cursor.y = 0
            return
        self.g0_charset, self.g1_charset, self.charset = saved[1:4]
        if saved.origin:
            self.mode.add(mo.DECOM)
        else:
            self.mode.discard(mo.DECOM)
        self.cursor = copy.copy(saved.cursor)
        self.cursor.hidden = hidden  # visibility is a mode, not part of the saved cursor
        self.cursor.x = min(self.cursor.x, self.columns)
        self.cursor.y = min(self.cursor.y, self.lines - 1)

    # OSC titles and the cursor shape.

    def set_title(self, param: str) -> None:
        self.title = _CONTROLS.sub("", param)

    def set_icon_name(self, param: str) -> None:
        self.icon_name = _CONTROLS.sub("", param)

    def set_cursor_style(self, shape: int = 0, *_: int) -> None:
        self.cursor_shape = shape if 0 <= shape <= 6 else 0

    # Queries. The answers are collected, not written: the supervisor owns the PTY.

    def report_device_attributes(self, mode: int = 0, *_: int, **__: Any) -> None:
        if mode == 0:
            self.replies.append(PRIMARY_DA)

    def report_secondary_attributes(self, mode: int = 0, *_: int) -> None:
        if mode == 0:
            self.replies.append(SECONDARY_DA)

    def report_device_status(self, mode: int = 0, *_: int, private: bool = False) -> None:
        if mode == 5 and not private:
            self.replies.append("\x1b[0n")
        elif mode == 6:
            y = self.cursor.y
            if self.margins is not None and mo.DECOM in self.mode:
                y -= self.margins.top
            x = min(self.cursor.x, self.columns - 1)
            if private:  # DECXCPR also reports the page
                self.replies.append(f"\x1b[?{y + 1};{x + 1};1R")
            else:
                self.replies.append(f"\x1b[{y + 1};{x + 1}R")

    def request_mode(self, mode: int = 0, *_: int, private: bool = False) -> None:
        """DECRQM: 1 set, 2 reset, 0 not recognised."""
        state = self._mode_state(mode, private)
        value = 0 if state is None else 1 if state else 2
        self.replies.append(f"\x1b[{'?' if private else ''}{mode};{value}$y")

    def _mode_state(self, mode: int, private: bool) -> bool | None:
        if not private:
            return (mode in self.mode) if mode in _PYTE_ANSI else None
        flags = {
            1: self.app_cursor,
            6: mo.DECOM in self.mode,
            7: mo.DECAWM in self.mode,
            25: not self.cursor.hidden,
            66: self.app_keypad,
            1004: self.focus_events,
            1006: self.mouse_sgr,
            2004: self.bracketed_paste,
            2026: self.sync_output,
        }
        if mode in flags:
            return flags[mode]
        if mode in MOUSE_MODES:
            return self.mouse == mode
        if mode in ALTERNATE_MODES:
            return bool(self.alternate)
        return None
