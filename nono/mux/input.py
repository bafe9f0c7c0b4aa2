"""What the person does, into the dashboard: keys through the prefix and the keymap's tables to
actions or to the agent (bytes as a terminal sends them), prompts and overlays, and the mouse.

Mixed into Mux (app.py), whose state it reads and changes; kept apart because how input is
decoded and how the dashboard acts on it change for different reasons.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from prompt_toolkit.key_binding import KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.mouse_events import MouseButton, MouseEvent, MouseEventType, MouseModifier

from nono.mux import layout
from nono.mux.prompts import Prompt

if TYPE_CHECKING:
    from nono.mux.pane import Pane
    from nono.term.modeset import Modes

PENDING_WAIT = 0.4  # a half-typed multi-key binding (M-x) gives up after this
_CURSOR_KEYS = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}


class InputHandling:
    """Keys, prompts, overlays and the mouse (a mixin of Mux)."""

    # Provided by Mux.
    keymap: Any
    panes: dict[str, Pane]
    tree: Any
    focus: str | None
    sync: bool
    copy_modes: dict[str, Any]
    overlay: Any
    prompt: Prompt | None
    pending: list[KeyPress]
    pending_timer: asyncio.TimerHandle | None
    prefix_armed: bool
    outgoing: dict[str, list[str]]
    flush_scheduled: bool
    drag: Any
    zoomed: bool
    act: Any
    invalidate: Any
    say: Any
    save: Any
    set_focus: Any
    geometry: Any
    copy_act: Any
    enter_copy_mode: Any
    _area: Any

    def press(self, press: KeyPress) -> None:
        key = press.key.value if isinstance(press.key, Keys) else press.key
        if key in (Keys.CPRResponse.value, Keys.Vt100MouseEvent.value, Keys.Ignore.value):
            return
        if self.prompt is not None:
            self.prompt_key(key, press.data)
            return
        if self.overlay is not None:
            self.overlay_key(key)
            return
        self.pending.append(press)
        keys = tuple(p.key.value if isinstance(p.key, Keys) else p.key for p in self.pending)
        if self.pending_timer is not None:
            self.pending_timer.cancel()
            self.pending_timer = None
        in_copy = self.focus in self.copy_modes
        if self.prefix_armed:
            table = self.keymap.bindings
        elif keys == self.keymap.prefix:
            self.pending.clear()
            self.prefix_armed = True
            self.invalidate()
            return
        else:
            table = self.keymap.copy_mode if in_copy else self.keymap.root
        action = table.get(keys)
        if action is not None:
            self.pending.clear()
            self.prefix_armed = False
            self.act(action)
            self.invalidate()
            return
        if any(bound[: len(keys)] == keys for bound in table) or (
            not self.prefix_armed and self.keymap.prefix[: len(keys)] == keys
        ):
            # The start of a longer binding (M-x arrives as Esc then x): wait a moment.
            self.pending_timer = asyncio.get_running_loop().call_later(
                PENDING_WAIT, self._flush_pending
            )
            return
        self._flush_pending()

    def _flush_pending(self) -> None:
        """Keys that bound nothing: typed into the agent, unless after the prefix or in copy
        mode, where tmux ignores them too."""
        self.pending_timer = None
        pending, self.pending = self.pending, []
        if self.prefix_armed:
            self.prefix_armed = False
            self.invalidate()
            return
        if self.focus in self.copy_modes:
            return
        data = "".join(self.key_bytes(p) for p in pending)
        self.type_text(data)

    def key_bytes(self, press: KeyPress) -> str:
        """What the agent's terminal would send for this key: the outer terminal's bytes, with
        the cursor keys in application mode when the agent asked for it (DECCKM)."""
        key = press.key.value if isinstance(press.key, Keys) else press.key
        pane = self.panes.get(self.focus or "")
        data = press.data
        app_cursor = pane is not None and pane.modes.app_cursor
        if app_cursor and key in _CURSOR_KEYS and data == f"\x1b[{_CURSOR_KEYS[key]}":
            return "\x1bO" + _CURSOR_KEYS[key]
        return data

    def type_text(self, data: str) -> None:
        """Queue keys for the target panes. The keys of one read from the terminal are sent
        in one write, as a terminal would: an agent must not see Esc alone and then `[13;2u`
        as typing."""
        if not data:
            return
        targets = self._targets()
        if not any(p.state == "running" and not p.read_only for p in targets) and targets:
            pane = targets[0]
            why = pane.problem or pane.status_word()
            self.say(f"{pane.record.name} takes no input: {why}", alert=True)
            return
        for pane in targets:
            self.queue(pane, data)

    def queue(self, pane: Pane, data: str) -> None:
        """Input for one pane, written once the current batch of keys is handled."""
        self.outgoing.setdefault(pane.id, []).append(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_outgoing)

    def _flush_outgoing(self) -> None:
        self.flush_scheduled = False
        outgoing, self.outgoing = self.outgoing, {}
        for pane_id, parts in outgoing.items():
            pane = self.panes.get(pane_id)
            if pane is not None:
                pane.send("".join(parts).encode("utf-8", "surrogateescape"))

    def _targets(self) -> list[Pane]:
        if self.sync:
            return [self.panes[p] for p in layout.panes(self.tree) if p in self.panes]
        pane = self.panes.get(self.focus or "")
        return [pane] if pane is not None else []

    def paste(self, text: str) -> None:
        if self.prompt is not None:
            self.prompt.text += text.replace("\n", " ").replace("\r", " ")
            self.invalidate()
            return
        for pane in self._targets():
            if pane.modes.bracketed_paste:
                self.queue(pane, "\x1b[200~" + text + "\x1b[201~")
            else:
                self.queue(pane, text)

    # ------------------------------------------------------------ prompts and overlays

    def ask(self, label: str, done: Any, initial: str = "", single_key: bool = False) -> None:
        self.prompt = Prompt(label, initial, done, single_key)
        self.invalidate()

    def prompt_key(self, key: str, data: str) -> None:
        prompt = self.prompt
        assert prompt is not None
        outcome = prompt.key(key, data)
        if outcome is None:
            self.invalidate()
            return
        self.prompt = None
        if outcome is not False:
            prompt.done(outcome)
        self.invalidate()

    def overlay_key(self, key: str) -> None:
        overlay = self.overlay
        assert overlay is not None
        if overlay.key(key):
            self.overlay = None
            if overlay.chosen is not None and overlay.on_choose is not None:
                overlay.on_choose(overlay.chosen)
        self.invalidate()

    # ------------------------------------------------------------ mouse

    def on_mouse(self, event: MouseEvent) -> None:
        x, y = event.position.x, event.position.y
        width, height = self._area()
        kind = event.event_type
        if self.overlay is not None or self.prompt is not None or self.tree is None:
            return
        if self.drag is not None:
            if kind == MouseEventType.MOUSE_MOVE and event.button == MouseButton.LEFT:
                self.tree = layout.drag(self.tree, self.drag, x, y, width, height)
                self.invalidate()
                return
            if kind in (MouseEventType.MOUSE_UP, MouseEventType.MOUSE_MOVE):
                self.drag = None
                self.save()
                return
        rects = self.geometry(width, height) or {}
        pane_id = next((p for p, r in rects.items() if r.contains(x, y)), None)
        if kind == MouseEventType.MOUSE_DOWN and not self.zoomed:
            border = layout.border_at(self.tree, width, height, x, y)
            if border is not None:
                self.drag = border
                return
        if pane_id is None:
            return
        pane = self.panes[pane_id]
        content = rects[pane_id].content
        inside = content.contains(x, y)
        if kind == MouseEventType.MOUSE_DOWN and pane_id != self.focus:
            self.set_focus(pane_id)
            self.invalidate()
        wheel = kind in (MouseEventType.SCROLL_UP, MouseEventType.SCROLL_DOWN)
        if wheel and pane_id != self.focus:
            self.set_focus(pane_id)
        copy = self.copy_modes.get(pane_id)
        if inside and copy is None and pane.modes.mouse and pane.state == "running":
            report = mouse_report(event, x - content.x, y - content.y, pane.modes)
            if report:
                self.queue(pane, report)
            return
        if wheel:
            if copy is not None:
                self.copy_act("scroll-up" if kind == MouseEventType.SCROLL_UP else "scroll-down", 3)
            elif kind == MouseEventType.SCROLL_UP:
                self.enter_copy_mode(from_wheel=True, scroll=3)
            self.invalidate()


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
