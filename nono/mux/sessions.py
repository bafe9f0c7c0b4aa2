"""The dashboard's sessions: starting one for a split (through `nono run --detached`, so the
dashboard never owns an agent), restarting, stopping, showing and hiding them in panes.

Mixed into Mux (app.py), whose state it reads and changes.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any

from nono.mux import layout
from nono.mux.pane import Pane
from nono.mux.prompts import Overlay
from nono.session import registry
from nono.session.registry import Record


@dataclass
class NewSession:
    """What a split asks for: the defaults are a shell with the default profile, cwd granted."""

    profile: str = "default"
    workdir: str = field(default_factory=os.getcwd)
    command: str = field(default_factory=lambda: os.environ.get("SHELL") or "bash")


class SessionActions:
    """Panes and their sessions (a mixin of Mux)."""

    # Provided by Mux.
    panes: dict[str, Pane]
    tree: Any
    focus: str | None
    last_focus: str | None
    zoomed: bool
    copy_modes: dict[str, Any]
    overlay: Any
    sizes: dict[str, tuple[int, int]]
    all_records: list[Record]
    say: Any
    ask: Any
    save: Any
    spawn: Any
    set_focus: Any
    pane_changed: Any
    number: Any
    _area: Any
    _mark_focus: Any
    _refresh_records: Any
    _split_tree: Any
    _room_to_split: Any
    _content_sizes: Any

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
            self.tree = rename(self.tree, replace, record.id)
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


def rename(tree: layout.Node, old: str, new: str) -> layout.Node:
    if isinstance(tree, layout.Leaf):
        return layout.Leaf(new) if tree.pane == old else tree
    return layout.Split(
        tree.horizontal, tuple(rename(c, old, new) for c in tree.children), tree.weights
    )
