"""The egress log: one JSON line per connection the proxy saw, in a file of bounded size.

The file is the session's audit of what its agent reached or tried to reach (`nono logs
--net` will read it). When it passes `max_bytes` it is renamed to `<name>.1` (replacing the
previous one) and a new file starts, so a session never holds more than twice `max_bytes`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Outcome = Literal["allowed", "denied"]


@dataclass(frozen=True)
class EgressRecord:
    """One connection: where it asked to go, what was decided and by which rule, what it cost."""

    time: float  # when the request head arrived (Unix time)
    host: str  # normalised; "" when the request could not be read
    port: int
    address: str  # the address connected to (or refused); "" when none was reached
    decision: Outcome
    rule: str  # the rule that decided, "" when none matched
    kind: str  # "connect", "http" or "invalid"
    status: int  # the status the proxy answered (200 for a tunnel that opened)
    bytes_up: int = 0  # client -> server, after the request head
    bytes_down: int = 0  # server -> client
    duration: float = 0.0  # seconds, from the head to the close
    error: str = ""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), ensure_ascii=True)


def read_records(path: Path) -> list[EgressRecord]:
    """Every record in a log file (the rotated `.1` first when present), oldest first."""
    records = []
    for file in (path.with_name(path.name + ".1"), path):
        if not file.exists():
            continue
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(EgressRecord(**json.loads(line)))
    return records


class EgressLog:
    """Appends records to a file and tells `on_denied` about each denial.

    Writes are plain blocking appends of one short line: the file is local and the line far
    below a page, so this costs the event loop less than handing it to a thread would.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        max_bytes: int = 4 * 1024 * 1024,
        on_denied: Callable[[EgressRecord], None] | None = None,
        on_record: Callable[[EgressRecord], None] | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.on_denied = on_denied
        self.on_record = on_record  # every record, as written (a session's counts)
        self.written = 0
        self._size = path.stat().st_size if path is not None and path.exists() else 0

    def write(self, record: EgressRecord) -> None:
        if self.path is not None:
            line = (record.to_json() + "\n").encode("ascii")
            if self._size and self._size + len(line) > self.max_bytes:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                self._size = 0
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self._size += len(line)
            self.written += 1
        if self.on_record is not None:
            self.on_record(record)
        if record.decision == "denied" and record.kind != "invalid" and self.on_denied:
            self.on_denied(record)
