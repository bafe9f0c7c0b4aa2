"""Moving bytes for the proxy: reading a bounded head, and relaying both ways with splice(2).

The relay never copies payload into Python: each direction splices socket -> pipe -> socket
in the kernel, waiting on the event loop whenever a socket has nothing to read or no room to
write. The pipe is the only buffer, so a connection holds at most two pipes' worth of bytes
whatever its peers do (backpressure is the socket not being writable), and a direction that
always has data yields to the loop every few MiB so one download cannot starve the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from collections.abc import Awaitable, Callable

PIPE_SIZE = 256 * 1024
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_SPLICE = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
_FAIRNESS = 4 * 1024 * 1024  # bytes a direction moves before letting other tasks run


class HeadError(Exception):
    """No usable head: `status` is the answer (431 too large) or 0 (the peer hung up)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


async def _ready(loop: asyncio.AbstractEventLoop, sock: socket.socket, write: bool) -> None:
    fut: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()

    def wake() -> None:
        if not fut.done():
            fut.set_result(None)

    if write:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await fut
    finally:
        if write:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def read_head(sock: socket.socket, limit: int) -> tuple[bytes, bytes]:
    """Read up to CRLF CRLF -> (head, bytes read after it). Never holds more than `limit`+1
    bytes: each read asks only for what is left of the allowance."""
    loop = asyncio.get_running_loop()
    buf = bytearray()
    while True:
        chunk = await loop.sock_recv(sock, min(65536, limit + 1 - len(buf)))
        if not chunk:
            raise HeadError(0, "closed before the head was complete")
        start = max(0, len(buf) - 3)
        buf += chunk
        end = buf.find(b"\r\n\r\n", start)
        if end >= 0 and end + 4 <= limit:
            return bytes(buf[: end + 4]), bytes(buf[end + 4 :])
        if len(buf) > limit or end >= 0:
            raise HeadError(431, f"head over {limit} bytes")


async def pump(src: socket.socket, dst: socket.socket, count: Callable[[int], None]) -> None:
    """src -> dst until src ends, then end dst's sending side (a half-close passed on)."""
    loop = asyncio.get_running_loop()
    r, w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        with contextlib.suppress(OSError):  # a smaller pipe is slower, not wrong
            fcntl.fcntl(w, _F_SETPIPE_SZ, PIPE_SIZE)
        moved = 0
        while True:
            try:
                n = os.splice(src.fileno(), w, PIPE_SIZE, flags=_SPLICE)
            except BlockingIOError:
                await _ready(loop, src, write=False)
                moved = 0
                continue
            if n == 0:
                break
            count(n)
            moved += n
            while n:
                try:
                    n -= os.splice(r, dst.fileno(), n, flags=_SPLICE)
                except BlockingIOError:
                    await _ready(loop, dst, write=True)
            if moved > _FAIRNESS:
                moved = 0
                await asyncio.sleep(0)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
    finally:
        os.close(r)
        os.close(w)


class Traffic:
    """Bytes each way and when the last moved (the idle timeout's clock)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.up = 0
        self.down = 0
        self.last = loop.time()

    def add_up(self, n: int) -> None:
        self.up += n
        self.last = self.loop.time()

    def add_down(self, n: int) -> None:
        self.down += n
        self.last = self.loop.time()


async def relay(
    client: socket.socket,
    upstream: socket.socket,
    traffic: Traffic,
    idle: float,
    response_head: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """Both ways until both sides have ended, one fails, or nothing moved for `idle` seconds.
    `response_head`, when given, handles the start of the server's answer before the rest is
    spliced (while the client's request body still flows up). Returns "" or what ended it
    early (for the log)."""
    loop = asyncio.get_running_loop()

    async def downstream() -> None:
        if response_head is not None:
            await response_head()
        await pump(upstream, client, traffic.add_down)

    up = loop.create_task(pump(client, upstream, traffic.add_up))
    down = loop.create_task(downstream())
    pending = {up, down}
    error = ""
    try:
        while pending:
            wait = max(0.0, traffic.last + idle - loop.time())
            done, pending = await asyncio.wait(pending, timeout=wait)
            for task in done:
                exc = task.exception()
                if exc is not None:
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                    return f"{'sending' if task is up else 'receiving'}: {why}"
            if not done and loop.time() - traffic.last >= idle:
                return f"idle for {idle:g} s"
        return error
    finally:
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)


async def linger(sock: socket.socket, seconds: float) -> None:
    """After a refusal: stop sending, and read and drop what the client still sends (a POST
    body) for a moment, so that closing does not reset the connection before it reads why."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(seconds):
            while await loop.sock_recv(sock, 65536):
                pass
