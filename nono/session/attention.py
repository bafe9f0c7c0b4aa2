"""The supervisor's side of its session's activity state: when to look (session/watch.py's
Watch decides what it is), and what a change does: the record, the clients that asked, the
`wait` requests, a rollback turn. Kept apart from the Supervisor, as its clients are
(serving.py): the PTY and the model change for other reasons than the state does."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any, Protocol

from nono.session import registry
from nono.session import rules as agent_rules
from nono.session.activity import (
    EXITED,
    IDLE,
    STARTING,
    STATES,
    WAITING,
    WORKING,
    Activity,
    clean_text,
)
from nono.session.protocol import ActivityChanged
from nono.session.watch import ECHO_WINDOW, START_GRACE, Watch, probe, read_notification

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sized

    from nono.net.egress_log import EgressRecord
    from nono.session.registry import Record
    from nono.session.serving import Clients
    from nono.term import TerminalModel

# The state is looked at this long after output, input or a resize (not again before the look
# is done, however much output comes): a prompt shows as `waiting` within a tenth of a second,
# and a flood costs twenty looks a second, never a look per read.
LOOK_DELAY = 0.05
# An agent can change its state as often as it is looked at (it says what it likes): the event
# log keeps at most one change a second (the record and the clients get every one), and turn
# snapshots are at least TURN_INTERVAL apart (each walks the tree and may keep new contents).
LOG_INTERVAL = 1.0
TURN_INTERVAL = 5.0
# A host:port refused again at least RETRY_GAP after its first refusal (within RETRY_WINDOW)
# is an agent retrying, maybe stuck: a claim of `waiting`. A single refusal is not.
RETRY_GAP, RETRY_WINDOW = 1.0, 60.0


class Watched(Protocol):
    """What the state needs of its session (the Supervisor is one)."""

    record: Record
    model: TerminalModel
    master: int
    fed: int
    clients: Clients
    exited: asyncio.Event
    exit_code: int | None

    @property
    def backlog(self) -> Sized: ...  # output the model has not taken yet
    def update(self, **changes: Any) -> None: ...
    async def caught_up(self) -> None: ...


class Attention:
    def __init__(self, session: Watched) -> None:
        self.session = session
        record = session.record
        try:
            kind_rules = agent_rules.load(record.agent)
        except Exception as exc:  # checked by `nono run`; an edit since must not stop the agent
            registry.log_event(record.id, "agent-rules-failed", error=str(exc))
            kind_rules = agent_rules.AgentRules(record.agent or "default")
        self.watch = Watch(kind_rules, time.monotonic())
        self.look_timer: asyncio.TimerHandle | None = None
        self.look_at = 0.0  # loop time the look timer fires at
        self.bells_seen = 0
        # The screen's rows as of the last look, and what the model had taken then.
        self.screen_seen: tuple[tuple[int, int, int] | None, list[str]] = (None, [])
        # `wait` requests not answered yet: (state or None, compiled pattern or None, future).
        self.waits: list[tuple[str | None, re.Pattern[str] | None, asyncio.Future]] = []
        self.turn_task: asyncio.Task | None = None  # a turn's rollback snapshot being taken
        self.turn_again = False  # another turn ended while it was being taken
        self.logged_at = 0.0  # when an activity change was last written to the event log
        self.unlogged = 0  # changes since then that were not
        self.denial: EgressRecord | None = None  # the last refused retry not looked at
        self.refused_at: dict[tuple[str, int], float] = {}  # first refusal of each host:port

    # ------------------------------------------------------------ what happened

    def output(self, size: int) -> None:
        """Output came from the PTY (one call per read, not per byte)."""
        now = asyncio.get_running_loop().time()
        self.watch.output(now, size)
        # A look due later (a quiet spell's) is brought forward: a prompt printed right after
        # other output is seen now, not when the quiet spell would have ended.
        if self.look_timer is None or self.look_at > now + LOOK_DELAY:
            self.schedule_look(LOOK_DELAY)

    def begin(self) -> None:
        """The first look, when the start's grace ends: an agent that writes nothing (a silent
        build, a `sleep`) would otherwise never be looked at, and stay `starting` for good."""
        self.schedule_look(max(0.0, self.watch.started + START_GRACE - time.monotonic()))

    def network_denied(self, record: EgressRecord) -> None:
        """The egress proxy refused a connection. Once is a side call given up (Codex's and
        Claude's release checks are refused at every start and mid-turn); the same host and
        port refused again RETRY_GAP or more after the first is an agent trying again, stuck
        on it until the person decides (allows the host, or answers the agent). That is said
        as a claim, with an agent's own rules (it holds until the person types, or the agent
        goes on writing for 3 s; see Watch.refused for when it counts), made at the next
        look: a retry loop's hundred denials are one claim per look, the latest."""
        now = asyncio.get_running_loop().time()
        key = (record.host, record.port)
        first = self.refused_at.get(key)
        if first is None or now - first > RETRY_WINDOW:
            if len(self.refused_at) >= 1000:  # an agent trying a thousand hosts: start over
                self.refused_at.clear()
            self.refused_at[key] = now
            return
        if now - first < RETRY_GAP:
            return
        self.denial = record
        self.schedule_look(LOOK_DELAY)  # unless one is due sooner

    def typed(self) -> None:
        self.denial = None  # a refusal before the person typed is answered too
        self.watch.input(asyncio.get_running_loop().time())
        self.schedule_look(ECHO_WINDOW)

    def resized(self) -> None:
        self.watch.resized(asyncio.get_running_loop().time())
        self.schedule_look(ECHO_WINDOW)

    async def ended(self) -> None:
        """The agent exited: no more looks, and a turn snapshot being taken is let finish
        (the final snapshot comes after it: one writer at a time)."""
        if self.look_timer is not None:
            self.look_timer.cancel()
            self.look_timer = None
        if self.turn_task is not None:
            with contextlib.suppress(Exception):
                await self.turn_task

    def exited(self, ended: float, code: int | None) -> Activity:
        """The last state, told to the clients that hear it; the caller records it with the
        exit, then answers the waits (end_waits)."""
        activity = self.watch.exited(ended, code)
        changed = ActivityChanged(activity.to_json()).encode()
        for client in list(self.session.clients):
            if client.hears_activity:
                client.queue(changed)
        return activity

    def schedule_look(self, delay: float) -> None:
        """Look at the state `delay` from now, unless a look is due sooner."""
        loop = asyncio.get_running_loop()
        at = loop.time() + delay
        if self.look_timer is not None:
            if self.look_at <= at:
                return
            self.look_timer.cancel()
        self.look_at = at
        self.look_timer = loop.call_at(at, self.look)

    def look(self) -> None:
        self.look_timer = None
        session, model, watch = self.session, self.session.model, self.watch
        if session.exited.is_set():
            return
        now = asyncio.get_running_loop().time()
        for code, payload in model.take_notifications():
            said = read_notification(code, payload, watch.rules)
            if said is not None:
                watch.said(now, *said)
            elif code == "9" and payload.startswith("4;"):
                watch.progress_done()
        if self.denial is not None:
            watch.refused(now, blocked_reason(self.denial))
            self.denial = None
        if model.bells > self.bells_seen:
            self.bells_seen = model.bells
            watch.bell(now)
        key = (session.fed, model.cols, model.rows)
        if key != self.screen_seen[0]:  # rows read again only when the model took output
            self.screen_seen = (key, model.screen_lines())
        lines = self.screen_seen[1]
        before = watch.activity
        changed = watch.look(now, time.time(), lines, model.cursor[1], probe(session.master))
        if changed is not None:
            self.changed(before, changed)
        if self.waits:
            self.check_waits(lines)
        if session.backlog:  # the model is behind: what it has not seen may change the answer
            self.schedule_look(LOOK_DELAY)
        elif (due := watch.next_look(now)) is not None:
            self.schedule_look(max(due - now, 0.0) + 0.01)

    @property
    def activity(self) -> Activity:
        return self.watch.activity

    def changed(self, before: Activity, activity: Activity) -> None:
        """What a change does: the record, the event log, the clients, a turn's snapshot."""
        self.session.update(activity=activity.to_json())
        now = time.monotonic()
        if now - self.logged_at >= LOG_INTERVAL:
            extra = {"unlogged": self.unlogged} if self.unlogged else {}
            registry.log_event(self.session.record.id, "activity", **activity.to_json(), **extra)
            self.logged_at, self.unlogged = now, 0
        else:
            self.unlogged += 1
        frame = ActivityChanged(activity.to_json()).encode()
        for client in self.session.clients:
            if client.hears_activity:
                client.queue(frame)
        # A turn ends where the agent stops for the person; one that wrote files while it was
        # still starting is a turn too (a snapshot of no change keeps nothing).
        if (self.session.record.rollback_id and before.state in (STARTING, WORKING)
                and activity.state in (WAITING, IDLE)):  # fmt: skip
            self.turn_ended()

    def turn_ended(self) -> None:
        """A turn's work is done: snapshot it (in a thread: a big tree takes a while), one at
        a time; a turn that ends while one is taken is taken after it."""
        if self.turn_task is not None and not self.turn_task.done():
            self.turn_again = True
            return
        self.turn_task = asyncio.get_running_loop().create_task(self.turn_snapshots())

    async def turn_snapshots(self) -> None:
        session = self.session
        rollback_id = session.record.rollback_id
        assert rollback_id is not None
        while True:
            self.turn_again = False
            started = time.monotonic()
            try:
                info = await asyncio.to_thread(_turn_snapshot, rollback_id)
            except Exception as exc:  # a full disk loses this turn, never the session
                registry.log_event(self.session.record.id, "rollback-turn-failed", error=str(exc))
            else:
                if info is not None:
                    registry.log_event(session.record.id, "rollback-turn", rollback=rollback_id,
                                       index=info.index, files=info.files)  # fmt: skip
            if not self.turn_again or self.session.exited.is_set():
                return
            # Turns that end faster than this are one turn to undo.
            with contextlib.suppress(TimeoutError):
                rest = TURN_INTERVAL - (time.monotonic() - started)
                await asyncio.wait_for(self.session.exited.wait(), max(rest, 0.0))
            if self.session.exited.is_set():
                return

    async def wait_for(self, state: str | None, pattern: str | None) -> dict[str, Any]:
        """A `wait` request's answer, once the session is in `state` or its screen matches
        `pattern` (or it exited first)."""
        if state is not None and state not in STATES:
            return {"ok": False, "error": f"unknown state {state!r} (one of {', '.join(STATES)})"}
        try:
            regex = re.compile(pattern) if pattern else None
        except re.error as exc:
            return {"ok": False, "error": f"bad pattern {pattern!r}: {exc}"}
        await self.session.caught_up()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.waits.append((state, regex, future))
        self.check_waits(self.session.model.screen_lines())
        if self.session.exited.is_set():
            self.end_waits()
        try:
            return await future
        finally:
            self.waits = [w for w in self.waits if w[2] is not future]

    def check_waits(self, lines: list[str]) -> None:
        for state, regex, future in self.waits:
            if future.done():
                continue
            if state is not None and self.activity.state == state:
                future.set_result(self.wait_answer("state"))
            elif regex is not None:
                for y, line in enumerate(lines):
                    if regex.search(line):
                        future.set_result(self.wait_answer("pattern", y, line))
                        break

    def end_waits(self) -> None:
        for state, _, future in self.waits:
            if not future.done():
                future.set_result(self.wait_answer("state" if state == EXITED else "exited"))

    def wait_answer(self, reached: str, row: int | None = None, text: str | None = None) -> dict:
        return {"ok": True, "reached": reached, "activity": self.activity.to_json(),
                "exit_code": self.session.exit_code, "row": row, "text": text}  # fmt: skip


def blocked_reason(record: EgressRecord) -> str:
    """`blocked: network: HOST:PORT denied (rule R)`: the rule that refused it, or why (no
    rule allowed it, an address refused). The host is normalised by the proxy; cleaned anyway."""
    where = (
        f"[{record.host}]:{record.port}" if ":" in record.host else f"{record.host}:{record.port}"
    )
    if record.rule and record.error == f"denied by rule {record.rule}":
        why = f"rule {record.rule}"
    else:
        why = record.error or "no rule allows it"
    return clean_text(f"blocked: network: {where} denied ({why})")


def _turn_snapshot(rollback_id: str) -> Any:
    from nono.rollback import Rollback

    return Rollback.open(rollback_id).turn_snapshot()
