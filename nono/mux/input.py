"""What the person does, into the dashboard: keys through the prefix and the keymap's tables to
actions or to the agent (bytes as a terminal sends them), prompts and overlays, and the mouse.

Kept apart from the actions (actions.py) because how input is decoded and what the dashboard
does about it change for different reasons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.mouse_events import MouseButton, MouseEvent, MouseEventType, MouseModifier

from nono.mux import layout
from nono.mux.copying import Copying
from nono.mux.keymap import Keymap
from nono.mux.model import Model
from nono.mux.prompts import overlay_page

if TYPE_CHECKING:
    from nono.term.modeset import Modes

PENDING_WAIT = 0.4  # a half-typed multi-key binding (M-x) gives up after this
REPEAT_TIME = 0.5  # tmux's repeat-time: how long a repeatable binding waits for the next key
_CURSOR_KEYS = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}


class Input:
    """Keys, prompts, overlays and the mouse, turned into actions and typing."""

    def __init__(
        self, keymap: Keymap, model: Model, copying: Copying, act: Callable[[str], None]
    ) -> None:
        self.keymap = keymap
        self.model = model
        self.copying = copying
        self.act = act  # runs an action by name (actions.run)
        self.pending: list[KeyPress] = []
        self.pending_timer: asyncio.TimerHandle | None = None
        self.repeat_timer: asyncio.TimerHandle | None = None

    def press(self, press: KeyPress) -> None:
        key = press.key.value if isinstance(press.key, Keys) else press.key
        if key in (Keys.CPRResponse.value, Keys.Vt100MouseEvent.value, Keys.Ignore.value):
            return
        if self.model.prompt is not None:
            self.end_repeat()
            self.prompt_key(key, press.data)
            return
        if self.model.overlay is not None:
            self.end_repeat()
            self.overlay_key(key)
            return
        self.pending.append(press)
        keys = tuple(p.key.value if isinstance(p.key, Keys) else p.key for p in self.pending)
        if self.pending_timer is not None:
            self.pending_timer.cancel()
            self.pending_timer = None
        if self.model.repeating:
            self._repeat(keys)
            return
        in_copy = self.model.focus in self.model.copy_modes
        if self.model.prefix_armed:
            table = self.keymap.bindings
        elif keys == self.keymap.prefix:
            self.pending.clear()
            self.model.prefix_armed = True
            self.model.invalidate()
            return
        else:
            table = self.keymap.copy_mode if in_copy else self.keymap.root
        action = table.get(keys)
        if action is not None:
            self.pending.clear()
            repeats = self.model.prefix_armed and keys in self.keymap.repeat
            self.model.prefix_armed = False
            self.act(action)
            if repeats:
                self._start_repeat()
            self.model.invalidate()
            return
        if any(bound[: len(keys)] == keys for bound in table) or (
            not self.model.prefix_armed and self.keymap.prefix[: len(keys)] == keys
        ):
            # The start of a longer binding (M-x arrives as Esc then x): wait a moment.
            self.pending_timer = asyncio.get_running_loop().call_later(
                PENDING_WAIT, self._flush_pending
            )
            return
        self._flush_pending()

    # ------------------------------------------------------------ repeating (tmux's bind -r)

    def _repeat(self, keys: tuple[str, ...]) -> None:
        """A key while a repeatable binding waits for more: another repeatable binding acts
        without the prefix (and waits again); anything else ends the repeat and is handled as
        if none had been going on, as tmux does."""
        repeat = self.keymap.repeat
        if keys in repeat:
            self.pending.clear()
            self.act(self.keymap.bindings[keys])
            self._start_repeat()
            self.model.invalidate()
        elif any(bound[: len(keys)] == keys for bound in repeat):
            self.pending_timer = asyncio.get_running_loop().call_later(
                PENDING_WAIT, self._flush_pending
            )
        else:
            self.end_repeat()
            pending, self.pending = self.pending, []
            for press in pending:
                self.press(press)

    def _start_repeat(self) -> None:
        if self.repeat_timer is not None:
            self.repeat_timer.cancel()
        self.model.repeating = True
        self.repeat_timer = asyncio.get_running_loop().call_later(REPEAT_TIME, self.end_repeat)

    def end_repeat(self) -> None:
        if self.repeat_timer is not None:
            self.repeat_timer.cancel()
            self.repeat_timer = None
        if self.model.repeating:
            self.model.repeating = False
            self.model.invalidate()

    def _flush_pending(self) -> None:
        """Keys that bound nothing: typed into the agent, unless after the prefix or in copy
        mode, where tmux ignores them too."""
        self.pending_timer = None
        if self.model.repeating:  # the start of a repeatable binding that did not come
            self.end_repeat()
            pending, self.pending = self.pending, []
            for press in pending:
                self.press(press)
            return
        pending, self.pending = self.pending, []
        if self.model.prefix_armed:
            self.model.prefix_armed = False
            self.model.invalidate()
            return
        if self.model.focus in self.model.copy_modes:
            return
        data = "".join(self.key_bytes(p) for p in pending)
        self.model.type_text(data)

    def key_bytes(self, press: KeyPress) -> str:
        """What the agent's terminal would send for this key: the outer terminal's bytes, with
        the cursor keys in application mode when the agent asked for it (DECCKM)."""
        key = press.key.value if isinstance(press.key, Keys) else press.key
        pane = self.model.panes.get(self.model.focus or "")
        data = press.data
        app_cursor = pane is not None and pane.modes.app_cursor
        if app_cursor and key in _CURSOR_KEYS and data == f"\x1b[{_CURSOR_KEYS[key]}":
            return "\x1bO" + _CURSOR_KEYS[key]
        return data

    # ------------------------------------------------------------ prompts and overlays

    def prompt_key(self, key: str, data: str) -> None:
        prompt = self.model.prompt
        assert prompt is not None
        outcome = prompt.key(key, data)
        if outcome is None:
            self.model.invalidate()
            return
        self.model.prompt = None
        if outcome is not False:
            prompt.done(outcome)
        self.model.invalidate()

    def overlay_key(self, key: str) -> None:
        overlay = self.model.overlay
        assert overlay is not None
        if overlay.key(key, overlay_page(overlay, *self.model.area())):
            self.model.overlay = None
            if overlay.chosen is not None and overlay.on_choose is not None:
                overlay.on_choose(overlay.chosen)
        self.model.invalidate()

    # ------------------------------------------------------------ mouse

    def on_mouse(self, event: MouseEvent) -> None:
        x, y = event.position.x, event.position.y
        width, height = self.model.area()
        kind = event.event_type
        if (
            self.model.overlay is not None
            or self.model.prompt is not None
            or self.model.tree is None
        ):
            return
        if self.model.drag is not None:
            if kind == MouseEventType.MOUSE_MOVE and event.button == MouseButton.LEFT:
                self.model.tree = layout.drag(self.model.tree, self.model.drag, x, y, width, height)
                self.model.invalidate()
                return
            if kind in (MouseEventType.MOUSE_UP, MouseEventType.MOUSE_MOVE):
                self.model.drag = None
                self.model.save()
                return
        self.model.relayout()  # the terminal may have changed size since the last frame
        rects = self.model.rects or {}
        pane_id = next((p for p, r in rects.items() if r.contains(x, y)), None)
        if kind == MouseEventType.MOUSE_DOWN and not self.model.zoomed:
            border = layout.border_at(self.model.tree, width, height, x, y)
            if border is not None:
                self.model.drag = border
                return
        if pane_id is None:
            return
        pane = self.model.panes[pane_id]
        content = rects[pane_id].content
        inside = content.contains(x, y)
        if kind == MouseEventType.MOUSE_DOWN and pane_id != self.model.focus:
            self.model.set_focus(pane_id)
            self.model.invalidate()
        wheel = kind in (MouseEventType.SCROLL_UP, MouseEventType.SCROLL_DOWN)
        if wheel and pane_id != self.model.focus:
            self.model.set_focus(pane_id)
        copy = self.model.copy_modes.get(pane_id)
        if inside and copy is None and pane.modes.mouse and pane.state == "running":
            report = mouse_report(event, x - content.x, y - content.y, pane.modes)
            if report:
                self.model.queue(pane, report)
            return
        if wheel:
            if copy is not None:
                self.copying.act(
                    "scroll-up" if kind == MouseEventType.SCROLL_UP else "scroll-down", 3
                )
            elif kind == MouseEventType.SCROLL_UP:
                self.copying.enter(from_wheel=True, scroll=3)
            self.model.invalidate()


def mouse_report(event: MouseEvent, x: int, y: int, modes: Modes) -> str | None:
    """The report the agent asked for (?1000/?1002/?1003, SGR ?1006 or X10), pane-relative."""
    kind, button = event.event_type, event.button
    level = modes.mouse or 0
    buttons = {MouseButton.LEFT: 0, MouseButton.MIDDLE: 1, MouseButton.RIGHT: 2}
    if kind == MouseEventType.SCROLL_UP:
        code = 64
    elif kind == MouseEventType.SCROLL_DOWN:
        code = 65
    elif kind == MouseEventType.MOUSE_MOVE:
        pressed = button in buttons
        if level < 1002 or (level == 1002 and not pressed):
            return None
        code = 32 + (buttons[button] if pressed else 3)
    else:
        code = buttons.get(button, 0)
    if MouseModifier.SHIFT in event.modifiers:
        code += 4
    if MouseModifier.ALT in event.modifiers:
        code += 8
    if MouseModifier.CONTROL in event.modifiers:
        code += 16
    release = kind == MouseEventType.MOUSE_UP
    if modes.mouse_sgr:
        return f"\x1b[<{code};{x + 1};{y + 1}{'m' if release else 'M'}"
    if release:
        code = 3 + (code & ~3)
    if x > 222 or y > 222:
        return None  # X10 cannot say it
    return f"\x1b[M{chr(32 + code)}{chr(33 + x)}{chr(33 + y)}"
