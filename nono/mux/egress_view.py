"""The focused pane's egress view (egress-view, prefix e): the connections its proxy saw,
denials first, one line per host and port; `a` allows a denied host for this session (the
supervisor's proxy takes it for the agent's next connection: nothing restarts), `p` adds it to
the person's profile file, the lines shown and confirmed before they are written.

What the supervisor sends is read as data only (a host's, through its link, cleaned like the
rest of what a host says); the profile file is this machine's, so `p` is for local sessions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nono.errors import NonoError
from nono.mux.model import Model
from nono.mux.pane import Pane
from nono.mux.prompts import Overlay
from nono.session.activity import clean_text

DENIED = "bg:ansiblack fg:ansired"
NOTE = "bg:ansiblack fg:ansiyellow bold"
SECTION = "bg:ansiblack fg:ansiwhite bold"
DECISIONS = ("allowed", "denied")
ENTRIES = 500  # log records asked for: the view sums them per host and port
HELP = " ↑↓ jk move · a allow for this session · p add to profile · r reload · q/Esc close "
REMOTE_HELP = " ↑↓ jk move · a allow for this session · r reload · q/Esc close "


@dataclass(frozen=True)
class Row:
    """One host and port as the log's last records saw it, per decision."""

    host: str
    port: int
    decision: str
    rule: str
    count: int
    last: float
    up: int
    down: int
    error: str

    @property
    def target(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def rows_of(entries: list[Any]) -> list[Row]:
    """The log's records summed per (host, port, decision): denials first, then the rest, the
    latest first within each. A record of the wrong shape is left out."""
    sums: dict[tuple[str, int, str], Row] = {}
    for e in entries:
        if not isinstance(e, dict):
            continue
        host, port, decision = e.get("host"), _count(e.get("port")), e.get("decision")
        if not isinstance(host, str) or not host or not port or decision not in DECISIONS:
            continue
        stamp = e.get("time")
        when = float(stamp) if isinstance(stamp, int | float) else 0.0
        key = (clean_text(host, 255), port, str(decision))
        old = sums.get(key)
        rule = clean_text(e["rule"], 255) if isinstance(e.get("rule"), str) else ""
        error = clean_text(e["error"], 120) if isinstance(e.get("error"), str) else ""
        up, down = _count(e.get("bytes_up")), _count(e.get("bytes_down"))
        if old is None:
            sums[key] = Row(*key, rule, 1, when, up, down, error)
        else:
            newer = when >= old.last
            sums[key] = Row(*key, rule if newer else old.rule, old.count + 1,
                            max(when, old.last), old.up + up, old.down + down,
                            error if newer else old.error)  # fmt: skip
    rows = sorted(sums.values(), key=lambda r: -r.last)
    return [r for r in rows if r.decision == "denied"] + [r for r in rows if r.decision != "denied"]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def rule_for(row: Row) -> str:
    """The narrowest rule that lets this host and port through (session/egress_requests.py)."""
    from nono.session.egress_requests import rule_for as narrowest

    return narrowest(row.host, row.port)


def size(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def line_of(row: Row, now: float) -> str:
    age = max(now - row.last, 0)
    ago = f"{age:.0f}s" if age < 120 else f"{age / 60:.0f}m" if age < 7200 else f"{age / 3600:.0f}h"
    why = row.rule or row.error or "-"
    mark = "✗" if row.decision == "denied" else "✓"
    return (f"{mark} {row.target:<36} {row.count:>5} {ago:>5} ago "
            f"{size(row.up):>7}↑ {size(row.down):>7}↓  {why}")  # fmt: skip


class EgressView(Overlay):
    full_screen = True
    heading = "  host:port                             count  last       sent    received  rule"

    def __init__(self, model: Model, pane: Pane) -> None:
        super().__init__(f"egress · {pane.record.name}", ["reading the egress log…"], None,
                         REMOTE_HELP if pane.remote is not None else HELP)  # fmt: skip
        self.model = model
        self.pane = pane
        self.rows: list[Row] = []
        self.notes: list[tuple[str, str]] = []  # (text, style): what the last key did
        self.counts = ""
        self.loading = False
        self.stale = False  # asked to load again while a load was under way

    # ------------------------------------------------------------ showing

    def show(self) -> None:
        now = time.time()
        title = f"egress · {self.pane.record.name}"
        self.title = f"{title} · {self.counts}" if self.counts else title
        lines = [text for text, _ in self.notes] + [line_of(r, now) for r in self.rows]
        if not self.rows and not self.notes:
            lines = ["no connection through the proxy yet"]
        self.lines = lines
        first = len(self.notes)
        if self.rows:
            self.selected = min(max(self.selected, first), first + len(self.rows) - 1)
        else:
            self.selected = -1
        self.model.invalidate()

    def line_style(self, index: int) -> str | None:
        if index < len(self.notes):
            return self.notes[index][1]
        row = self.row_at(index)
        return DENIED if row is not None and row.decision == "denied" else None

    def row_at(self, index: int) -> Row | None:
        at = index - len(self.notes)
        return self.rows[at] if 0 <= at < len(self.rows) else None

    def say(self, *notes: tuple[str, str]) -> None:
        self.notes = [*notes, ("", SECTION)] if notes else []
        self.selected = len(self.notes)
        self.show()

    # ------------------------------------------------------------ loading

    def load(self) -> None:
        if self.loading:
            self.stale = True
            return
        self.loading = True
        self.model.spawn(self._load())

    async def _load(self) -> None:
        try:
            answer = await self.pane.request("egress", timeout=15, limit=ENTRIES)
        except (TimeoutError, OSError, NonoError) as exc:
            self.loading = False
            self.say((f"cannot read the egress log: {clean_text(str(exc), 300)}", NOTE))
            return
        self.loading = False
        counts = answer.get("counts")
        if isinstance(counts, dict):
            allowed, denied = _count(counts.get("allowed")), _count(counts.get("denied"))
            self.counts = f"{allowed} allowed · {denied} denied"
        entries = answer.get("entries")
        selected = self.row_at(self.selected)
        self.rows = rows_of(entries if isinstance(entries, list) else [])
        if selected is not None:  # the selection stays on its host across a reload
            same = [i for i, r in enumerate(self.rows)
                    if (r.host, r.port, r.decision) == (selected.host, selected.port,
                                                        selected.decision)]  # fmt: skip
            if same:
                self.selected = len(self.notes) + same[0]
        if self.model.overlay is self:
            self.show()
        if self.stale:
            self.stale = False
            self.load()

    def registry_changed(self) -> None:
        """The record's counts changed (the supervisor rewrites them at most once a second):
        the list follows."""
        self.load()

    # ------------------------------------------------------------ keys

    def key(self, key: str, page: int) -> bool:
        if key in ("escape", "q", "c-c", "c-g"):
            return True
        steps = {"up": -1, "k": -1, "down": 1, "j": 1, "pageup": -page, "pagedown": page,
                 "home": -len(self.lines), "end": len(self.lines)}  # fmt: skip
        if key in steps and self.rows:
            first = len(self.notes)
            self.selected = min(max(self.selected + steps[key], first), first + len(self.rows) - 1)
            if self.selected < self.top:
                self.top = max(self.selected - 1, 0)
            elif self.selected >= self.top + page:
                self.top = self.selected - page + 1
            self.model.invalidate()
        elif key == "r":
            self.load()
        elif key in ("a", "p"):
            row = self.row_at(self.selected)
            if row is None or row.decision != "denied":
                self.say(("choose a denied host (✗) first", NOTE))
            elif key == "a":
                self.model.spawn(self._allow(rule_for(row)))
            else:
                self._to_profile(rule_for(row))
        return False

    async def _allow(self, rule: str) -> None:
        try:
            answer = await self.pane.request("allow_host", timeout=15, rule=rule)
        except (TimeoutError, OSError, NonoError) as exc:
            self.say((f"not allowed: {clean_text(str(exc), 300)}", NOTE))
            return
        written = answer.get("rule")
        shown = clean_text(written, 300) if isinstance(written, str) else rule
        self.say((f"allowed {shown} for this session: the agent's next attempt goes through "
                  "(p also adds it to the profile)", SECTION))  # fmt: skip
        self.load()

    def _to_profile(self, rule: str) -> None:
        if self.pane.remote is not None:
            where = f"{self.pane.record.name}'s profile is on its host, not here"
            self.say((f"{where}: add {rule} to network.allow_hosts there (a allows it now)", NOTE))
            return
        from nono.sandbox import profile_edit

        profile = self.pane.record.profile or "default"
        try:
            planned = profile_edit.plan(profile, rule)
        except NonoError as exc:
            self.say((f"cannot add it to the profile: {exc.one_line()}", NOTE))
            return
        verb = "create" if planned.creates else "add to"
        warning = []
        if planned.starts_list:
            warning = [(f"note: {profile} has no host list yet: with this line, sessions under "
                        "it reach only the hosts it lists", NOTE)]  # fmt: skip
        self.say((f"{verb} {planned.path}:", SECTION),
                 *((f"    {line}", NOTE) for line in planned.added), *warning)  # fmt: skip

        def answer(key: str) -> None:
            if key not in ("y", "Y"):
                self.say(("nothing written", SECTION))
                return
            try:
                profile_edit.write(planned)
            except NonoError as exc:
                self.say((f"not written: {exc.one_line()}", NOTE))
                return
            self.say((f"wrote {planned.path}: sessions started with --profile {profile} now "
                      f"allow {rule}", SECTION))  # fmt: skip

        self.model.ask(f"write this to {planned.path.name}? (y/n) ", answer, single_key=True)


def open_egress(model: Model) -> None:
    """Open the egress view of the focused pane's session, or say why there is none."""
    pane = model.panes.get(model.focus or "")
    if pane is None:
        model.say("no pane is focused: no egress to show", alert=True)
        return
    if pane.remote is None and pane.record.network not in ("hosts", ""):
        model.say(f"{pane.record.name} has no host list: its network is "
                  f"{pane.record.network or 'unknown'} (start it with --allow-host or an agent "
                  "profile to see and choose what it reaches)", alert=True)  # fmt: skip
        return
    view = EgressView(model, pane)
    model.overlay = view
    view.load()
