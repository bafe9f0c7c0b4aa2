"""Telling the person that a session they are not looking at needs them: the outer terminal's
bell, a desktop notification through the terminal (OSC 9 and OSC 777;notify), and a command of
their choosing ([notify] in config.toml).

What deserves a notice is a pure decision (notice_for); the Notifier keeps the one piece of
state it needs (what each session was last noticed for) so a state change is said once, however
many ways the dashboard hears of it (the pane's ACTIVITY frame, the registry's record).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nono.config import NotifyConfig
from nono.session.activity import EXITED, IDLE, WAITING, WORKING, Activity, clean_text
from nono.session.registry import Record

BEL = "\x07"
# The state is what the agent says: one that flips between working and waiting as fast as it
# is looked at would ring and pop a desktop notice ten times a second. A session is noticed
# at most this often, and its command is not run again while the last one still runs.
NOTICE_INTERVAL = 3.0


@dataclass(frozen=True)
class Notice:
    session: str  # the session's name
    state: str  # waiting, idle or exited
    reason: str  # what the supervisor said decided it (agent-written text: cleaned)

    @property
    def text(self) -> str:
        """One line: `alpha waiting: Proceed? [y/N]`."""
        head = f"{self.session} {self.state}"
        return f"{head}: {self.reason}" if self.reason else head


def notice_for(name: str, old: Activity | None, new: Activity) -> Notice | None:
    """A notice when a session starts waiting, or its turn ends (idle or exited after working);
    None for every other change, and for the first state heard (nothing changed then)."""
    if old is None or old.state == new.state:
        return None
    if new.state == WAITING or (new.state in (IDLE, EXITED) and old.state == WORKING):
        return Notice(clean_text(name, 60), new.state, clean_text(new.reason))
    return None


def terminal_bytes(notice: Notice, bell: bool, desktop: bool) -> str:
    """What the outer terminal is sent. The text goes through clean_text (no control character
    can end the sequence early or start another); OSC 777 separates its fields with `;`, so
    none is left in its body. OSC 9's text starts with `nono: `: a text starting with digits
    and `;` would be a ConEmu command (9;4 is a progress bar) to the terminal."""
    out = []
    if desktop:
        text = clean_text(notice.text)
        out.append(f"\x1b]9;nono: {text}{BEL}")
        out.append(f"\x1b]777;notify;nono;{text.replace(';', ' ')}{BEL}")
    if bell:
        out.append(BEL)
    return "".join(out)


class Notifier:
    """Says each notice once per session and state change, to the terminal and the command."""

    def __init__(
        self,
        config: NotifyConfig,
        write: Callable[[str], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        say: Callable[[str], None],
    ) -> None:
        self.config = config
        self.write = write  # raw bytes to the outer terminal
        self.spawn = spawn  # runs the command beside the dashboard
        self.say = say  # a problem with the command, in the status bar
        self.said: dict[str, tuple[str, float]] = {}  # session id -> (state, since) noticed
        self.records: dict[str, Activity] = {}  # session id -> activity its record had
        self.noticed_at: dict[str, float] = {}  # session id -> when it was last noticed
        self.running: set[str] = set()  # sessions whose command has not finished

    def changed(self, session_id: str, name: str, old: Activity | None, new: Activity,
                looking: bool) -> None:  # fmt: skip
        """A session's activity went from `old` to `new`; `looking`: its pane is focused."""
        notice = notice_for(name, old, new)
        key = (new.state, new.since)
        if notice is None or looking or self.said.get(session_id) == key:
            return
        self.said[session_id] = key
        now = time.monotonic()
        if now - self.noticed_at.get(session_id, -NOTICE_INTERVAL) < NOTICE_INTERVAL:
            return
        self.noticed_at[session_id] = now
        data = terminal_bytes(notice, self.config.bell, self.config.desktop)
        if data:
            self.write(data)
        if self.config.command and session_id not in self.running:
            self.running.add(session_id)
            self.spawn(self._run(session_id, notice))

    def records_changed(self, records: Iterable[Record], shown: Mapping[str, object]) -> None:
        """Sessions not in a pane are heard of through their records (the supervisor writes
        each change there): compare each with what its record said before."""
        seen: dict[str, Activity] = {}
        for record in records:
            new = Activity.from_json(record.activity)
            if new is None:
                continue
            seen[record.id] = new
            if record.id not in shown:
                self.changed(record.id, record.name, self.records.get(record.id), new, False)
        self.records = seen

    async def _run(self, session_id: str, notice: Notice) -> None:
        try:
            await self._command(notice)
        finally:
            self.running.discard(session_id)

    async def _command(self, notice: Notice) -> None:
        # An argv, never a shell line: the reason is the agent's text. It is one argument
        # (notify-send's body) and in the environment for a script that wants the parts.
        argv = [*self.config.command, notice.text]
        env = {**os.environ, "NONO_SESSION": notice.session, "NONO_STATE": notice.state,
               "NONO_REASON": notice.reason}  # fmt: skip
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            self.say(f"[notify] command {argv[0]}: {exc.strerror or exc}")
            return
        await proc.wait()
