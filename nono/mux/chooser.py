"""The session chooser (choose-session, tmux's choose-tree): every session, running or exited,
the ones waiting for the person first, with its state, profile, host, last screen line and
rollback change count; the one picked opens in a pane, or is swapped into the focused one.

The list is drawn at once from the records; the last lines and change counts come in as they
are read (a capture request to each live supervisor, the final screen file of an exited one,
the rollback's manifests), so a slow or hung session never holds the dashboard up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from nono.errors import NonoError
from nono.mux import layout
from nono.mux.hosts import LOCAL, host_of
from nono.mux.model import Model
from nono.mux.prompts import Overlay, text_width
from nono.mux.sessions import Sessions, rename
from nono.session import registry
from nono.session.activity import WAITING, Activity, clean_text
from nono.session.registry import EXITED, Record

CAPTURE_TIMEOUT = 3.0  # a supervisor that does not answer by then shows no last line
NAME_WIDTH, STATE_WIDTH, PROFILE_WIDTH = 20, 12, 14
PENDING = "…"  # a value still being read
HELP = " ↑↓ jk move · Enter open · s/Tab swap in · type to filter (/ for j k q s) · q/Esc close "


@dataclass(frozen=True)
class Entry:
    """One session as the chooser lists it."""

    record: Record
    state: str  # `waiting 3m`, `working`, `exited(0)`; the record's status without an activity
    waiting_since: float | None  # when it started waiting, for the order


def entry(record: Record, now: float) -> Entry:
    activity = Activity.from_json(record.activity)
    if activity is None or (record.status == EXITED and activity.state != "exited"):
        # A record from before activity, or one whose supervisor died mid-state.
        return Entry(record, record.state, None)
    waiting = activity.since if activity.state == WAITING else None
    return Entry(record, activity.label(now, record.exit_code), waiting)


def ordered(records: list[Record], now: float) -> list[Entry]:
    """Grouped by host (this machine's first, then each host in the order given); in each,
    waiting sessions first, the one waiting longest on top; then the live ones, then the
    exited ones, each in the order they were started (the status bar's numbers)."""
    entries = [entry(r, now) for r in records]
    hosts = list(dict.fromkeys(host_of(r) for r in records if host_of(r) is not None))

    def key(e: Entry) -> tuple[int, int, float]:
        host = host_of(e.record)
        group = 0 if host is None else 1 + hosts.index(host)
        if e.waiting_since is not None:
            return (group, 0, e.waiting_since)
        return (group, 1 if e.record.status != EXITED else 2, e.record.created)

    return sorted(entries, key=key)


def last_line(text: str) -> str:
    """The last line with something on it, safe to print (it is the agent's output)."""
    for line in reversed(text.splitlines()):
        cleaned = clean_text(line)
        if cleaned:
            return cleaned
    return ""


def matches(name: str, typed: str) -> bool:
    return typed.lower() in name.lower()


def _cut(text: str, width: int) -> str:
    if text_width(text) <= width:
        return text + " " * (width - text_width(text))
    out = ""
    for ch in text:
        if text_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…" + " " * (width - 1 - text_width(out))


Widths = tuple[int, int, int, int]  # name, state, profile, host


def heading(widths: Widths) -> str:
    name_w, state_w, profile_w, host_w = widths
    return (f"  {_cut('NAME', name_w)} {_cut('STATE', state_w)} {_cut('PROFILE', profile_w)} "
            f"{_cut('HOST', host_w)} {'CHANGES':>7}  LAST LINE")  # fmt: skip


def row(e: Entry, mark: str, widths: Widths, last: str, changes: str) -> str:
    """One line: mark (`*` the focused pane's session, `+` one in a pane), name, state,
    profile, host, rollback changes, last screen line."""
    name_w, state_w, profile_w, host_w = widths
    r = e.record
    return (f"{mark:<1} {_cut(r.name, name_w)} {_cut(e.state, state_w)} "
            f"{_cut(r.profile or 'default', profile_w)} {_cut(host_of(r) or LOCAL, host_w)} "
            f"{changes:>7}  {last}")  # fmt: skip


def widths(entries: list[Entry]) -> Widths:
    def widest(values: list[str], floor: int, cap: int) -> int:
        return min(max([floor, *(text_width(v) for v in values)]), cap)

    return (
        widest([e.record.name for e in entries], 4, NAME_WIDTH),
        widest([e.state for e in entries], 5, STATE_WIDTH),
        widest([e.record.profile or "default" for e in entries], 7, PROFILE_WIDTH),
        widest([host_of(e.record) or LOCAL for e in entries], len(LOCAL), NAME_WIDTH),
    )


class Chooser(Overlay):
    """The list, its filter and what was picked. Keys: see HELP."""

    full_screen = True

    def __init__(
        self,
        entries: list[Entry],
        marks: dict[str, str],
        open_: Callable[[Record], None],
        swap: Callable[[Record], None],
    ) -> None:
        super().__init__("sessions", [], on_choose=self._chosen, footer=HELP)
        self.entries = entries
        self.marks = marks  # session id -> `*` or `+`
        self.open_, self.swap = open_, swap
        self.on_registry_change: Callable[[], None] = lambda: None  # choose() sets it
        self.widths = widths(entries)
        self.heading = heading(self.widths)
        self.last: dict[str, str] = {}  # session id -> its last screen line, once read
        self.changes: dict[str, str] = {}  # session id -> rollback change count, once read
        self.typed = ""
        self.filtering = False
        self.swapping = False
        self.shown: list[Entry] = []
        self.refresh()

    def refresh(self) -> None:
        """The lines again, from the filter and what has been read so far."""
        picked = (
            self.shown[self.selected].record.id if 0 <= self.selected < len(self.shown) else None
        )
        self.shown = [e for e in self.entries if matches(e.record.name, self.typed)]
        self.lines = [
            row(e, self.marks.get(e.record.id, ""), self.widths,
                self.last.get(e.record.id, PENDING),
                "-" if not e.record.rollback_id else self.changes.get(e.record.id, PENDING))
            for e in self.shown
        ]  # fmt: skip
        if not self.lines:
            self.lines = [f"  no session's name contains {self.typed!r}"]
        ids = [e.record.id for e in self.shown]
        self.selected = ids.index(picked) if picked in ids else 0
        self.top = min(self.top, self.selected)
        count = f"{len(self.shown)} of {len(self.entries)}" if self.typed else len(self.entries)
        typed = f" · filter: {self.typed}_" if self.filtering else ""
        self.title = f"sessions ({count}){typed}"

    def key(self, key: str, page: int) -> bool:
        if key in ("c-c", "c-g"):
            return True
        if key == "escape":
            if not self.filtering:
                return True
            self.typed, self.filtering = "", False  # the first Esc drops the filter
            self.refresh()
            return False
        if key in ("c-m", "c-j", "c-i") or (key == "s" and not self.filtering):
            if not self.shown:
                return False
            self.swapping = key in ("c-i", "s")
            self.chosen = self.selected
            return True
        if key == "c-h":
            if self.typed:
                self.typed = self.typed[:-1]
            else:
                self.filtering = False
            self.refresh()
            return False
        if key == "c-u" and self.filtering:
            self.typed = ""
            self.refresh()
            return False
        if not self.filtering and key in ("q", "j", "k"):
            if key == "q":
                return True
            return super().key(key, page)
        if not self.filtering and key == "/":
            self.filtering = True
            self.refresh()
            return False
        if len(key) == 1 and key.isprintable():
            self.filtering = True
            self.typed += key
            self.refresh()
            return False
        if not self.shown:
            return False
        return super().key(key, page)

    def registry_changed(self) -> None:
        self.on_registry_change()

    def _chosen(self, index: int) -> None:
        record = self.shown[index].record
        (self.swap if self.swapping else self.open_)(record)


# ---------------------------------------------------------------- opening it


def choose(model: Model, sessions: Sessions) -> None:
    """Open the chooser over the dashboard, and start reading what it shows."""
    records = model.every_record()
    if not records:
        model.say("no sessions yet: split (prefix %) to start one")
        return
    on_screen = layout.panes(model.tree)
    marks = {pid: ("*" if pid == model.focus else "+") for pid in on_screen}
    chooser = Chooser(ordered(records, time.time()), marks,
                      lambda r: sessions.show_session(r, split=True),
                      lambda r: swap_in(model, sessions, r))  # fmt: skip
    chooser.on_registry_change = lambda: _relist(model, chooser)
    model.overlay = chooser
    _read(model, chooser, chooser.entries)
    model.invalidate()


def _read(model: Model, chooser: Chooser, entries: list[Entry]) -> None:
    for e in entries:
        model.spawn(_read_last(model, chooser, e.record))
        if e.record.rollback_id:
            model.spawn(_read_changes(model, chooser, e.record))


def _relist(model: Model, chooser: Chooser) -> None:
    """The records again (a state changed, a session started or ended): what is new or has
    ended since is read again; the filter and the selection stay."""
    records = model.every_record()
    before = {e.record.id: e.record.status for e in chooser.entries}
    chooser.entries = ordered(records, time.time())
    chooser.widths = widths(chooser.entries)
    chooser.heading = heading(chooser.widths)
    _read(model, chooser, [e for e in chooser.entries
                           if before.get(e.record.id) != e.record.status])  # fmt: skip
    chooser.refresh()


def _arrived(model: Model, chooser: Chooser, table: dict[str, str], sid: str, value: str) -> None:
    table[sid] = value
    if model.overlay is chooser:
        chooser.refresh()
        model.invalidate()


async def _read_last(model: Model, chooser: Chooser, record: Record) -> None:
    if record.status == EXITED and model.remote_of(record) is not None:
        text = ""  # its last screen is a file on its host
    elif record.status == EXITED:
        # A file read, but it may hold 2000 lines of scrollback: off the event loop.
        text = await asyncio.get_running_loop().run_in_executor(None, _final_text, record)
    else:
        try:
            text = await asyncio.wait_for(capture(record, model), CAPTURE_TIMEOUT)
        except (OSError, TimeoutError, ValueError, NonoError):
            text = ""
    _arrived(model, chooser, chooser.last, record.id, last_line(text))


def _final_text(record: Record) -> str:
    final = registry.read_final(record, wait=0) or {}
    text = final.get("capture", "")
    return text if isinstance(text, str) else ""


async def capture(record: Record, model: Model) -> str:
    """The session's screen as text, from its supervisor (a control request); a remote
    session's through its host's link, cleaned as the agent's output always is here."""
    from nono.session import protocol as wire
    from nono.session.connection import Connection

    remote = model.remote_of(record)
    if remote is not None:
        conn = await remote.channel(str(record.extra.get("remote_id", "")))
    else:
        conn = await Connection.open("\0" + record.socket)
    try:
        conn.send(wire.Hello("control"), wire.Request("capture", {}))
        while (frame := await conn.aread(CAPTURE_TIMEOUT)) is not None:
            try:
                response = wire.read_response(frame, "capture")
            except NonoError as exc:
                raise OSError(exc.message) from None
            if response is not None:
                text = response.get("text", "")
                return text if isinstance(text, str) else ""
        raise OSError("the supervisor hung up")
    finally:
        conn.close()


async def _read_changes(model: Model, chooser: Chooser, record: Record) -> None:
    # Reading manifests is file I/O proportional to the tree: off the event loop.
    count = await asyncio.get_running_loop().run_in_executor(None, change_count, record)
    _arrived(model, chooser, chooser.changes, record.id, count)


def change_count(record: Record) -> str:
    """The changes the session's rollback has recorded so far (between its baseline and its
    latest snapshot), as text; `gone` when the rollback was removed."""
    from nono.errors import NonoError
    from nono.rollback import Rollback

    assert record.rollback_id is not None
    try:
        return str(len(Rollback.open(record.rollback_id).changes()))
    except NonoError:
        return "gone"


# ---------------------------------------------------------------- swapping


def swap_in(model: Model, sessions: Sessions, record: Record) -> None:
    """Show `record` in the focused pane. One already in another pane trades places with the
    focused one; one not on screen replaces it (the one it replaces keeps running, hidden)."""
    focus, tree = model.focus, model.tree
    if focus is None or tree is None:
        sessions.show_session(record, split=True)
        return
    if record.id == focus:
        return
    if record.id in layout.panes(tree):
        model.tree = swap_leaves(tree, focus, record.id)
        model.set_focus(record.id)
        model.save()
        return
    sessions.show_session(record, split=False)


def swap_leaves(tree: layout.Node, a: str, b: str) -> layout.Node:
    """The tree with panes `a` and `b` in each other's places."""
    hold = "\0swap"
    return rename(rename(rename(tree, a, hold), b, a), hold, b)
