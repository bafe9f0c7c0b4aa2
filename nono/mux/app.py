"""The Mux: the dashboard's state (panes, layout, focus, modes) and what each action does.

Data flows one way: keys and mouse -> actions -> state -> Dashboard (draw.py) -> prompt_toolkit's
renderer. The Mux never owns an agent: sessions are started with `nono run --detached` and shown
through their supervisors, so closing or killing the dashboard loses nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from typing import TYPE_CHECKING, Any

from prompt_toolkit.application import Application
from prompt_toolkit.key_binding import KeyBindings, KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.output.color_depth import ColorDepth

from nono.keys import KeyCodeError, encode_key
from nono.mux import layout, presets
from nono.mux import state as saved_state
from nono.mux.draw import STATUS, STATUS_ALERT, STATUS_FOCUS, Dashboard
from nono.mux.input import PENDING_WAIT, InputHandling
from nono.mux.keymap import COPY_ACTIONS, Keymap
from nono.mux.pane import BACKGROUND_FPS, Pane, decode_history
from nono.mux.prompts import Overlay, Prompt
from nono.mux.render import row_skipping_renderer
from nono.mux.sessions import SessionActions
from nono.mux.watch import RegistryWatch
from nono.session import registry
from nono.session.registry import EXITED, Record
from nono.term.style import DEFAULT

if TYPE_CHECKING:
    from nono.mux.copymode import CopyMode  # imported on first use: a tenth of the start

HISTORY_LINES = 10_000
ESCAPE_WAIT = 0.05  # a lone Esc reaches the agent after this (tmux's escape-time is 500 ms)
MESSAGE_TIME = 4.0
DRAW_FPS = 20  # the most a pane that is not focused is drawn


class Mux(InputHandling, SessionActions):
    def __init__(self, keymap: Keymap, problems: list[str] | None = None) -> None:
        self.keymap = keymap
        self.panes: dict[str, Pane] = {}
        self.tree: layout.Node | None = None
        self.focus: str | None = None
        self.last_focus: str | None = None
        self.zoomed = False
        self.preset: str | None = None
        self.sync = False
        self.copy_modes: dict[str, CopyMode] = {}
        self.overlay: Overlay | None = None
        self.prompt: Prompt | None = None
        self.buffers: list[str] = []
        self.screen_size = (80, 24)
        self.too_small = (0, 0)
        self.prefix_armed = False
        self.pending: list[KeyPress] = []
        self.pending_timer: asyncio.TimerHandle | None = None
        self.message = ""
        self.message_alert = False
        self.message_timer: asyncio.TimerHandle | None = None
        self.startup_problems = list(problems or [])
        self.drag: layout.Border | None = None
        self.detaching = False
        self.focus_window = Window(height=0, always_hide_cursor=False)
        self.dashboard = Dashboard(self, self.focus_window)
        self.app = self._build_app()
        self.sizes: dict[str, tuple[int, int]] = {}
        self.tasks: set[asyncio.Task] = set()
        self.outgoing: dict[str, list[str]] = {}
        self.flush_scheduled = False
        self.background_timer: asyncio.TimerHandle | None = None
        self._geometry: tuple[object, dict[str, layout.Rect] | None] = (None, None)
        self.all_records: list[Record] = []
        self.numbers: dict[str, int] = {}  # session id -> its number, from all_records

    # ------------------------------------------------------------ the application

    def _build_app(self) -> Application[None]:
        kb = KeyBindings()

        # The handlers return NotImplemented so that prompt_toolkit does not redraw the whole
        # screen after every key: a key that changes what is shown invalidates by itself, and
        # a key for the agent shows when its echo arrives (measured: 24 ms -> 6 ms p50).
        @kb.add(Keys.Any)
        def _any(event: Any) -> object:
            for press in event.key_sequence:
                self.press(press)
            return NotImplemented

        @kb.add(Keys.BracketedPaste, eager=True)
        def _paste(event: Any) -> object:
            self.paste(event.data)
            self.invalidate()
            return NotImplemented

        @kb.add(Keys.CPRResponse, eager=True)
        def _cpr(event: Any) -> None:
            pass  # the renderer's own question to the outer terminal; not for any agent

        depth = ColorDepth.TRUE_COLOR if "truecolor" in os.environ.get("COLORTERM", "") else None
        app: Application[None] = Application(
            layout=Layout(self.dashboard, focused_element=self.focus_window),
            key_bindings=kb,
            full_screen=True,
            mouse_support=True,
            color_depth=depth,
            min_redraw_interval=None,  # pane_changed paces the panes that are not focused
            # Draw as soon as asked (at most 60 times a second): typing must echo at once even
            # while another pane floods.
            max_render_postpone_time=0,
            refresh_interval=None,
            # SIGWINCH tells us of resizes; prompt_toolkit's 0.5 s size poll would wake an
            # idle dashboard twice a second.
            terminal_size_polling_interval=None,
            erase_when_done=False,
        )
        app.ttimeoutlen = ESCAPE_WAIT
        app.timeoutlen = PENDING_WAIT
        return app

    def spawn(self, work: Any) -> None:
        """Run a coroutine beside the dashboard; a bug in it is shown, not lost."""

        async def guarded() -> None:
            try:
                await work
            except Exception as exc:  # a bug: say it where the person is looking
                self.say(f"internal error: {type(exc).__name__}: {exc}", alert=True)

        self.tasks.add(task := asyncio.get_running_loop().create_task(guarded()))
        task.add_done_callback(self.tasks.discard)

    def invalidate(self) -> None:
        self.app.invalidate()

    def pane_changed(self, pane: Pane) -> None:
        """Focused pane first: its changes (an echo) are drawn at once; the others' are
        gathered and drawn at most DRAW_FPS times a second, so a flooding pane never
        keeps the renderer busy when a key is typed elsewhere."""
        if pane.id == self.focus:
            self.app.invalidate()
        elif self.background_timer is None:
            self.background_timer = asyncio.get_running_loop().call_later(
                1 / DRAW_FPS, self._background_draw
            )

    def _background_draw(self) -> None:
        self.background_timer = None
        self.app.invalidate()

    async def run(
        self, initial: list[Record], saved: saved_state.Saved | None, focus_new: str | None = None
    ) -> None:
        """Show `initial` sessions laid out as `saved` (the last detach left); until detach."""
        alive = {r.id for r in initial}
        tree = layout.prune(saved.tree, alive) if saved and saved.tree else None
        if saved and saved.tree and tree is not None:
            gone = set(layout.panes(saved.tree)) - alive
            if gone:
                self.startup_problems.append(
                    f"{len(gone)} saved pane(s) named sessions that no longer exist"
                )
        records = {r.id: r for r in initial}
        for record in initial:
            self.panes[record.id] = Pane(record, self.pane_changed)
        width, height = self._area()
        if tree is None:
            ids = [r.id for r in sorted(initial, key=lambda r: r.created)]
            preset = saved.preset if saved and saved.preset else "tiled"
            tree = presets.preset(preset, ids, ids[0], width, height) if ids else None
            self.preset = preset if ids else None
        else:
            self.preset = saved.preset if saved else None
            for extra in [r.id for r in sorted(initial, key=lambda r: r.created)]:
                if extra not in layout.panes(tree):
                    tree = self._split_tree(tree, self._largest(tree), extra, True)
        self.tree = tree
        ids = layout.panes(tree)
        focus = focus_new or (saved.focus if saved else None)
        self.focus = focus if focus in ids else (ids[0] if ids else None)
        self.zoomed = bool(saved and saved.zoomed and not focus_new and self.focus)
        self._mark_focus()
        sizes = self._content_sizes()
        await asyncio.gather(*(self.panes[i].connect(*sizes.get(i, records[i].size))
                               for i in ids))  # fmt: skip
        if self.startup_problems:
            self.say(" · ".join(self.startup_problems), alert=True)
        if not ids:
            # Like tmux starting with a shell, but asking first: a session grants the directory.
            self.split(horizontal=True)
        self._refresh_records()
        self.save()
        watch = RegistryWatch(registry.sessions_dir(), self._registry_changed)
        try:
            with row_skipping_renderer():
                await self.app.run_async()
        finally:
            watch.close()

    def _registry_changed(self) -> None:
        self._refresh_records()
        self.invalidate()

    def _area(self) -> tuple[int, int]:
        try:
            size = self.app.output.get_size()
            self.screen_size = (size.columns, size.rows)
        except Exception:
            pass
        width, height = self.screen_size
        return width, max(height - 1, 1)

    # ------------------------------------------------------------ geometry

    def geometry(self, width: int, height: int) -> dict[str, layout.Rect] | None:
        """Each shown pane's rectangle (header included); None when the screen is too small."""
        if self.tree is None:
            return {}
        zoomed = self.zoomed and self.focus in self.panes
        key = (self.tree, width, height, self.focus if zoomed else None)
        if key == self._geometry[0]:
            return self._geometry[1]  # every frame asks; the layout rarely changes
        if zoomed:
            rects: dict[str, layout.Rect] | None = {self.focus: layout.Rect(0, 0, width, height)}
        else:
            try:
                rects = layout.place(self.tree, width, height)
            except layout.LayoutTooSmall as exc:
                self.too_small = (exc.needed_width, exc.needed_height)
                rects = None
        self._geometry = (key, rects)
        if rects is None:
            return None
        sizes = {pid: (r.content.width, r.content.height) for pid, r in rects.items()}
        if sizes != self.sizes:
            self.sizes = sizes
            # Tell the supervisors after drawing: each PTY gets its pane's size.
            asyncio.get_running_loop().call_soon(self._send_sizes)
        return rects

    def _content_sizes(self) -> dict[str, tuple[int, int]]:
        width, height = self._area()
        if self.tree is None:
            return {}
        if self.zoomed and self.focus:
            return {self.focus: (width, height - 1)}
        try:
            return {p: (r.content.width, r.content.height)
                    for p, r in layout.place(self.tree, width, height).items()}  # fmt: skip
        except layout.LayoutTooSmall:
            return {}

    def _send_sizes(self) -> None:
        for pane_id, (cols, rows) in self.sizes.items():
            pane = self.panes.get(pane_id)
            if pane is not None:
                pane.resize(cols, rows)
                copy = self.copy_modes.get(pane_id)
                if copy is not None:
                    copy.resize(cols, rows)

    def _split_tree(
        self, tree: layout.Node | None, target: str | None, new: str, horizontal: bool
    ) -> layout.Node:
        """Split as tmux does at this size; by weight when the screen is too small for it."""
        try:
            return layout.split(tree, target, new, horizontal, area=self._area())
        except layout.LayoutTooSmall:
            return layout.split(tree, target, new, horizontal)

    def _room_to_split(self, horizontal: bool) -> bool:
        if self.tree is None:
            return True
        try:
            layout.split(self.tree, self.focus, "\0new", horizontal, area=self._area())
        except layout.LayoutTooSmall:
            return False
        return True

    def _largest(self, tree: layout.Node) -> str:
        width, height = self._area()
        try:
            rects = layout.place(tree, width, height)
        except layout.LayoutTooSmall:
            return layout.panes(tree)[-1]
        return max(rects, key=lambda p: rects[p].width * rects[p].height)

    def number(self, pane_id: str) -> int:
        """A session's number in the status bar (creation order, as tmux numbers windows)."""
        return self.numbers.get(pane_id, len(self.numbers))

    # ------------------------------------------------------------ status

    def _refresh_records(self) -> None:
        records, _ = registry.list_records()
        shown = set(self.panes)
        keep = [r for r in records if r.status != EXITED or r.id in shown]
        self.all_records = sorted(keep, key=lambda r: r.created)
        self.numbers = {r.id: n for n, r in enumerate(self.all_records)}

    def status_items(self) -> list[tuple[str, str]]:
        items = []
        on_screen = set(layout.panes(self.tree))
        for number, record in enumerate(self.all_records):
            pane = self.panes.get(record.id)
            if pane is not None:
                word = pane.status_word()
                marks = "!" if pane.bell else ("#" if pane.activity else "")
            else:
                word, marks = record.state, ""
            shown = "" if record.id in on_screen else "-"
            focus = "*" if record.id == self.focus else ""
            text = f"{number}:{record.name}{focus}{marks}{shown} {word}"
            style = STATUS_FOCUS if focus else (STATUS_ALERT if marks == "!" else STATUS)
            items.append((text, style))
        return items

    def status_right(self) -> tuple[str, str] | None:
        parts = []
        if self.prefix_armed:
            parts.append(f"{self.keymap.prefix_label} …")
        if self.sync:
            parts.append("SYNC")
        if self.focus in self.copy_modes:
            parts.append("COPY")
        hint = f"{self.keymap.prefix_label} ? help"
        style = STATUS_ALERT if self.sync else STATUS
        return " ".join([*parts, hint]), style

    def say(self, message: str, alert: bool = False) -> None:
        """A message in the status bar for a few seconds (one timer, no polling)."""
        self.message, self.message_alert = message, alert
        if self.message_timer is not None:
            self.message_timer.cancel()
        loop = asyncio.get_running_loop()
        self.message_timer = loop.call_later(MESSAGE_TIME * (2 if alert else 1), self._unsay)
        self.invalidate()

    def _unsay(self) -> None:
        self.message = ""
        self.message_timer = None
        self.invalidate()

    # ------------------------------------------------------------ actions

    def act(self, action: str) -> None:
        if action in COPY_ACTIONS:
            self.copy_act(action)
            return
        handler = getattr(self, "do_" + action.replace("-", "_"), None)
        if handler is not None:
            handler()
            return
        for prefix in ("focus-", "resize-", "layout-"):
            if action.startswith(prefix):
                getattr(self, prefix[:-1].replace("-", "_") + "_to")(action[len(prefix) :])
                return
        if action != "none":
            self.say(f"{action} is not available", alert=True)

    def do_detach(self) -> None:
        self.detaching = True
        self.save()
        self.app.exit()

    def do_send_prefix(self) -> None:
        try:
            data = encode_key(self.keymap.prefix_key)
        except KeyCodeError as exc:
            self.say(f"the prefix cannot be sent: {exc.message}", alert=True)
            return
        self.type_text(data.decode())

    def do_redraw(self) -> None:
        self.app.renderer.clear()
        self.invalidate()

    def do_help(self) -> None:
        lines = []
        for table, label, action, description in self.keymap.describe():
            where = {"bindings": self.keymap.prefix_label + " ", "root": "", "copy-mode": "copy: "}
            lines.append(f"{where[table]}{label:<10} {action:<24} {description}")
        self.overlay = Overlay(f"keys ({self.keymap.name})", lines, on_choose=None,
                               footer=" q/Esc close, arrows scroll ")  # fmt: skip

    def do_zoom(self) -> None:
        if self.focus is not None:
            self.zoomed = not self.zoomed
            self.save()

    def do_synchronize(self) -> None:
        self.sync = not self.sync
        self.say("typing goes to every pane" if self.sync else "synchronize off", alert=self.sync)

    def do_next_layout(self) -> None:
        self.layout_to(presets.next_preset(self.preset))

    def layout_to(self, name: str) -> None:
        if self.tree is None:
            return
        width, height = self._area()
        self.tree = presets.preset(name, layout.panes(self.tree), self.focus, width, height)
        self.preset = name
        self.zoomed = False
        self.save()
        self.say(name)

    def focus_to(self, where: str) -> None:
        ids = layout.panes(self.tree)
        if not ids or self.focus is None:
            return
        if where == "next" or where == "prev":
            step = 1 if where == "next" else -1
            target = ids[(ids.index(self.focus) + step) % len(ids)]
        elif where == "last":
            target = self.last_focus if self.last_focus in ids else None
        else:
            width, height = self._area()
            target = layout.neighbour(self.tree, self.focus, where, width, height)
        if target is not None:
            self.set_focus(target)

    def set_focus(self, pane_id: str) -> None:
        if pane_id == self.focus:
            return
        old = self.panes.get(self.focus or "")
        if old is not None and old.modes.focus_events:
            self.queue(old, "\x1b[O")
        self.last_focus, self.focus = self.focus, pane_id
        # As in tmux, moving the focus leaves zoom: the zoomed pane is no longer focused.
        self.zoomed = False
        self._mark_focus()
        new = self.panes.get(pane_id)
        if new is not None and new.modes.focus_events:
            self.queue(new, "\x1b[I")
        self.save()

    def _mark_focus(self) -> None:
        for pane in self.panes.values():
            focused = pane.id == self.focus
            if focused != pane.focused:
                # Focused pane first: the others are sent fewer frames while they flood.
                pane.frame_rate(30 if focused else BACKGROUND_FPS)
            pane.focused = focused
            if pane.focused:
                pane.bell = pane.activity = False

    def resize_to(self, how: str) -> None:
        direction, _, amount = how.partition("-")
        if self.tree is None or self.focus is None or self.zoomed:
            return
        width, height = self._area()
        self.tree = layout.resize(self.tree, self.focus, direction, int(amount or 1), width, height)
        self.save()

    def do_copy_mode(self) -> None:
        self.enter_copy_mode(from_wheel=False)

    def enter_copy_mode(self, from_wheel: bool, scroll: int = 0) -> None:
        pane = self.panes.get(self.focus or "")
        if pane is None or pane.id in self.copy_modes:
            return
        cols, rows = self.sizes.get(pane.id, (pane.cols, pane.rows))
        if pane.state not in ("running", "watching"):
            # The supervisor is gone: copy mode over what the pane shows.
            lines = [
                [(c.char, DEFAULT) for c in row if c is not None] for row in pane.materialize()
            ]
            self._open_copy(pane, lines, cols, rows, from_wheel, scroll)
            return

        async def fetch() -> None:
            try:
                response = await pane.request("history", lines=HISTORY_LINES)
            except (OSError, TimeoutError) as exc:
                self.say(f"copy mode: {exc}", alert=True)
                return
            lines, _ = decode_history(response)
            self._open_copy(pane, lines, cols, rows, from_wheel, scroll)

        self.spawn(fetch())

    def _open_copy(
        self, pane: Pane, lines: list[Any], cols: int, rows: int, from_wheel: bool, scroll: int
    ) -> None:
        from nono.mux.copymode import CopyMode

        x, y = pane.cursor
        copy = CopyMode(lines, cols, rows, cursor=(x, y), from_wheel=from_wheel)
        self.copy_modes[pane.id] = copy
        if scroll:
            copy.act("scroll-up", scroll)
        self.invalidate()

    def copy_act(self, action: str, count: int = 1) -> None:
        copy = self.copy_modes.get(self.focus or "")
        if copy is None:
            return
        result = copy.act(action, count)
        if result.prompt:
            backward = result.prompt == "search-backward"

            def search(text: str) -> None:
                if text and not copy.search(text, backward):
                    self.say(f"not found: {text}", alert=True)

            self.ask("search up: " if backward else "search down: ", search)
        if result.copied:
            self.copy_text(result.copied)
        if result.exit:
            self.copy_modes.pop(self.focus or "", None)

    def copy_text(self, text: str) -> None:
        """Into the paste buffer, and the system clipboard through OSC 52."""
        self.buffers.append(text)
        del self.buffers[:-50]
        encoded = base64.b64encode(text.encode()).decode()
        with contextlib.suppress(Exception):
            self.app.output.write_raw(f"\x1b]52;c;{encoded}\x07")
            self.app.output.flush()
        self.say(f"copied {len(text)} characters")

    def do_paste_buffer(self) -> None:
        if not self.buffers:
            self.say("the paste buffer is empty", alert=True)
            return
        self.paste(self.buffers[-1])

    # ------------------------------------------------------------ saving

    def save(self) -> None:
        try:
            saved_state.save(saved_state.Saved(self.tree, self.focus, self.zoomed, self.preset))
        except OSError as exc:
            with contextlib.suppress(RuntimeError):
                self.say(f"cannot save the layout: {exc.strerror}", alert=True)

    def close(self) -> None:
        for pane in self.panes.values():
            pane.close()


__all__ = ["Mux"]
