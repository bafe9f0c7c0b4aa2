"""The link's wire format: many channels over one ssh stream, and the handshake that opens it.

A link frame is [channel id (4 bytes), kind (1), payload length (4)] and the payload. Channel 0
is the link's own (HELLO, REFUSED); a channel the local side opens is one session's socket on
the remote host (OPEN, OPENED, DATA and CREDIT both ways, CLOSE) or one request (LIST, LISTED).
DATA carries the session protocol's bytes as they are (session/protocol.py frames them; the
relay does not read them), so both ends of a channel speak to the supervisor exactly as a
local client does; CREDIT paces each channel on its own (remote/window.py). Everything a
remote side sends is untrusted: frames are bounded, an unknown kind or a frame too large
closes the link, and no payload is ever run."""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass

from nono.errors import NonoError
from nono.session.protocol import ProtocolError, json_object

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LINK_VERSION = 2  # 2: CREDIT, flow control per channel (remote/window.py)
HEADER = struct.Struct(">IBI")  # channel, kind, payload length
MAX_PAYLOAD = 4 * 1024 * 1024 + 1024  # a LISTED answer of a full session frame's size
DATA_CHUNK = 256 * 1024  # DATA frames are cut to this: one channel never holds the link long
LINK = 0  # the link's own channel


class LinkKind(enum.IntEnum):
    HELLO = 1  # both ways, channel 0, first: {nono, protocol, link} versions
    REFUSED = 2  # remote -> local, channel 0: {error}; the relay exits after it
    OPEN = 3  # local -> remote: {session}: connect to that session's socket
    OPENED = 4  # remote -> local: {id, name}: the channel is that session's socket now
    DATA = 5  # both ways: bytes of the channel's stream
    CLOSE = 6  # both ways: the channel is done ({error} when it failed or was refused)
    LIST = 7  # local -> remote: what `nono ps --json --all` says there
    LISTED = 8  # remote -> local: that JSON list (read with remote/listing.py parse_ps)
    CREDIT = 9  # both ways: [u32] more DATA bytes the sender may send (remote/window.py)


class LinkLost(NonoError):
    """The link to a host is gone or never came up (ssh failed, the host hung up or spoke
    nonsense, or runs another nono): its channels have closed; the sessions on the host are
    untouched."""


class LinkError(ProtocolError):
    """A link frame that cannot be understood: the whole link is closed."""


@dataclass(frozen=True)
class LinkFrame:
    channel: int
    kind: LinkKind
    payload: bytes

    def json(self) -> dict[str, Any]:
        return json_object(self.payload, self.kind.name, LinkError)


def encode(channel: int, kind: LinkKind, payload: bytes | dict[str, Any] = b"") -> bytes:
    if isinstance(payload, dict):
        payload = json.dumps(payload, separators=(",", ":")).encode()
    if len(payload) > MAX_PAYLOAD:
        raise LinkError(f"link frame too large ({len(payload)} bytes)")
    return HEADER.pack(channel, kind, len(payload)) + payload


def encode_data(channel: int, data: bytes) -> bytes:
    """DATA frames for `data`, cut to DATA_CHUNK."""
    return b"".join(HEADER.pack(channel, LinkKind.DATA, len(data[i : i + DATA_CHUNK]))
                    + data[i : i + DATA_CHUNK]
                    for i in range(0, len(data), DATA_CHUNK))  # fmt: skip


class LinkDecoder:
    """A byte stream to link frames; LinkError on anything malformed."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[LinkFrame]:
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            channel, kind, length = HEADER.unpack_from(self._buf)
            if length > MAX_PAYLOAD:
                raise LinkError(f"link frame too large ({length} bytes)")
            try:
                kind = LinkKind(kind)
            except ValueError:
                raise LinkError(f"unknown link frame type {kind}") from None
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            frames.append(LinkFrame(channel, kind, bytes(self._buf[HEADER.size : end])))
            del self._buf[:end]
        return frames

    @property
    def pending(self) -> int:
        return len(self._buf)


# ------------------------------------------------------------------ the handshake


def hello() -> dict[str, Any]:
    """What this nono says first: its version, the session protocol's and the link's."""
    import nono  # read now, not at import: the version is the running nono's
    from nono.session.protocol import VERSION

    return {"nono": nono.__version__, "protocol": VERSION, "link": LINK_VERSION}


def mismatch(theirs: dict[str, Any], here: str, there: str) -> str | None:
    """Why this nono (`here`) cannot talk to the one that said `theirs` (`there`), naming both
    versions; None when they match. Both nonos must be the same release: the session
    protocol's own version check would pass between releases that draw differently."""
    ours = hello()
    if all(theirs.get(k) == ours[k] for k in ours):
        return None
    from nono.session.activity import clean_text

    def said(body: dict[str, Any]) -> str:
        return (f"nono {clean_text(str(body.get('nono')), 40)} (session protocol "
                f"{clean_text(str(body.get('protocol')), 10)}, link "
                f"{clean_text(str(body.get('link')), 10)})")  # fmt: skip

    return f"{said(ours)} {here} and {said(theirs)} {there} cannot work together"


def read_hello(frame: LinkFrame) -> dict[str, Any]:
    if frame.channel != LINK or frame.kind != LinkKind.HELLO:
        raise LinkError(f"expected HELLO first, got {frame.kind.name} on channel {frame.channel}")
    return frame.json()
