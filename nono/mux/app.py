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
import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prompt_toolkit.application import Application
from prompt_toolkit.key_binding import KeyBindings, KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.mouse_events import MouseButton, MouseEvent, MouseEventType, MouseModifier
from prompt_toolkit.output.color_depth import ColorDepth

from nono.mux import layout, presets
from nono.mux import state as saved_state
from nono.mux.draw import STATUS, STATUS_ALERT, STATUS_FOCUS, Dashboard
from nono.mux.keymap import ACTIONS, COPY_ACTIONS, Keymap
from nono.mux.pane import Pane, decode_history
from nono.mux.prompts import Overlay, Prompt
from nono.mux.render import row_skipping_renderer
from nono.mux.watch import RegistryWatch
from nono.session import registry
from nono.session.registry import EXITED, Record

if TYPE_CHECKING:
    from nono.mux.copymode import CopyMode  # imported on first use: a tenth of the start

HISTORY_LINES = 10_000
ESCAPE_WAIT = 0.05  # a lone Esc reaches the agent after this (tmux's escape-time is 500 ms)
PENDING_WAIT = 0.4  # a half-typed multi-key binding (M-x) gives up after this
MESSAGE_TIME = 4.0
BACKGROUND_FPS = 20
_CURSOR_KEYS = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}


@dataclass
class NewSession:
    """What a split asks for: the defaults are a shell with the default profile, cwd granted."""

    profile: str = "default"
    workdir: str = field(default_factory=os.getcwd)
    command: str = field(default_factory=lambda: os.environ.get("SHELL") or "bash")


class Mux:
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
        self.all_records: list[Record] = []

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
            layout=Layout(
                HSplit([self.dashboard, self.focus_window]), focused_element=self.focus_window
            ),
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
        gathered and drawn at most BACKGROUND_FPS times a second, so a flooding pane never
        keeps the renderer busy when a key is typed elsewhere."""
        if pane.id == self.focus:
            self.app.invalidate()
        elif self.background_timer is None:
            self.background_timer = asyncio.get_running_loop().call_later(
                1 / BACKGROUND_FPS, self._background_draw
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
            self.say('no sessions: split (prefix % or ") to start one', alert=False)
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
        if self.zoomed and self.focus in self.panes:
            rects = {self.focus: layout.Rect(0, 0, width, height)}
        else:
            try:
                rects = layout.place(self.tree, width, height)
            except layout.LayoutTooSmall as exc:
                self.too_small = (exc.needed_width, exc.needed_height)
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
        ids = [r.id for r in self.all_records]
        return ids.index(pane_id) if pane_id in ids else len(ids)

    # ------------------------------------------------------------ status

    def _refresh_records(self) -> None:
        records, _ = registry.list_records()
        shown = set(self.panes)
        keep = [r for r in records if r.status != EXITED or r.id in shown]
        self.all_records = sorted(keep, key=lambda r: r.created)

    def status_items(self) -> list[tuple[str, str]]:
        items = []
        for record in self.all_records:
            pane = self.panes.get(record.id)
            if pane is not None:
                word = pane.status_word()
                marks = "!" if pane.bell else ("#" if pane.activity else "")
            else:
                word, marks = record.state, ""
            shown = "" if pane is not None and pane.id in layout.panes(self.tree) else "-"
            focus = "*" if record.id == self.focus else ""
            text = f"{self.number(record.id)}:{record.name}{focus}{marks}{shown} {word}"
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

    # ------------------------------------------------------------ keys

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
        app_cursor = pane is not None and pane.modes.get("app_cursor")
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
            if pane.modes.get("bracketed_paste"):
                self.queue(pane, "\x1b[200~" + text + "\x1b[201~")
            else:
                self.queue(pane, text)

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
        self.type_text("".join(_key_data(k) for k in self.keymap.prefix))

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
        if old is not None and old.modes.get("focus_events"):
            self.queue(old, "\x1b[O")
        self.last_focus, self.focus = self.focus, pane_id
        self.zoomed = False if self.zoomed else self.zoomed
        self._mark_focus()
        new = self.panes.get(pane_id)
        if new is not None and new.modes.get("focus_events"):
            self.queue(new, "\x1b[I")
        self.save()

    def _mark_focus(self) -> None:
        for pane in self.panes.values():
            pane.focused = pane.id == self.focus
            if pane.focused:
                pane.bell = pane.activity = False

    def resize_to(self, how: str) -> None:
        direction, _, amount = how.partition("-")
        if self.tree is None or self.focus is None or self.zoomed:
            return
        width, height = self._area()
        self.tree = layout.resize(self.tree, self.focus, direction, int(amount or 1), width, height)
        self.save()

    def do_close_pane(self) -> None:
        """The pane goes; its session keeps running (it is still in the status bar)."""
        if self.focus is None or self.tree is None:
            return
        pane = self.panes.pop(self.focus)
        pane.close()
        self.copy_modes.pop(pane.id, None)
        ids = layout.panes(self.tree)
        index = ids.index(pane.id)
        try:
            self.tree = layout.remove(self.tree, pane.id, area=self._area())
        except layout.LayoutTooSmall:
            self.tree = layout.remove(self.tree, pane.id)
        rest = layout.panes(self.tree)
        self.zoomed = False
        self.focus = None
        if rest:
            target = self.last_focus if self.last_focus in rest else rest[min(index, len(rest) - 1)]
            self.focus = target
            self._mark_focus()
        self._refresh_records()
        self.save()
        if pane.state == "running":
            self.say(f"{pane.record.name} keeps running; show it again with attach-session")

    def do_stop_session(self) -> None:
        pane = self.panes.get(self.focus or "")
        if pane is None:
            return
        if pane.state not in ("running", "watching"):
            self.say(f"{pane.record.name} is not running", alert=True)
            return

        def answer(text: str) -> None:
            if text.strip().lower() in ("y", "yes"):
                self.spawn(self._stop(pane))

        self.ask(f"stop {pane.record.name}? (y/n) ", answer, single_key=True)

    async def _stop(self, pane: Pane) -> None:
        try:
            await pane.request("stop", timeout=20, wait=10)
        except (OSError, TimeoutError) as exc:
            self.say(f"stopping {pane.record.name}: {exc}", alert=True)

    def do_restart_session(self) -> None:
        pane = self.panes.get(self.focus or "")
        if pane is None:
            return
        if pane.state in ("running", "watching"):
            self.say(f"{pane.record.name} is still running; stop it first", alert=True)
            return
        run = pane.record.extra.get("run") if isinstance(pane.record.extra, dict) else None
        if not isinstance(run, dict):
            self.say(f"{pane.record.name} was not started in a way nono can repeat", alert=True)
            return
        options = [str(o) for o in run.get("options", [])]
        command = [str(c) for c in run.get("command", [])] or list(pane.record.command)
        cwd = str(run.get("cwd") or pane.record.workdir)
        self._start(options, command, cwd, name=pane.record.name, replace=pane.id)

    def split(self, horizontal: bool) -> None:
        if not self._room_to_split(horizontal):
            self.say("no space for a new pane here (zoom out, or close a pane)", alert=True)
            return
        defaults = NewSession()
        focused = self.panes.get(self.focus or "")
        if focused is not None:
            defaults.workdir = focused.record.workdir
        answers: dict[str, str] = {}

        def got_command(text: str) -> None:
            command = shlex.split(text.strip() or defaults.command)
            profile = answers["profile"].strip() or defaults.profile
            workdir = os.path.expanduser(answers["workdir"].strip() or defaults.workdir)
            self._start(["--profile", profile, "--allow-cwd"], command, workdir,
                        horizontal=horizontal)  # fmt: skip

        def got_workdir(text: str) -> None:
            answers["workdir"] = text
            self.ask("command: ", got_command, initial=defaults.command)

        def got_profile(text: str) -> None:
            answers["profile"] = text
            self.ask("directory: ", got_workdir, initial=defaults.workdir)

        self.ask("new pane profile: ", got_profile, initial=defaults.profile)

    def do_split_right(self) -> None:
        self.split(horizontal=True)

    def do_split_down(self) -> None:
        self.split(horizontal=False)

    def _start(
        self,
        options: list[str],
        command: list[str],
        cwd: str,
        *,
        name: str | None = None,
        replace: str | None = None,
        horizontal: bool = True,
    ) -> None:
        width, height = self._area()
        size = self.sizes.get(replace or self.focus or "", (width, max(height - 1, 2)))
        argv = [sys.executable, "-m", "nono", "run", *options, "--detached",
                "--size", f"{max(size[0], 2)}x{max(size[1], 2)}"]  # fmt: skip
        if name:
            argv += ["--name", name]
        argv += ["--", *command]

        async def start() -> None:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                out, err = await proc.communicate()
            except OSError as exc:
                self.say(f"cannot start {command[0]}: {exc.strerror}", alert=True)
                return
            if proc.returncode != 0:
                lines = err.decode(errors="replace").strip().splitlines() or ["failed"]
                self.say(lines[-1], alert=True)
                return
            session_id = out.decode().split()[0]
            self.add_session(registry.read_record(session_id), replace, horizontal)

        self.spawn(start())

    def add_session(self, record: Record, replace: str | None = None, horizontal: bool = True):
        pane = Pane(record, self.pane_changed)
        self.panes[record.id] = pane
        if replace is not None and self.tree is not None and replace in layout.panes(self.tree):
            old = self.panes.pop(replace)
            old.close()
            self.copy_modes.pop(replace, None)
            self.tree = _rename(self.tree, replace, record.id)
        else:
            self.tree = self._split_tree(self.tree, self.focus, record.id, horizontal)
            self.zoomed = False
        self.set_focus(record.id)
        self._refresh_records()
        sizes = self._content_sizes()
        self.spawn(pane.connect(*sizes.get(record.id, record.size)))
        self.save()

    def do_attach_session(self) -> None:
        self._choose_session("attach a session", lambda r: self.show_session(r, split=True))

    def do_next_session(self) -> None:
        self._refresh_records()
        hidden = [r for r in self.all_records if r.id not in layout.panes(self.tree)]
        if not hidden:
            self.say("every session is on screen")
            return
        self.show_session(hidden[0], split=self.focus is None)

    def show_session(self, record: Record, split: bool) -> None:
        if record.id in layout.panes(self.tree):
            self.set_focus(record.id)
            return
        if split or self.focus is None:
            self.add_session(registry.reconcile(record))
        else:
            self.add_session(registry.reconcile(record), replace=self.focus)

    def _choose_session(self, title: str, chosen: Any) -> None:
        self._refresh_records()
        shown = set(layout.panes(self.tree))
        choices = [r for r in self.all_records if r.id not in shown]
        if not choices:
            self.say("every session is on screen")
            return
        lines = [f"{self.number(r.id)}:{r.name}  {r.state}  {' '.join(r.command)}" for r in choices]
        self.overlay = Overlay(title, lines, on_choose=lambda i: chosen(choices[i]),
                               footer=" Enter choose, Esc cancel ")  # fmt: skip

    def do_copy_mode(self) -> None:
        self.enter_copy_mode(from_wheel=False)

    def enter_copy_mode(self, from_wheel: bool, scroll: int = 0) -> None:
        pane = self.panes.get(self.focus or "")
        if pane is None or pane.id in self.copy_modes:
            return
        cols, rows = self.sizes.get(pane.id, (pane.cols, pane.rows))
        if pane.state not in ("running", "watching"):
            # The supervisor is gone: copy mode over what the pane shows.
            lines = [[(c.char, _plain()) for c in row if c is not None] for row in pane.cells]
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
        if inside and copy is None and pane.modes.get("mouse") and pane.state == "running":
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


def mouse_report(event: MouseEvent, x: int, y: int, modes: dict[str, Any]) -> str | None:
    """The report the agent asked for (?1000/?1002/?1003, SGR ?1006 or X10), pane-relative."""
    kind, button = event.event_type, event.button
    level = modes.get("mouse") or 0
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
    if modes.get("mouse_sgr"):
        return f"\x1b[<{code};{x + 1};{y + 1}{'m' if release else 'M'}"
    if release:
        code = 3 + (code & ~3)
    if x > 222 or y > 222:
        return None  # X10 cannot say it
    return f"\x1b[M{chr(32 + code)}{chr(33 + x)}{chr(33 + y)}"


def _key_data(key: str) -> str:
    """The byte a single prompt_toolkit key name stands for (the prefix sent through)."""
    if key.startswith("c-") and len(key) == 3:
        char = key[2]
        return chr(ord(char.upper()) & 0x1F) if char.isalpha() or char in "@[\\]^_" else ""
    if key == "escape":
        return "\x1b"
    return key if len(key) == 1 else ""


def _plain() -> Any:
    from nono.term.style import DEFAULT

    return DEFAULT


def _rename(tree: layout.Node, old: str, new: str) -> layout.Node:
    if isinstance(tree, layout.Leaf):
        return layout.Leaf(new) if tree.pane == old else tree
    return layout.Split(
        tree.horizontal, tuple(_rename(c, old, new) for c in tree.children), tree.weights
    )


__all__ = ["ACTIONS", "Mux", "mouse_report"]
_ = time
