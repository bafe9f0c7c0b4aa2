"""The Mux: the dashboard put together. It holds the state (model.py), the objects that act on
it (input.py, sessions.py, copying.py, actions.py) and the Dashboard that draws it (draw.py),
and runs them as one prompt_toolkit application until the person detaches.

Data flows one way: keys and mouse -> actions -> state -> Dashboard -> prompt_toolkit's
renderer. The Mux never owns an agent: sessions are started with `nono run --detached` and
shown through their supervisors, so closing or killing the dashboard loses nothing.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from prompt_toolkit.application import Application
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import Layout, Window
from prompt_toolkit.output.color_depth import ColorDepth

from nono.config import NotifyConfig
from nono.mux import actions, layout, presets
from nono.mux import state as saved_state
from nono.mux.copying import Copying
from nono.mux.draw import Dashboard
from nono.mux.input import PENDING_WAIT, Input
from nono.mux.keymap import Keymap
from nono.mux.model import Model
from nono.mux.notify import Notifier
from nono.mux.render import row_skipping_renderer
from nono.mux.sessions import Sessions
from nono.mux.watch import RegistryWatch
from nono.session import registry
from nono.session.registry import Record

if TYPE_CHECKING:
    from nono.mux.hosts import HostLink, Hosts
    from nono.mux.pane import Pane

ESCAPE_WAIT = 0.05  # a lone Esc reaches the agent after this (tmux's escape-time is 500 ms)


class Mux:
    def __init__(
        self,
        keymap: Keymap,
        problems: list[str] | None = None,
        notify: NotifyConfig | None = None,
        hosts: Hosts | None = None,
    ) -> None:
        self.hosts = hosts  # the remote hosts shown too (mux/hosts.py); None: none
        self.screen_size = (80, 24)  # the terminal's, as last known
        self.model = Model(keymap.prefix_label, problems, self.invalidate, self._terminal_size)
        self.notifier = Notifier(notify or NotifyConfig(), self._write_raw, self.model.spawn,
                                 lambda text: self.model.say(text, alert=True))  # fmt: skip
        self.model.on_activity = self._activity_changed
        self.copying = Copying(self.model, self._write_raw)
        self.sessions = Sessions(self.model)
        self.input = Input(keymap, self.model, self.copying, self.act)
        self.focus_window = Window(height=0, always_hide_cursor=False)
        self.dashboard = Dashboard(
            self.model, self.focus_window, self.input.on_mouse, lambda: self.app.color_depth
        )
        self.app = self._build_app()
        self.parts = actions.Parts(self.model, self.sessions, self.copying, self.app, keymap)

    @property
    def detaching(self) -> bool:
        return self.model.detaching

    # ------------------------------------------------------------ the application

    def _build_app(self) -> Application[None]:
        kb = KeyBindings()

        # The handlers return NotImplemented so that prompt_toolkit does not redraw the whole
        # screen after every key: a key that changes what is shown invalidates by itself, and
        # a key for the agent shows when its echo arrives (measured: 24 ms -> 6 ms p50).
        @kb.add(Keys.Any)
        def _any(event: Any) -> object:
            for press in event.key_sequence:
                self.input.press(press)
            return NotImplemented

        @kb.add(Keys.BracketedPaste, eager=True)
        def _paste(event: Any) -> object:
            self.model.paste(event.data)
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
        # Before each frame (a SIGWINCH redraws too): the panes placed for the layout and the
        # terminal as they are now, and the supervisors told of new sizes. The Dashboard then
        # only draws.
        app.before_render += lambda _: self.model.relayout()
        return app

    def invalidate(self) -> None:
        self.app.invalidate()

    def act(self, name: str) -> None:
        actions.run(self.parts, name)

    def _terminal_size(self) -> tuple[int, int]:
        try:
            size = self.app.output.get_size()
            self.screen_size = (size.columns, size.rows)
        except Exception:
            pass
        return self.screen_size

    def _write_raw(self, data: str) -> None:
        self.app.output.write_raw(data)
        self.app.output.flush()

    async def run(
        self, initial: list[Record], saved: saved_state.Saved | None, focus_new: str | None = None
    ) -> None:
        """Show `initial` sessions laid out as `saved` (the last detach left); until detach."""
        model = self.model
        if self.hosts is not None:
            initial = [*initial, *await self._start_hosts(self.hosts, saved)]
        alive = {r.id for r in initial}
        tree = layout.prune(saved.tree, alive) if saved and saved.tree else None
        if saved and saved.tree and tree is not None:
            gone = set(layout.panes(saved.tree)) - alive
            if gone:
                model.startup_problems.append(
                    f"{len(gone)} saved pane(s) named sessions that no longer exist"
                )
        records = {r.id: r for r in initial}
        for record in initial:
            model.panes[record.id] = model.new_pane(record)
        width, height = model.area()
        if tree is None:
            ids = [r.id for r in sorted(initial, key=lambda r: r.created)]
            preset = saved.preset if saved and saved.preset else "tiled"
            tree = presets.preset(preset, ids, ids[0], width, height) if ids else None
            model.preset = preset if ids else None
        else:
            model.preset = saved.preset if saved else None
            for extra in [r.id for r in sorted(initial, key=lambda r: r.created)]:
                if extra not in layout.panes(tree):
                    tree = model.split_tree(tree, model.largest(tree), extra, True)
        model.tree = tree
        ids = layout.panes(tree)
        focus = focus_new or (saved.focus if saved else None)
        model.focus = focus if focus in ids else (ids[0] if ids else None)
        model.zoomed = bool(saved and saved.zoomed and not focus_new and model.focus)
        model.mark_focus()
        sizes = model.content_sizes()
        await asyncio.gather(*(model.panes[i].connect(*sizes.get(i, records[i].size))
                               for i in ids))  # fmt: skip
        if model.startup_problems:
            model.say(" · ".join(model.startup_problems), alert=True)
        if not ids:
            # Like tmux starting with a shell, but asking first: a session grants the directory.
            self.sessions.split(horizontal=True)
        model.refresh_records()
        self.notifier.records_changed(model.all_records, model.panes)  # what they are now
        model.save()
        watch = RegistryWatch(registry.sessions_dir(), self._registry_changed)
        try:
            with row_skipping_renderer():
                await self.app.run_async()
        finally:
            watch.close()

    async def _start_hosts(self, hosts: Hosts, saved: saved_state.Saved | None) -> list[Record]:
        """The hosts' links up (mux/hosts.py); their sessions to show at the start: the live
        ones and those the saved layout has. A host that cannot be reached is said, and the
        dashboard opens anyway and keeps trying."""
        hosts.on_change, hosts.on_back = self._hosts_changed, self._host_back
        model = self.model
        model.remote_records = hosts.records
        model.remote_of = hosts.of
        model.hosts_down = hosts.down
        model.host_names = list(hosts.links)
        model.find_remote = hosts.find
        await hosts.start()
        model.startup_problems.extend(hosts.down())
        in_layout = set(layout.panes(saved.tree)) if saved and saved.tree else set()
        hosts.expect(in_layout)
        return [r for r in hosts.records() if r.status != registry.EXITED or r.id in in_layout]

    def _hosts_changed(self) -> None:
        if self.app.is_running:
            self._registry_changed()

    def _host_back(self, host: HostLink) -> None:
        """A host's link is (back) up: its panes open their sessions again and redraw."""
        for pane in list(self.model.panes.values()):
            if pane.remote is host and pane.state == "disconnected":
                self.model.spawn(pane.reconnect())

    def _registry_changed(self) -> None:
        self.model.refresh_records()
        self.notifier.records_changed(self.model.all_records, self.model.panes)
        self.invalidate()
        if self.model.overlay is not None:
            self.model.overlay.registry_changed()

    def _activity_changed(self, pane: Pane) -> None:
        """A pane's agent changed state: a notice unless the person is looking at it."""
        if pane.doing is not None:
            looking = pane.id == self.model.focus
            self.notifier.changed(pane.id, pane.record.name, pane.doing_before, pane.doing,
                                  looking)  # fmt: skip

    def close(self) -> None:
        for pane in self.model.panes.values():
            pane.close()


__all__ = ["Mux"]
