"""The session registry: one private directory of atomically written records and event logs."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from nono import paths
from nono.errors import NonoError

# typing costs `nono attach` ~5 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RUNNING = "running"
EXITED = "exited"
STARTING = "starting"


@dataclass(frozen=True)
class Record:
    id: str
    name: str
    command: tuple[str, ...]
    workdir: str
    profile: str | None
    network: str
    sandbox: dict[str, Any]
    created: float
    supervisor_pid: int
    supervisor_start: float
    socket: str  # abstract Unix socket name (without the leading NUL)
    status: str = STARTING
    child_pid: int | None = None
    exit_code: int | None = None
    ended: float | None = None
    attached: int = 0
    size: tuple[int, int] = (80, 24)
    rollback_id: str | None = None
    note: str | None = None  # why a session ended abnormally (supervisor died, ...)
    agent: str | None = None  # the agent kind its profile names (agents/KIND.yaml's rules)
    activity: dict[str, Any] | None = None  # session/activity.py Activity.to_json()
    # With a host list: {"allowed": N, "denied": N} connections through its proxy so far,
    # written at most once a second (session/egress_requests.py); None without one.
    egress: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.status == EXITED:
            return "exited" if self.exit_code is None else f"exited({self.exit_code})"
        return self.status

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"] = list(self.command)
        data["size"] = list(self.size)
        data["state"] = self.state
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        data = dict(data)
        data.pop("state", None)
        data["command"] = tuple(data["command"])
        data["size"] = tuple(data.get("size") or (80, 24))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def new_id() -> str:
    import secrets  # not at the top: `nono attach` never needs it, and it is slow to import

    return secrets.token_hex(6)


def sessions_dir() -> Path:
    root = paths.ensure_private_dir(paths.state_dir())
    return paths.ensure_private_dir(root / "sessions")


def record_path(session_id: str) -> Path:
    return sessions_dir() / f"{session_id}.json"


def events_path(session_id: str) -> Path:
    return sessions_dir() / f"{session_id}.events.ndjson"


def final_path(session_id: str) -> Path:
    """The last screen and scrollback of an exited session, for capture and attach."""
    return sessions_dir() / f"{session_id}.final.json"


def write_atomic(path: Path, data: bytes) -> None:
    """paths.write_atomic, with a failure (a full disk, mostly) as a NonoError."""
    try:
        paths.write_atomic(path, data)
    except OSError as exc:
        raise NonoError(f"cannot write {path}: {exc.strerror}", "is the disk full?") from None


def write_record(record: Record) -> None:
    data = json.dumps(record.to_json(), indent=1).encode()
    write_atomic(record_path(record.id), data)


def log_event(session_id: str, event: str, **details: Any) -> None:
    """Append one line to the session's event log; losing a log line never harms a session."""
    line = json.dumps({"ts": time.time(), "event": event, **details}) + "\n"
    with contextlib.suppress(OSError):
        fd = os.open(events_path(session_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def read_record(session_id: str) -> Record:
    path = record_path(session_id)
    try:
        data = json.loads(path.read_text())
        return Record.from_json(data)
    except FileNotFoundError:
        raise NonoError(f"no such session: {session_id}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise NonoError(
            f"corrupt session record {path}: {exc}", "remove it or run nono prune"
        ) from None


def process_start(pid: int) -> float | None:
    """When a process started (seconds since the epoch), or None if there is no such process.

    Read from /proc directly (as psutil does) because `nono attach` must start fast."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
    except (OSError, StopIteration, ValueError):
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):  # a zombie or a dead process is gone for our purposes
        return None
    return btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def supervisor_alive(record: Record) -> bool:
    """Alive and the same process: a reused pid has a different start time."""
    started = process_start(record.supervisor_pid)
    return started is not None and abs(started - record.supervisor_start) < 1.0


SUPERVISOR_DIED = "the supervisor died"  # the note reconcile() leaves; only it writes notes


def supervisor_died(record: Record) -> bool:
    """Ended because its supervisor vanished, not because the agent exited."""
    return record.note == SUPERVISOR_DIED


def reconcile(record: Record) -> Record:
    """A record whose supervisor is gone is exited, whatever it last said."""
    if record.status == EXITED or supervisor_alive(record):
        return record
    updated = replace(record, status=EXITED, ended=record.ended or time.time(), attached=0,
                      note=record.note or SUPERVISOR_DIED)  # fmt: skip
    with contextlib.suppress(NonoError):
        write_record(updated)
        log_event(record.id, "supervisor-lost")
    return updated


def list_records() -> tuple[list[Record], list[str]]:
    """Every record (reconciled), newest first, and the problems met reading them."""
    records, problems = [], []
    for path in sessions_dir().glob("*.json"):
        if path.name.endswith(".final.json") or path.name.startswith("."):
            continue
        try:
            records.append(reconcile(read_record(path.stem)))
        except NonoError as exc:
            problems.append(exc.one_line())
    records.sort(key=lambda r: r.created, reverse=True)
    return records, problems


def resolve(ref: str) -> Record:
    """An id, a unique id prefix, or a name; otherwise an error listing the candidates."""
    records, _ = list_records()
    exact = [r for r in records if r.id == ref or r.name == ref]
    running = [r for r in exact if r.status != EXITED]
    if len(exact) == 1:
        return exact[0]
    if len(running) == 1:
        return running[0]
    matches = exact or [r for r in records if r.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(f"{r.id[:8]} ({r.name})" for r in records[:10]) or "none"
        raise NonoError(f"no session matches {ref!r}", f"sessions: {known}")
    listed = ", ".join(f"{r.id} ({r.name}, {r.state})" for r in matches[:10])
    raise NonoError(f"{ref!r} is ambiguous: {listed}", "give more of the id")


def read_final(record: Record, wait: float = 30.0) -> dict[str, Any] | None:
    """The last screen of an exited session; just after the exit its supervisor may still be
    writing it, so wait for it while the supervisor lives."""
    path = final_path(record.id)
    deadline = time.monotonic() + wait
    while not path.exists() and supervisor_alive(record) and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove(record: Record) -> None:
    egress = paths.egress_log(record.id)
    for path in (record_path(record.id), events_path(record.id), final_path(record.id),
                 egress, egress.with_name(egress.name + ".1")):  # fmt: skip
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def refuse_inside_sandbox() -> None:
    """Session commands belong to the person, not to an agent in a sandbox."""
    if os.environ.get("NONO_SANDBOXED") == "1":
        raise NonoError("session commands cannot run inside a nono sandbox")
    try:
        sessions_dir()
    except PermissionError:
        raise NonoError(
            "cannot reach nono's state directory (inside a sandbox?)",
            "session commands cannot run inside a nono sandbox",
        ) from None
