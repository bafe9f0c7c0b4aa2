"""The supervisor's wire format: length-prefixed, typed, versioned frames over a Unix socket."""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass

from nono.errors import NonoError

# typing costs `nono attach` ~5 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = 1
HEADER = struct.Struct(">IB")  # payload length, frame type
MAX_PAYLOAD = 4 * 1024 * 1024


class Kind(enum.IntEnum):
    HELLO = 1  # client -> supervisor, JSON: {v, mode, cols, rows, steal, read_only}
    WELCOME = 2  # supervisor -> client, JSON: the session record
    REFUSED = 3  # supervisor -> client, JSON: {error}
    INPUT = 4  # client -> supervisor: bytes for the agent
    OUTPUT = 5  # supervisor -> client: bytes from the agent (or a replay)
    RESIZE = 6  # client -> supervisor, JSON: {cols, rows}
    DETACHED = 7  # supervisor -> client, JSON: {reason}
    EXIT = 8  # supervisor -> client, JSON: {code}
    REQUEST = 9  # client -> supervisor, JSON: {op, ...}
    RESPONSE = 10  # supervisor -> client, JSON: {ok, ...} or {error}
    SCREEN = 11  # supervisor -> screen-mode client, JSON: changed rows as styled runs, cursor


JSON_KINDS = {Kind.HELLO, Kind.WELCOME, Kind.REFUSED, Kind.RESIZE, Kind.DETACHED, Kind.EXIT,
              Kind.REQUEST, Kind.RESPONSE, Kind.SCREEN}  # fmt: skip


class ProtocolError(NonoError):
    """A frame that cannot be understood: the connection it came on is closed."""


@dataclass(frozen=True)
class Frame:
    kind: Kind
    payload: bytes

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.payload)
        except ValueError as exc:
            raise ProtocolError(f"garbled {self.kind.name} frame: {exc}") from None
        if not isinstance(value, dict):
            raise ProtocolError(f"garbled {self.kind.name} frame: not an object")
        return value


def encode(kind: Kind, payload: bytes | dict[str, Any] = b"") -> bytes:
    if isinstance(payload, dict):
        payload = json.dumps(payload, separators=(",", ":")).encode()
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"frame too large ({len(payload)} bytes)")
    return HEADER.pack(len(payload), kind) + payload


def encode_output(data: bytes) -> bytes:
    """OUTPUT frames, split so no frame exceeds the limit."""
    if len(data) <= MAX_PAYLOAD:
        return HEADER.pack(len(data), Kind.OUTPUT) + data
    parts = [data[i : i + MAX_PAYLOAD] for i in range(0, len(data), MAX_PAYLOAD)]
    return b"".join(HEADER.pack(len(p), Kind.OUTPUT) + p for p in parts)


class Decoder:
    """Turns a byte stream into frames; raises ProtocolError on anything malformed."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            length, kind = HEADER.unpack_from(self._buf)
            if length > MAX_PAYLOAD:
                raise ProtocolError(f"frame too large ({length} bytes)")
            try:
                kind = Kind(kind)
            except ValueError:
                raise ProtocolError(f"unknown frame type {kind}") from None
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            frames.append(Frame(kind, bytes(self._buf[HEADER.size : end])))
            del self._buf[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame (a peer that vanished mid-frame leaves some)."""
        return len(self._buf)
