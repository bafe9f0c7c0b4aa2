"""next-waiting: the session that has waited longest for the person, focused in one key; the key
again goes on to the next one waiting. A waiting session not on screen is opened in a new pane."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from nono.mux import layout
from nono.session.activity import WAITING, Activity
from nono.session.registry import EXITED

if TYPE_CHECKING:
    from nono.mux.model import Model
    from nono.mux.sessions import Sessions


def waiting_order(doing: Mapping[str, Activity | None]) -> list[str]:
    """The ids of the sessions waiting, the longest waiting first (ties: by id, stable)."""
    waiting = [(a.since, sid) for sid, a in doing.items() if a is not None and a.state == WAITING]
    return [sid for _, sid in sorted(waiting)]


def pick(order: list[str], last: str | None, focus: str | None) -> str | None:
    """Where the key goes: on from the session it went to last while that one is still
    focused and waiting (pressed again), else the one waiting longest."""
    if not order:
        return None
    if last is not None and last == focus and last in order:
        return order[(order.index(last) + 1) % len(order)]
    return order[0]


def next_waiting(model: Model, sessions: Sessions) -> None:
    model.refresh_records()  # the sessions not on screen are known by their records
    records = {r.id: r for r in model.all_records if r.status != EXITED}
    doing = {sid: Activity.from_json(r.activity) for sid, r in records.items()}
    for sid, pane in model.panes.items():
        if pane.state in ("running", "watching") and pane.doing is not None:
            doing[sid] = pane.doing  # a pane hears of changes first
    target = pick(waiting_order(doing), model.waiting_jump, model.focus)
    if target is None:
        model.say("no session is waiting")
        return
    model.waiting_jump = target
    if target in layout.panes(model.tree):
        model.set_focus(target)
        model.invalidate()
    elif target in records:
        sessions.show_session(records[target], split=True)
