"""A remote host's `nono ps --json`, read as untrusted input: strictly shaped, every string
cleaned of control characters and bounded before anything shows it, the rest refused."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from nono.errors import NonoError
from nono.session import activity as act

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_ROWS = 10_000
_ID = re.compile(r"^[0-9a-f]{1,64}$")
_COMMAND_LIMIT = 1000


@dataclass(frozen=True)
class Listed:
    """One row of `nono ps`, local or remote: what the table shows, and the JSON entry."""

    host: str  # "local" for this machine's sessions
    id: str
    name: str
    state: str
    attached: bool
    pid: str
    uptime: str
    profile: str
    command: str
    entry: dict[str, Any]

    def cells(self) -> tuple[str, ...]:
        return (self.id, self.name, self.state, "yes" if self.attached else "no", self.pid,
                self.uptime, self.profile, self.command)  # fmt: skip


class RemoteAnswerError(NonoError):
    """A remote host's answer that is not what a nono sends."""


def parse_ps(output: bytes, host: str, now: float) -> list[Listed]:
    """The rows of a remote `nono ps --json`; RemoteAnswerError for anything else."""
    try:
        rows = json.loads(output)
    except ValueError as exc:
        raise RemoteAnswerError(f"its answer is not JSON ({exc})") from None
    if not isinstance(rows, list):
        raise RemoteAnswerError("its answer is not a list of sessions")
    if len(rows) > MAX_ROWS:
        raise RemoteAnswerError(f"its answer lists more than {MAX_ROWS} sessions")
    return [_row(entry, host, now, i) for i, entry in enumerate(rows)]


def _row(entry: object, host: str, now: float, index: int) -> Listed:
    def bad(what: str) -> RemoteAnswerError:
        return RemoteAnswerError(f"session {index} of its answer: {what}")

    if not isinstance(entry, dict):
        raise bad("not an object")
    sid = entry.get("id")
    if not isinstance(sid, str) or not _ID.match(sid):
        raise bad("no valid id")
    texts = {}
    for key in ("name", "status", "state"):
        if not isinstance(entry.get(key), str):
            raise bad(f"{key} is not a string")
        texts[key] = act.clean_text(entry[key], 40 if key != "name" else act.REASON_LIMIT)
    name, status, state = texts["name"], texts["status"], texts["state"]
    command = entry.get("command")
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        raise bad("command is not a list of strings")
    pid, exit_code = _int_or_none(entry.get("child_pid")), _int_or_none(entry.get("exit_code"))
    attached = _int_or_none(entry.get("attached")) or 0
    profile, uptime = entry.get("profile"), entry.get("uptime")
    activity = act.Activity.from_json(entry.get("activity"))  # cleans what it keeps
    label = state if status == "exited" or activity is None else activity.label(now, exit_code)
    shown_uptime = act.clean_text(uptime, 40) if isinstance(uptime, str) else "-"
    shown_profile = act.clean_text(profile) if isinstance(profile, str) else None
    argv = [act.clean_text(a, _COMMAND_LIMIT) for a in command]
    clean = {"host": host, "id": sid, "name": name, "status": status,
             "state": state, "attached": attached, "child_pid": pid, "exit_code": exit_code,
             "uptime": shown_uptime, "profile": shown_profile, "command": argv,
             "activity": activity.to_json() if activity else None,
             "egress": egress_counts(entry.get("egress"))}  # fmt: skip
    return Listed(host, sid, name, label, bool(attached), str(pid or "-"), shown_uptime,
                  shown_profile or "-", act.clean_text(shlex.join(argv), _COMMAND_LIMIT),
                  clean)  # fmt: skip


def egress_counts(value: object) -> dict[str, int] | None:
    """A session's egress counts as a host sent them: exactly {"allowed": N, "denied": N} of
    non-negative ints, else None (dropped, as a session without a host list has)."""
    if not isinstance(value, dict) or set(value) != {"allowed", "denied"}:
        return None
    counts = {k: v for k, v in value.items()
              if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 53}  # fmt: skip
    return counts if len(counts) == 2 else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def table(rows: list[Listed], with_host: bool) -> list[str]:
    """`nono ps`'s lines: a header and one row each, the command last and unpadded."""
    header = ("ID", "NAME", "STATE", "ATTACHED", "PID", "UPTIME", "PROFILE", "COMMAND")
    lines = [header] + [row.cells() for row in rows]
    if with_host:
        lines = [("HOST", *header)] + [(row.host, *row.cells()) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return ["  ".join([*(c.ljust(w) for c, w in zip(line[:-1], widths, strict=True)), line[-1]])
            for line in lines]  # fmt: skip
