"""How a person sees a session's egress log: a record as one line, a log summarised, a log
followed as it grows and rotates (`nono logs --net`, `nono inspect`).

The host names in the log came from the agent's own requests, so nothing here trusts a line:
each is parsed strictly into a record (the JSON form is re-serialised from the parse, never
echoed), and every piece of text shown is escaped of control characters first.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nono.escape import escaped
from nono.net.egress_log import EgressRecord

_TYPES: dict[str, tuple[type, ...]] = {
    "time": (int, float), "host": (str,), "port": (int,), "address": (str,),
    "decision": (str,), "rule": (str,), "kind": (str,), "status": (int,),
    "bytes_up": (int,), "bytes_down": (int,), "duration": (int, float), "error": (str,),
}  # fmt: skip
assert set(_TYPES) == {f.name for f in fields(EgressRecord)}
LINE_LIMIT = 64 * 1024  # a record is a few hundred bytes; a longer line is not one


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def parse_line(line: str | bytes) -> tuple[dict[str, Any], EgressRecord] | None:
    """A log line as (the object stored, its record), or None for anything that is not a
    record: not JSON, NaN, a field missing or of the wrong type, a decision not known."""
    if len(line) > LINE_LIMIT:
        return None
    try:
        data = json.loads(line, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for name, types in _TYPES.items():
        value = data.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            return None
    if data["decision"] not in ("allowed", "denied"):
        return None
    return data, EgressRecord(**{name: data[name] for name in _TYPES})


def as_json(data: dict[str, Any]) -> str:
    """A stored object printed again: json.dumps escapes every control character."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def printable(text: str, limit: int = 300) -> str:
    """Text from the log, safe for a terminal: control characters, bidi overrides and
    zero-width characters shown as escapes (never sent), one line, bounded."""
    text = escaped(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def where(host: str, port: int) -> str:
    """host:port ([v6]:port), or what a request that named no host was."""
    if not host:
        return "(bad request)"
    host = printable(host, 260)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def stamp(when: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    try:
        return time.strftime(fmt, time.localtime(when))
    except (ValueError, OverflowError, OSError):  # a time no clock can show
        return "?"


def record_line(record: EgressRecord) -> str:
    """One connection as `nono logs --net` prints it; a denial starts `DENIED`."""
    mark = "DENIED " if record.decision == "denied" else "allowed"
    rule = f"rule {printable(record.rule, 200)}" if record.rule else "no rule"
    place = where(record.host, record.port)
    text = (f"{stamp(record.time):<19}  {mark}  {place}  {record.status}  "
            f"up {size(record.bytes_up)}  down {size(record.bytes_down)}  "
            f"{record.duration:.2f} s  {rule}")  # fmt: skip
    if record.error:
        text += f"  ({printable(record.error)})"
    return text


# ---------------------------------------------------------------- a log summarised

TOP = 5  # hosts named in a summary, each way


@dataclass(frozen=True)
class HostTotal:
    host: str
    port: int
    connections: int
    bytes_up: int
    bytes_down: int


@dataclass(frozen=True)
class Denied:
    host: str
    port: int
    rule: str  # the rule that refused it ("" when no rule allowed it)
    reason: str
    count: int
    last: float


@dataclass(frozen=True)
class Summary:
    connections: int
    reached: tuple[HostTotal, ...]  # every host:port a connection was made to, most bytes first
    denials: int  # every refused request (bad requests too)
    denied: tuple[Denied, ...]  # the host:ports refused, most recent first
    last_denial: float | None
    unreadable: int  # lines of the log that are not records

    def to_json(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "hosts_reached": len(self.reached),
            "top_hosts": [vars(h) for h in self.reached[:TOP]],
            "denials": self.denials,
            "denied_hosts": [vars(d) for d in self.denied],
            "last_denial": self.last_denial,
            "unreadable_lines": self.unreadable,
        }


def summarise(records: list[EgressRecord], unreadable: int = 0) -> Summary:
    """What a log adds up to. Reached means the proxy connected (an allowed host the network
    failed is neither reached nor denied)."""
    reached: dict[tuple[str, int], list[int]] = {}
    denied: dict[tuple[str, int], Denied] = {}
    denials, last = 0, None
    for r in records:
        key = (r.host, r.port)
        if r.decision == "denied":
            denials += 1
            last = r.time if last is None else max(last, r.time)
            if r.host:
                seen = denied.get(key)
                denied[key] = Denied(r.host, r.port, r.rule, r.error, (seen.count if seen else 0)
                                     + 1, max(r.time, seen.last if seen else r.time))  # fmt: skip
        elif r.address and r.status < 500:
            total = reached.setdefault(key, [0, 0, 0])
            total[0] += 1
            total[1] += r.bytes_up
            total[2] += r.bytes_down
    hosts = sorted((HostTotal(h, p, *t) for (h, p), t in reached.items()),
                   key=lambda t: (-(t.bytes_up + t.bytes_down), t.host, t.port))  # fmt: skip
    refused = sorted(denied.values(), key=lambda d: -d.last)
    return Summary(len(records), tuple(hosts), denials, tuple(refused), last, unreadable)


def read_log(path: Path) -> tuple[list[tuple[dict[str, Any], EgressRecord]], int]:
    """Every record of a log (its rotated `.1` first), and how many lines were not records.
    Bounded: the writer caps both files (egress_log.EgressLog.max_bytes)."""
    parsed, unreadable = [], 0
    for file in (path.with_name(path.name + ".1"), path):
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            continue
        for line in data.splitlines():
            if not line.strip():
                continue
            got = parse_line(line)
            if got is None:
                unreadable += 1
            else:
                parsed.append(got)
    return parsed, unreadable


# ---------------------------------------------------------------- a log followed


def follow(
    path: Path, done: Callable[[], bool], tail: int | None = None, poll: float = 0.2
) -> Iterator[bytes]:
    """The log's lines: what it holds (its rotated `.1` first; only the last `tail` lines when
    given), then each line added, as it comes, across rotation (the writer renames the file to
    `.1` and starts a new one: the rest of the old one is read before the new one); until
    `done()` says no more will come, and what came is read. Bounded: the writer caps both
    files, and a line with no end in sight is dropped at LINE_LIMIT."""
    f = _open(path)
    # What it holds now, the last `tail` of it; once that is out, every line that comes.
    lines: collections.deque[bytes] = collections.deque(maxlen=tail or None)
    partial = b""
    if f is not None:
        with contextlib.suppress(FileNotFoundError):
            older = path.with_name(path.name + ".1").read_bytes()
            lines.extend(ln for ln in older.split(b"\n") if ln.strip())
    while True:
        finished = done()  # asked before the last read: nothing written before it is missed
        if f is None:
            f = _open(path)
        if f is not None:
            while chunk := f.read(65536):
                got = (partial + chunk).split(b"\n")
                partial = got.pop()
                lines.extend(ln for ln in got if ln.strip())
                if len(partial) > LINE_LIMIT:
                    partial = b""
            if _rotated(path, f):
                f.close()
                f, partial = _open(path), b""
                continue
        yield from lines
        lines = collections.deque()
        if finished:
            break
        time.sleep(poll)  # a log grows a line per connection: a short poll is enough
    if f is not None:
        f.close()


def _open(path: Path) -> Any:
    try:
        return open(path, "rb")  # held across the generator's yields
    except FileNotFoundError:
        return None


def _rotated(path: Path, f: Any) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
        return True
