"""The dashboard's remote hosts: one link (remote/link.py) per host, shared by every pane of
that host, kept up by reconnecting with backoff; the host's sessions as records the dashboard
lists beside its own, named `HOST:NAME`.

Everything a host sends is untrusted: its listing comes cleaned (remote/listing.py), a record
from a supervisor there (a pane's WELCOME) is rebuilt here field by field and cleaned, and
nothing received is ever run. A link lost is a hang-up on every channel: the host's panes say
`disconnected` and are opened again, redrawn from their supervisors, once the link is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from nono.errors import NonoError
from nono.session.activity import Activity, clean_text
from nono.session.registry import EXITED, RUNNING, STARTING, Record

# A dashboard without hosts imports this module for host_of and LOCAL only: the link's modules
# are imported when a host is shown, and annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from nono.remote.hosts import Host
    from nono.remote.link import Link
    from nono.session.connection import Connection

FIRST_RETRY, LAST_RETRY = 1.0, 30.0  # seconds between attempts, doubling, reset on success
LIST_EVERY = 1.5  # the host's session list is read this often while its link is up
STARTUP_WAIT = 5.0  # the dashboard opens after this even if a host has not answered yet
DISCONNECTED = "disconnected"
LOCAL = "local"  # the host column's word for this machine's sessions
_NUMBER_LIMIT = 1 << 31
_ID = re.compile(r"^[0-9a-f]{1,64}$")  # a session id, as remote/listing.py checks it


def session_id(host: str, remote_id: str) -> str:
    """A remote session's id in the dashboard: never the same as a local one's (no colon)."""
    return f"{host}:{remote_id}"


def host_of(record: Record) -> str | None:
    """The host a record's session runs on; None for this machine's."""
    host = record.extra.get("host") if isinstance(record.extra, dict) else None
    return host if isinstance(host, str) else None


def remote_record(host: str, data: dict[str, Any]) -> Record:
    """A record for a session on `host` from what that host said (a listing entry or a
    supervisor's record): untrusted, so each field is checked and each string cleaned; the
    name shown is `HOST:NAME`."""

    def text(key: str, default: str = "") -> str:
        value = data.get(key)
        return clean_text(value) if isinstance(value, str) else default

    def number(key: str) -> int | None:
        value = data.get(key)
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < _NUMBER_LIMIT
        return value if ok else None

    rid = data.get("id")
    rid = rid if isinstance(rid, str) and _ID.match(rid) else "?"
    command = data.get("command")
    argv = (
        tuple(clean_text(a) for a in command if isinstance(a, str))
        if isinstance(command, list)
        else ()
    )
    status = data.get("status")
    status = status if status in (STARTING, RUNNING, EXITED) else RUNNING
    created = data.get("created")
    size = data.get("size")
    cols_rows = (80, 24)
    if isinstance(size, list) and len(size) == 2 and all(isinstance(n, int) for n in size):
        cols_rows = (min(max(size[0], 2), 1000), min(max(size[1], 2), 500))
    activity = Activity.from_json(data.get("activity"))  # cleans what it keeps
    from nono.remote.listing import egress_counts  # the same strict reading as ps --host's

    return Record(
        id=session_id(host, rid), name=f"{host}:{text('name') or rid}", command=argv,
        workdir=text("workdir"), profile=text("profile") or None, network="", sandbox={},
        created=float(created) if isinstance(created, int | float) and math.isfinite(created)
        else 0.0,
        supervisor_pid=0, supervisor_start=0.0, socket="", status=status,
        exit_code=number("exit_code"), attached=number("attached") or 0, size=cols_rows,
        activity=activity.to_json() if activity else None,
        egress=egress_counts(data.get("egress")),
        extra={"host": host, "remote_id": rid},
    )  # fmt: skip


class HostLink:
    """One host as the dashboard holds it: its link (None while down), why it is down, and its
    sessions as last listed. Its Hosts is told when any of that changes."""

    def __init__(self, host: Host, hosts: Hosts) -> None:
        self.host = host
        self.name = host.name
        self.hosts = hosts
        self.link: Link | None = None
        self.reason = "connecting"  # why there is no link, while there is none
        self.records: list[Record] = []
        self.tried = asyncio.Event()  # the first attempt has ended, either way
        self.task: asyncio.Task[None] | None = None

    @property
    def lost(self) -> str | None:
        """Why this host's sessions cannot be reached now; None while its link is up."""
        if self.link is None:
            return self.reason
        return self.link.lost

    async def channel(self, remote_id: str) -> Connection:
        """A Connection to one of this host's sessions (OSError while the link is down)."""
        link = self.link
        if link is None or link.lost is not None:
            raise OSError(self.lost or DISCONNECTED)
        return await link.channel(remote_id, timeout=10)

    def adopt(self, data: dict[str, Any], record: Record) -> Record:
        """`record` as its supervisor now says it is (a WELCOME's record), cleaned; its id
        stays the one the dashboard knows it by, whatever the host says."""
        return replace(remote_record(self.name, data), id=record.id, extra=record.extra)

    def current(self, record: Record) -> Record | None:
        """The host's latest word on `record`'s session (None: not listed, or not known)."""
        return next((r for r in self.records if r.id == record.id), None)

    # ------------------------------------------------------------ keeping the link up

    async def run(self) -> None:
        from nono.remote.link import Link

        retry = FIRST_RETRY
        while True:
            try:
                self.link = await Link.open(self.host, timeout=20)
            except NonoError as exc:
                self._down(exc.message)
                await asyncio.sleep(retry)
                retry = min(retry * 2, LAST_RETRY)
                continue
            retry = FIRST_RETRY
            await self.relist()
            self.tried.set()
            self.hosts.on_back(self)
            self.hosts.on_change()
            link = self.link
            await self._listen(link)
            self.link = None
            self._down(link.lost or "link lost")
            with contextlib.suppress(Exception):
                await link.close()  # ssh is gone or going: reap it
            await asyncio.sleep(FIRST_RETRY)

    async def _listen(self, link: Link) -> None:
        """While the link is up: its session list read every LIST_EVERY seconds."""
        assert link.reader_task is not None
        while not link.reader_task.done():
            await asyncio.wait({link.reader_task}, timeout=LIST_EVERY)
            if link.lost is None and not link.reader_task.done():
                await self.relist()

    async def relist(self) -> None:
        link = self.link
        if link is None:
            return
        try:
            listed = await link.sessions(timeout=10)
        except NonoError:
            return  # a lost link is seen by _listen; a bad answer keeps the last list
        records = [remote_record(self.name, row.entry) for row in listed]
        # ps lists newest first: the status bar numbers a host's sessions oldest first.
        records.reverse()
        if [(r.id, r.status, r.activity, r.egress) for r in records] != [
            (r.id, r.status, r.activity, r.egress) for r in self.records
        ]:
            self.records = records
            self.hosts.on_change()

    def _down(self, why: str) -> None:
        # ssh's and the relay's words, already cleaned by the link; bounded for the status bar.
        why = why.removeprefix(f"host {self.name}: ")  # the status bar names the host
        self.reason = clean_text(why, 200)
        self.records = [
            r if r.status == EXITED else _disconnected(r) for r in self.records
        ]  # fmt: skip
        self.tried.set()
        self.hosts.on_change()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        link, self.link = self.link, None
        if link is not None:
            await link.close()


def _disconnected(record: Record) -> Record:
    return replace(record, status=DISCONNECTED, activity=None)


class Hosts:
    """Every host the dashboard shows, each with its HostLink. `on_change`: a host's link or
    sessions changed; `on_back`: a host's link is (back) up, its panes may open again."""

    def __init__(self, hosts: Iterable[Host]) -> None:
        self.links = {h.name: HostLink(h, self) for h in hosts}
        self.on_change: Callable[[], None] = lambda: None
        self.on_back: Callable[[HostLink], None] = lambda host: None

    async def begin(self) -> None:
        """Start every link at once. Each ssh is started before this returns (its first step
        forks it), so it connects while the dashboard loads."""
        for host in self.links.values():
            if host.task is None:
                host.task = asyncio.ensure_future(host.run())
        await asyncio.sleep(0)

    async def start(self, wait: float = STARTUP_WAIT) -> None:
        """Return when each link has answered or failed once (or after `wait`: a host that
        says nothing is shown as connecting, the others are usable)."""
        await self.begin()
        waits = [asyncio.ensure_future(h.tried.wait()) for h in self.links.values()]
        if waits:
            await asyncio.wait(waits, timeout=wait)
        for waiting in waits:
            waiting.cancel()

    def records(self) -> list[Record]:
        return [r for host in self.links.values() for r in host.records]

    def expect(self, pane_ids: Iterable[str]) -> None:
        """The saved layout's panes on hosts not reached yet are kept, as disconnected
        sessions (their names are the ids until the host says more), so a host that is down
        when the dashboard opens does not lose its panes from the layout; they open when the
        link comes up (a session that ended meanwhile then says so in its pane)."""
        known = {r.id for r in self.records()}
        for pane_id in pane_ids:
            name, colon, rid = pane_id.partition(":")
            host = self.links.get(name)
            if host is None or not colon or host.lost is None:
                continue  # not a host's pane, or its host is up and listed what it has
            if _ID.match(rid) and pane_id not in known:
                host.records.append(_disconnected(remote_record(name, {"id": rid})))

    def of(self, record: Record) -> HostLink | None:
        host = host_of(record)
        return self.links.get(host) if host is not None else None

    async def find(self, host: str, remote_id: str) -> Record | None:
        """A session just started on `host`, from the host's listing read again now."""
        link = self.links.get(host)
        if link is None:
            return None
        await link.relist()
        return next((r for r in link.records if r.id == session_id(host, remote_id)), None)

    def down(self) -> list[str]:
        """`HOST disconnected: why` for each host without a link, for the status bar."""
        return [f"{h.name} connecting" if h.lost == "connecting"
                else f"{h.name} {DISCONNECTED}: {h.lost}"
                for h in self.links.values() if h.lost is not None]  # fmt: skip

    async def close(self) -> None:
        await asyncio.gather(*(h.close() for h in self.links.values()))
