"""A session's egress as its own clients ask about it: the counts kept on its record, the tail
of its egress log with the rules in force (`egress`), and a host allowed while it runs
(`allow_host`).

Only the session's own clients reach these: the supervisor's socket admits its own uid only
(serving.py), and a sandboxed agent cannot reach the socket at all (an abstract socket lives
in a network namespace, and the agent has its own; Landlock's scope refuses it besides).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nono.errors import NonoError

if TYPE_CHECKING:
    from nono.net.egress_log import EgressRecord
    from nono.net.proxy import EgressProxy
    from nono.net.rules import HostRule

WRITE_EVERY = 1.0  # seconds: the most often a change of counts rewrites the record
TAIL_LIMIT = 500  # the most log records one `egress` answer carries
NO_HOST_LIST = "no host list in this session"
_BLOCK = 64 * 1024


class Counts:
    """Connections allowed and denied so far, handed to `write` (the record) when they change,
    at most once every WRITE_EVERY seconds: an agent retrying a refused host in a loop must not
    rewrite the record file once per connection."""

    def __init__(self, write: Callable[[dict[str, int]], None]) -> None:
        self.write = write
        self.allowed = 0
        self.denied = 0
        self.written_at = -WRITE_EVERY
        self.pending: asyncio.TimerHandle | None = None

    def to_json(self) -> dict[str, int]:
        return {"allowed": self.allowed, "denied": self.denied}

    def add(self, record: EgressRecord) -> None:
        # A request the proxy could not even read names no host: not a denial of one.
        if record.decision == "denied" and record.kind == "invalid":
            return
        if record.decision == "denied":
            self.denied += 1
        else:
            self.allowed += 1
        if self.pending is None:
            loop = asyncio.get_running_loop()
            wait = max(self.written_at + WRITE_EVERY - loop.time(), 0.0)
            self.pending = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        self.pending = None
        self.written_at = asyncio.get_running_loop().time()
        self.write(self.to_json())


def canonical_rule(rule: HostRule) -> str:
    """A rule as nono writes it: `*.` for a suffix, an IPv6 address in brackets, the port only
    when it is not the default 80 and 443."""
    from nono.net.rules import DEFAULT_PORTS

    host = f"[{rule.host}]" if ":" in rule.host else rule.host
    text = f"*.{host}" if rule.kind == "suffix" else host
    if tuple(rule.ports) != tuple(DEFAULT_PORTS):
        text += ":" + ",".join(str(p) for p in rule.ports)
    return text


def rule_for(host: str, port: int) -> str:
    """The narrowest rule that allows one denied host and port: the host alone for 443 (the
    default ports), `host:port` otherwise."""
    text = f"[{host}]" if ":" in host else host
    return text if port == 443 else f"{text}:{port}"


def tail_records(path: Path, limit: int) -> list[dict[str, Any]]:
    """The last `limit` records of an egress log (the rotated `.1` too when the current file
    has fewer), oldest first, read from the end: the log may hold megabytes, the supervisor's
    loop reads only what it returns. A line that is not a record is skipped."""
    lines: list[bytes] = []
    for file in (path, path.with_name(path.name + ".1")):
        if len(lines) >= limit:
            break
        lines = _last_lines(file, limit - len(lines)) + lines
    out = []
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            out.append(data)
    return out


def _last_lines(file: Path, count: int) -> list[bytes]:
    try:
        fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        end = os.fstat(fd).st_size
        data = b""
        while end > 0 and data.count(b"\n") <= count:
            start = max(end - _BLOCK, 0)
            data = os.pread(fd, end - start, start) + data
            end = start
    finally:
        os.close(fd)
    lines = [line for line in data.split(b"\n") if line.strip()]
    if end > 0 and lines:  # the first line may be cut: it began before what was read
        lines = lines[1:]
    return lines[-count:] if count > 0 else []


def answer_egress(proxy: EgressProxy | None, log_path: Path | None, counts: Counts | None,
                  limit: Any) -> dict[str, Any]:  # fmt: skip
    """The `egress` request: the log's last records, the counts and the rules in force."""
    if proxy is None or log_path is None or counts is None:
        return {"ok": False, "error": NO_HOST_LIST}
    try:
        wanted = min(max(int(limit), 1), TAIL_LIMIT)
    except (TypeError, ValueError):
        return {"ok": False, "error": f"limit must be a number from 1 to {TAIL_LIMIT}"}
    policy = proxy.policy
    return {"ok": True, "entries": tail_records(log_path, wanted), "counts": counts.to_json(),
            "rules": {"allow": [canonical_rule(r) for r in policy.allow],
                      "deny": [canonical_rule(r) for r in policy.deny]}}  # fmt: skip


def answer_allow(proxy: EgressProxy | None, text: Any,
                 log: Callable[..., None]) -> dict[str, Any]:  # fmt: skip
    """The `allow_host` request: the rule goes into the running proxy (the agent's next
    connection sees it; nothing restarts), and into the session's event log."""
    if proxy is None:
        return {
            "ok": False,
            "error": f"{NO_HOST_LIST} (its network is not filtered by host: nothing to allow)",
        }
    if not isinstance(text, str):
        return {"ok": False, "error": "allow_host needs a rule (host, host:port or *.suffix)"}
    try:
        rule = proxy.allow(text)
    except NonoError as exc:
        return {"ok": False, "error": exc.one_line()}
    written = canonical_rule(rule)
    log("egress-allowed", rule=written)
    return {"ok": True, "rule": written}
