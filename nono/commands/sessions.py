"""Shared helpers for the session commands: resolve an id, talk to its supervisor, show it."""

from __future__ import annotations

import time

from nono.session.registry import Record


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
