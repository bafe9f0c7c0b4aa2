"""One connection to a session peer: typed messages out, frames in, over one Decoder.

The same object serves a blocking caller (`nono attach` and nono's commands, on a socket) and an
asyncio one (the dashboard's panes and the supervisor's side of each client, on a stream pair),
so the framing, the handshake and what a hang-up means are decided once, here:

- `read()` / `aread()` give the next frame, or None when the peer closed between two frames;
  a peer that closes in the middle of a frame, or sends one that cannot be framed, raises
  ProtocolError naming what was wrong.
- `handshake()` / `ahandshake()` send a Hello and return the Welcome, or raise Refusal (whose
  `reason` code is what a client decides on) or ProtocolError.
"""

from __future__ import annotations

import contextlib
import socket
from collections import deque

from nono.session.protocol import (
    Decoder,
    Frame,
    ProtocolError,
    Welcome,
    read_response,
    read_welcome,
)

# typing and asyncio cost `nono attach` ~5 and ~15 ms to import; annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from typing import Any, Protocol

    from nono.session.protocol import Hello

    class Message(Protocol):
        def encode(self) -> bytes: ...


CHUNK = 1 << 18  # bytes asked of the socket per read: a full screen frame in one or two reads


class Connection:
    """A socket (blocking use) or an asyncio stream pair (async use), and the frames read from
    it but not yet taken."""

    def __init__(
        self,
        sock: socket.socket | None = None,
        *,
        reader: asyncio.StreamReader | None = None,
        writer: asyncio.StreamWriter | None = None,
        chunk: int = CHUNK,
    ) -> None:
        if (sock is None) == (reader is None or writer is None):
            raise ValueError("a Connection has a socket, or a reader and a writer")
        self.sock = sock
        self.reader = reader
        self.writer = writer
        self.chunk = chunk
        self.decoder = Decoder()
        self.queued: deque[Frame] = deque()

    @classmethod
    def connect(cls, address: str) -> Connection:
        """A blocking connection to the Unix socket `address` ("\\0name" for an abstract one)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return cls(sock)

    @classmethod
    async def open(cls, address: str, timeout: float = 5) -> Connection:
        """An asyncio connection to the Unix socket `address`."""
        import asyncio

        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(address), timeout)
        return cls(reader=reader, writer=writer)

    # ------------------------------------------------------------ out

    def send(self, *messages: Message | bytes) -> None:
        """Encode and send messages (or frames already encoded, such as encode_input's). An
        asyncio connection buffers them in its transport; a blocking one sends them all now."""
        data = b"".join(m if isinstance(m, bytes) else m.encode() for m in messages)
        if self.writer is not None:
            self.writer.write(data)
        else:
            assert self.sock is not None
            self.sock.sendall(data)

    # ------------------------------------------------------------ in

    def _arrived(self, data: bytes) -> bool:
        """Frame what came; False at the end of the stream."""
        if not data:
            if self.decoder.pending:
                raise ProtocolError(
                    f"the connection closed in the middle of a frame "
                    f"({self.decoder.pending} bytes of it had come)"
                )
            return False
        self.queued.extend(self.decoder.feed(data))
        return True

    def take_queued(self) -> list[Frame]:
        """The frames read but not yet taken (those that came with a Welcome, say)."""
        frames = list(self.queued)
        self.queued.clear()
        return frames

    def read(self, timeout: float | None = None) -> Frame | None:
        """Blocking: the next frame, or None when the peer hangs up. Raises TimeoutError after
        `timeout` seconds without a whole frame, OSError, or ProtocolError."""
        if self.queued:
            return self.queued.popleft()
        assert self.sock is not None, "read() is for a blocking connection; use aread()"
        self.sock.settimeout(timeout)
        try:
            while not self.queued:
                if not self._arrived(self.sock.recv(self.chunk)):
                    return None
        finally:
            self.sock.settimeout(None)
        return self.queued.popleft()

    def response(self, op: str, deadline: float | None) -> dict[str, Any] | None:
        """Blocking: the answer to request `op`, None if the peer hung up first; TimeoutError
        when `deadline` (time.monotonic()) passes. Frames in between (output, an EXIT) are
        not the answer and are dropped. NonoError for a failed request."""
        import time

        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            frame = self.read(left)
            if frame is None:
                return None
            answer = read_response(frame, op)
            if answer is not None:
                return answer

    def read_ready(self) -> list[Frame] | None:
        """Blocking, for a caller that polls the socket: one read (it is readable), and the
        frames it completed (maybe none); None when the peer hung up."""
        assert self.sock is not None, "read_ready() is for a blocking connection"
        if not self._arrived(self.sock.recv(self.chunk)):
            return None
        return self.take_queued()

    async def aread(self, timeout: float | None = None) -> Frame | None:
        """asyncio: the next frame, or None when the peer hangs up. Raises TimeoutError after
        `timeout` seconds without a whole frame, OSError, or ProtocolError."""
        if self.queued:
            return self.queued.popleft()
        assert self.reader is not None, "aread() is for an asyncio connection; use read()"
        if timeout is None:
            while not self.queued:
                if not self._arrived(await self.reader.read(self.chunk)):
                    return None
            return self.queued.popleft()
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.queued:
            left = max(deadline - loop.time(), 0.0)
            if not self._arrived(await asyncio.wait_for(self.reader.read(self.chunk), left)):
                return None
        return self.queued.popleft()

    # ------------------------------------------------------------ the handshake

    def handshake(self, hello: Hello, timeout: float | None = 30) -> Welcome:
        """Blocking: introduce ourselves; the Welcome, or Refusal (with its reason code), or
        ProtocolError (a hang-up instead of an answer included). Frames that came with the
        Welcome stay queued."""
        self.send(hello)
        return read_welcome(self.read(timeout))

    async def ahandshake(self, hello: Hello, timeout: float | None = 5) -> Welcome:
        """asyncio: as handshake()."""
        self.send(hello)
        return read_welcome(await self.aread(timeout))

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
