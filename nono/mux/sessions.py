"""The dashboard's sessions: starting one for a split (through `nono run --detached`, so the
dashboard never owns an agent), restarting, stopping, showing and hiding them in panes.

It changes the dashboard's state (model.py); actions.py calls it.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from nono.mux import layout
from nono.mux.hosts import LOCAL, host_of
from nono.mux.model import Model
from nono.mux.pane import Pane
from nono.mux.prompts import Overlay
from nono.session import registry
from nono.session.registry import EXITED, Record


@dataclass
class NewSession:
    """What a split asks for: the defaults are a shell with the default profile, cwd granted."""

    profile: str = "default"
    workdir: str = field(default_factory=os.getcwd)
    command: str = field(default_factory=lambda: os.environ.get("SHELL") or "bash")


class Sessions:
    """Panes and their sessions: split, close, stop, restart, attach."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def close_pane(self) -> None:
        """The pane goes; its session keeps running (it is still in the status bar)."""
        model = self.model
        tree = model.tree
        if model.focus is None or tree is None:
            return
        pane = model.panes.pop(model.focus)
        pane.close()
        model.copy_modes.pop(pane.id, None)
        ids = layout.panes(tree)
        index = ids.index(pane.id)
        try:
            model.tree = layout.remove(tree, pane.id, area=model.area())
        except layout.LayoutTooSmall:
            model.tree = layout.remove(tree, pane.id)
        rest = layout.panes(model.tree)
        model.zoomed = False
        model.focus = None
        if rest:
            target = (
                model.last_focus if model.last_focus in rest else rest[min(index, len(rest) - 1)]
            )
            model.focus = target
            model.mark_focus()
        model.refresh_records()
        model.save()
        if pane.state == "running":
            model.say(f"{pane.record.name} keeps running; show it again with attach-session")

    def stop(self) -> None:
        pane = self.model.panes.get(self.model.focus or "")
        if pane is None:
            return
        if pane.state not in ("running", "watching"):
            self.model.say(f"{pane.record.name} is not running", alert=True)
            return

        def answer(text: str) -> None:
            if text.strip().lower() in ("y", "yes"):
                self.model.spawn(self._stop(pane))

        self.model.ask(f"stop {pane.record.name}? (y/n) ", answer, single_key=True)

    async def _stop(self, pane: Pane) -> None:
        try:
            await pane.request("stop", timeout=20, wait=10)
        except (OSError, TimeoutError) as exc:
            self.model.say(f"stopping {pane.record.name}: {exc}", alert=True)

    def restart(self) -> None:
        pane = self.model.panes.get(self.model.focus or "")
        if pane is None:
            return
        if pane.state in ("running", "watching"):
            self.model.say(f"{pane.record.name} is still running; stop it first", alert=True)
            return
        if pane.remote is not None:
            self.model.say(f"{pane.record.name} is on another host: start a new one with a "
                           "split", alert=True)  # fmt: skip
            return
        run = pane.record.extra.get("run") if isinstance(pane.record.extra, dict) else None
        if not isinstance(run, dict):
            self.model.say(
                f"{pane.record.name} was not started in a way nono can repeat", alert=True
            )
            return
        options = [str(o) for o in run.get("options", [])]
        command = [str(c) for c in run.get("command", [])] or list(pane.record.command)
        cwd = str(run.get("cwd") or pane.record.workdir)
        problem = check_workdir(cwd)
        if problem:  # said before the old record is pruned: nothing goes for nothing
            self.model.say(f"{pane.record.name} cannot start again: {problem}: {cwd}", alert=True)
            return
        name = self._restart_name(pane.record)
        if name is not None:
            self._start(options, command, cwd, name=name, replace=pane.id)

    def _restart_name(self, old: Record) -> str | None:
        """The name a restart of `old` takes: its own, its exited record pruned first (the new
        session replaces it), or a fresh one when another session listed holds it; None when
        `old` turns out to be running (the pane had not heard yet)."""
        records, _ = registry.list_records()
        current = next((r for r in records if r.id == old.id), None)
        if current is not None and current.status != EXITED:
            self.model.say(f"{old.name} is still running; stop it first", alert=True)
            return None
        if current is not None:
            registry.remove(current)
        taken = {r.name for r in records if r.id != old.id}
        name, n = old.name, 2
        while name in taken:
            name, n = f"{old.name}-{n}", n + 1
        return name

    def split(self, horizontal: bool) -> None:
        if not self.model.room_to_split(horizontal):
            self.model.say("no space for a new pane here (zoom out, or close a pane)", alert=True)
            return
        defaults = NewSession()
        focused = self.model.panes.get(self.model.focus or "")
        here = host_of(focused.record) if focused is not None else None
        if focused is not None and here is None:
            defaults.workdir = focused.record.workdir
        answers: dict[str, str] = {}
        if self.model.host_names:
            # A host's profiles and directories are its own: not checked against this machine.
            def got_host(text: str) -> None:
                host = text.strip() or LOCAL
                if host == LOCAL:
                    self.model.ask("new pane profile: ", got_profile, defaults.profile,
                                   check=bad_profile)  # fmt: skip
                    return
                self._ask_remote(host, focused.record if here == host and focused else None,
                                 horizontal)  # fmt: skip

            def bad_host(text: str) -> str | None:
                host = text.strip() or LOCAL
                if host == LOCAL or host in self.model.host_names:
                    return None
                known = ", ".join([LOCAL, *self.model.host_names])
                return f"no host {host!r} here (hosts: {known})"

            self.model.ask("new pane host: ", got_host, here or LOCAL, check=bad_host)

        # Each answer is checked when given: a wrong one is named at its own prompt, which
        # stays with the text typed; the answers before it are kept. What `nono run` itself
        # refuses comes back to the command prompt, the command still there.
        def ask_command(text: str, problem: str = "") -> None:
            self.model.ask("command: ", got_command, text, check=check_command, problem=problem)

        def got_command(text: str) -> None:
            command = shlex.split(text.strip() or defaults.command)
            options = ["--profile", answers["profile"], "--allow-cwd"]
            self._start(options, command, answers["workdir"], horizontal=horizontal,
                        refused=lambda why: ask_command(text, why))  # fmt: skip

        def got_workdir(text: str) -> None:
            answers["workdir"] = workdir_of(text, defaults.workdir)
            ask_command(defaults.command)

        def got_profile(text: str) -> None:
            answers["profile"] = text.strip() or defaults.profile
            self.model.ask("directory: ", got_workdir, defaults.workdir, check=bad_workdir)

        def bad_workdir(text: str) -> str | None:
            path = workdir_of(text, defaults.workdir)
            problem = check_workdir(path)
            # The answer is on the line already; where it led, only if that is not the same.
            return f"{problem}: {path}" if problem and path != text.strip() else problem

        def bad_profile(text: str) -> str | None:
            return check_profile(text.strip() or defaults.profile)

        if not self.model.host_names:
            self.model.ask("new pane profile: ", got_profile, defaults.profile,
                           check=bad_profile)  # fmt: skip

    def _ask_remote(self, host: str, like: Record | None, horizontal: bool) -> None:
        """Profile, directory and command for a session on `host`, started there by its nono
        (`nono run --host`); its answers are that host's to check."""
        answers: dict[str, str] = {}
        workdir = like.workdir if like is not None and like.workdir else "~"
        command = os.environ.get("SHELL") or "bash"

        def got_profile(text: str) -> None:
            answers["profile"] = text.strip() or "default"
            self.model.ask(f"directory on {host}: ", got_workdir, workdir)

        def got_workdir(text: str) -> None:
            answers["workdir"] = text.strip() or workdir
            ask_command(command)

        def ask_command(text: str, problem: str = "") -> None:
            self.model.ask("command: ", got_command, text, check=check_command, problem=problem)

        def got_command(text: str) -> None:
            options = ["--host", host, "--profile", answers["profile"], "--workdir",
                       answers["workdir"], "--allow-cwd"]  # fmt: skip
            self._start(
                options,
                shlex.split(text.strip() or command),
                os.getcwd(),
                host=host,
                horizontal=horizontal,
                refused=lambda why: ask_command(text, why),
            )

        self.model.ask(f"profile on {host}: ", got_profile, "default")

    def _start(
        self,
        options: list[str],
        command: list[str],
        cwd: str,
        *,
        name: str | None = None,
        replace: str | None = None,
        horizontal: bool = True,
        refused: Callable[[str], None] | None = None,
        host: str | None = None,
    ) -> None:
        """Start a session with `nono run --detached` (`options` name `--host` for one on
        `host`); what it refuses is said, or given to `refused` (which asks again, keeping the
        answers)."""

        def fail(why: str) -> None:
            if refused is not None and self.model.prompt is None:
                refused(why)
            else:
                self.model.say(why, alert=True)

        problem = check_workdir(cwd)
        if problem:
            fail(f"{problem}: {cwd}")
            return
        width, height = self.model.area()
        size = self.model.sizes.get(replace or self.model.focus or "", (width, max(height - 1, 2)))
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
                fail(f"cannot start nono in {cwd}: {exc.strerror}")
                return
            if proc.returncode != 0:
                lines = err.decode(errors="replace").strip().splitlines() or ["failed"]
                fail(lines[-1])
                return
            session_id = out.decode().split()[0]
            if host is not None:  # its record from the host's own listing
                record = await self.model.find_remote(host, session_id)
                if record is None:
                    fail(f"the new session {session_id} is not listed by its host")
                    return
            else:
                record = registry.read_record(session_id)
            self.add_session(record, replace, horizontal)

        self.model.spawn(start())

    def add_session(
        self, record: Record, replace: str | None = None, horizontal: bool = True
    ) -> None:
        pane = self.model.new_pane(record)
        self.model.panes[record.id] = pane
        if (
            replace is not None
            and self.model.tree is not None
            and replace in layout.panes(self.model.tree)
        ):
            old = self.model.panes.pop(replace)
            old.close()
            self.model.copy_modes.pop(replace, None)
            self.model.tree = rename(self.model.tree, replace, record.id)
        else:
            self.model.tree = self.model.split_tree(
                self.model.tree, self.model.focus, record.id, horizontal
            )
            self.model.zoomed = False
        self.model.set_focus(record.id)
        self.model.refresh_records()
        sizes = self.model.content_sizes()
        self.model.spawn(pane.connect(*sizes.get(record.id, record.size)))
        self.model.save()

    def attach(self) -> None:
        self.choose_session("attach a session", lambda r: self.show_session(r, split=True))

    def next_session(self) -> None:
        self.model.refresh_records()
        hidden = [r for r in self.model.all_records if r.id not in layout.panes(self.model.tree)]
        if not hidden:
            self.model.say("every session is on screen")
            return
        self.show_session(hidden[0], split=self.model.focus is None)

    def show_session(self, record: Record, split: bool) -> None:
        if record.id in layout.panes(self.model.tree):
            self.model.set_focus(record.id)
            return
        if split or self.model.focus is None:
            self.add_session(self.model.reconcile(record))
        else:
            self.add_session(self.model.reconcile(record), replace=self.model.focus)

    def choose_session(self, title: str, chosen: Callable[[Record], None]) -> None:
        self.model.refresh_records()
        shown = set(layout.panes(self.model.tree))
        choices = [r for r in self.model.all_records if r.id not in shown]
        if not choices:
            self.model.say("every session is on screen")
            return
        lines = [
            f"{self.model.number(r.id)}:{r.name}  {r.state}  {' '.join(r.command)}" for r in choices
        ]
        self.model.overlay = Overlay(title, lines, on_choose=lambda i: chosen(choices[i]),
                               footer=" Enter choose, Esc cancel ")  # fmt: skip


# ---------------------------------------------------------------- the new pane's answers


def check_profile(name: str) -> str | None:
    """What is wrong with profile `name` (unknown, or a file nono cannot use), or None."""
    from nono.errors import NonoError
    from nono.sandbox import profile as profiles
    from nono.userfile import closest

    try:
        profiles.resolve(name)
    except NonoError as exc:
        if not exc.message.startswith("unknown profile"):
            return exc.one_line()
        known = list(profiles.available())
        close = closest(name, known)
        if close is not None:
            return f"no profile {name!r}: did you mean {close}?"
        return f"no profile {name!r} (profiles: {', '.join(known) or 'none'})"
    return None


def workdir_of(text: str, default: str) -> str:
    return os.path.abspath(os.path.expanduser(text.strip() or default))


def check_workdir(path: str) -> str | None:
    """What keeps a session from starting in `path`, or None."""
    if not os.path.exists(path):
        return "no such directory"
    if not os.path.isdir(path):
        return "not a directory"
    if not os.access(path, os.R_OK | os.X_OK):
        return "cannot enter this directory (permission denied)"
    return None


def check_command(text: str) -> str | None:
    try:
        shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        return f"cannot read the command: {str(exc).lower()}"
    return None


def rename(tree: layout.Node, old: str, new: str) -> layout.Node:
    if isinstance(tree, layout.Leaf):
        return layout.Leaf(new) if tree.pane == old else tree
    return layout.Split(
        tree.horizontal, tuple(rename(c, old, new) for c in tree.children), tree.weights
    )
