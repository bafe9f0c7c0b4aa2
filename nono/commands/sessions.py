"""Shared helpers for the session commands: resolve an id, talk to its supervisor, show it."""

from __future__ import annotations

import time

from nono.session import activity as act
from nono.session.registry import EXITED, Record


def uptime(record: Record) -> str:
    end = record.ended or time.time()
    seconds = int(max(0, end - record.created))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def activity_of(record: Record, live: object = None) -> act.Activity | None:
    """What the session's agent is doing, as far as nono knows: the supervisor's word (`live`,
    a status answer's activity, else the record's), read through Activity.from_json so what an
    agent wrote is cleaned. An exited session is exited whatever its last activity said: a
    supervisor that died never wrote its last change."""
    activity = act.Activity.from_json(live if live is not None else record.activity)
    if record.status != EXITED or (activity is not None and activity.state == act.EXITED):
        return activity
    why = act.clean_text(record.note or "")
    return act.Activity(act.EXITED, record.ended or record.created, why, "")


def state_label(record: Record, activity: act.Activity | None, now: float | None = None) -> str:
    """`nono ps`'s STATE: `waiting 3m`, `working`, `idle 12m`, `exited(0)`; the plain status
    (`running`, `starting`) for a session whose supervisor never said more."""
    if record.status == EXITED or activity is None:
        return record.state
    return activity.label(now, record.exit_code)
