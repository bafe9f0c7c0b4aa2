"""One proxied connection: its two sockets, the bytes between them, and when it ends.

Built on asyncio protocols rather than streams: bytes read from one side are written to the
other at once, and when a side's outgoing buffer passes its high-water mark the other side
stops reading (`pause_writing` -> `pause_reading`) until it drains. So each connection holds
at most one read plus one write buffer per direction, whatever the peers do, and a relay costs
one callback per read, not a task switch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from nono.net.egress_log import EgressRecord

State = Literal["head", "deciding", "relay", "refused", "closed"]

# After a refusal the client may still be sending (a POST body): its bytes are read and dropped
# for this long so that closing does not reset the connection before the answer is read.
LINGER = 1.0

WRITE_HIGH = 256 * 1024
RESPONSE_HEAD_MAX = 64 * 1024


class Connection:
    """The shared state of a client socket and (once connected) its upstream socket."""

    def __init__(self, loop: asyncio.AbstractEventLoop, head_max: int) -> None:
        self.loop = loop
        self.head_max = head_max
        self.state: State = "head"
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.head = bytearray()
        self.started = time.time()
        self.last_active = loop.time()
        self.bytes_up = 0
        self.bytes_down = 0
        self.error = ""
        self.eof_from: set[str] = set()
        self.rewrite_response = False  # plain HTTP: the origin's head is rewritten first
        self.record: EgressRecord | None = None  # what the log will say, once decided
        self.response_head = bytearray()
        # Set by the proxy: on_head gets the head and the bytes read after it; on_bad_head a
        # status and a reason when no head came (too slow, too large). Each at most once.
        self.on_head: Callable[[Connection, bytes, bytes], None] = lambda c, h, r: None
        self.on_bad_head: Callable[[Connection, int, str], None] = lambda c, s, w: None
        self.on_close: Callable[[Connection], None] = lambda c: None
        self._timer: asyncio.TimerHandle | None = None

    # -- timers -------------------------------------------------------------------------------

    def arm(self, seconds: float, why: str, idle: bool = False) -> None:
        """Close the connection after `seconds` (of no traffic, when `idle`), saying `why`."""
        self.disarm()

        def fire() -> None:
            quiet = self.loop.time() - self.last_active
            if idle and quiet < seconds:
                self._timer = self.loop.call_later(seconds - quiet, fire)
                return
            if self.state == "head":
                self._stop_reading()
                self.on_bad_head(self, 408, why)
            elif self.state == "refused":
                self.close()
            else:
                self.error = self.error or why
                self.close()

        self._timer = self.loop.call_later(seconds, fire)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- the relay ----------------------------------------------------------------------------

    def start_relay(self, first_up: bytes) -> None:
        """Both sockets are open and the client has its answer: pass bytes both ways."""
        assert self.client is not None and self.upstream is not None
        self.state = "relay"
        if first_up:
            self.bytes_up += len(first_up)
            self.upstream.write(first_up)
        self.client.resume_reading()

    def from_client(self, data: bytes) -> None:
        if self.state == "relay":
            assert self.upstream is not None
            self.last_active = self.loop.time()
            self.bytes_up += len(data)
            self.upstream.write(data)
        elif self.state == "head":
            self._head_bytes(data)
        # "deciding": reading is paused, so only bytes already read can arrive; they were
        # handed over with the head. "refused", "closed": dropped.

    def _head_bytes(self, data: bytes) -> None:
        start = max(0, len(self.head) - 3)
        self.head += data
        end = self.head.find(b"\r\n\r\n", start)
        if (end < 0 and len(self.head) > self.head_max) or end + 4 > self.head_max:
            self._stop_reading()
            self.on_bad_head(self, 431, f"request head over {self.head_max} bytes")
            return
        if end < 0:
            return
        head, rest = bytes(self.head[: end + 4]), bytes(self.head[end + 4 :])
        self._stop_reading()
        self.on_head(self, head, rest)

    def _stop_reading(self) -> None:
        """The head phase is over: hold the client's bytes until the proxy has decided."""
        self.head = bytearray()
        self.state = "deciding"
        self.disarm()
        assert self.client is not None
        self.client.pause_reading()

    def from_upstream(self, data: bytes) -> None:
        if self.state != "relay" or self.client is None:
            return
        self.last_active = self.loop.time()
        if self.rewrite_response:
            data = self._response_head_bytes(data)
            if not data:
                return
        self.bytes_down += len(data)
        self.client.write(data)

    def _response_head_bytes(self, data: bytes) -> bytes:
        from nono.net.http import BadRequest, rewrite_response_head

        self.response_head += data
        end = self.response_head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.response_head) > RESPONSE_HEAD_MAX:
                self.error = "the server's response head is over 64 KiB"
                self.close()
            return b""
        self.rewrite_response = False
        head, rest = bytes(self.response_head[: end + 4]), bytes(self.response_head[end + 4 :])
        self.response_head = bytearray()
        try:
            return rewrite_response_head(head) + rest
        except BadRequest as exc:
            self.error = str(exc)
            self.close()
            return b""

    def refuse(self, response: bytes) -> None:
        """Answer the client, stop sending, drop what it still sends, and close soon after."""
        if self.state == "closed" or self.client is None:
            return
        self.state = "refused"
        self.client.write(response)
        if self.client.can_write_eof():
            self.client.write_eof()
        self.client.resume_reading()
        self.arm(LINGER, "")

    def eof(self, side: str) -> None:
        """Half-close: pass the EOF on; when both sides have ended, close."""
        self.eof_from.add(side)
        other = self.upstream if side == "client" else self.client
        if self.state != "relay" or len(self.eof_from) == 2 or other is None:
            self.close()
        elif other.can_write_eof():
            other.write_eof()

    def close(self) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.disarm()
        for transport in (self.client, self.upstream):
            if transport is not None:
                transport.close()  # flushes what is buffered, then closes
        self.on_close(self)

    def abort(self) -> None:
        for transport in (self.client, self.upstream):
            if transport is not None:
                transport.abort()
        self.close()


class ClientSide(asyncio.Protocol):
    """The agent's socket: the request head, then the bytes it sends."""

    def __init__(self, accept: Callable[[asyncio.Transport], Connection | None]) -> None:
        self._accept = accept
        self.conn: Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.conn = self._accept(transport)

    def data_received(self, data: bytes) -> None:
        if self.conn is not None:
            self.conn.from_client(data)

    def eof_received(self) -> bool:
        if self.conn is not None:
            self.conn.eof("client")
        return True  # keep the socket: the answer may still be on its way

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            if exc is not None and not self.conn.error:
                self.conn.error = f"client: {exc}"
            self.conn.close()

    def pause_writing(self) -> None:
        if self.conn is not None and self.conn.upstream is not None:
            self.conn.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.conn is not None and self.conn.upstream is not None:
            self.conn.upstream.resume_reading()


class UpstreamSide(asyncio.Protocol):
    """The server's socket: everything it sends goes to the client."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.set_write_buffer_limits(high=WRITE_HIGH)

    def data_received(self, data: bytes) -> None:
        self.conn.from_upstream(data)

    def eof_received(self) -> bool:
        self.conn.eof("upstream")
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self.conn.error:
            self.conn.error = f"server: {exc}"
        self.conn.close()

    def pause_writing(self) -> None:
        if self.conn.client is not None and self.conn.state == "relay":
            self.conn.client.pause_reading()

    def resume_writing(self) -> None:
        if self.conn.client is not None and self.conn.state == "relay":
            self.conn.client.resume_reading()
