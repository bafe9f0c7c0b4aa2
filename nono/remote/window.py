"""Flow control per channel of a link, the same at both ends (remote/link.py, remote/relay.py).

Each side may send a channel at most WINDOW bytes of DATA that the other has not yet passed on;
the receiver says CREDIT(n) as its destination (a pane's Connection, a session's socket) takes
the bytes. So a reader that stops reading holds back its own channel only: the link's read loop
never waits on one channel's destination, and what waits for it is bounded by WINDOW. A side
that sends beyond the credit it was given loses the link (it is not a nono of this version)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import struct
from collections.abc import Callable

from nono.remote.wire import LinkError

WINDOW = 1 << 20  # ssh's own channel window is 2 MiB: this keeps one pane's share below it
RETURN_AT = WINDOW // 4  # credit goes back in pieces this big, not one frame per DATA frame
CREDIT = struct.Struct(">I")


def credit_payload(amount: int) -> bytes:
    return CREDIT.pack(amount)


def read_credit(payload: bytes) -> int:
    if len(payload) != CREDIT.size:
        raise LinkError(f"garbled CREDIT frame ({len(payload)} bytes)")
    (amount,) = CREDIT.unpack(payload)
    if not 0 < amount <= WINDOW:
        raise LinkError(f"CREDIT of {amount} bytes is outside the window")
    return amount


class SendWindow:
    """What this side may still send on one channel; its one sender waits while it is 0."""

    def __init__(self) -> None:
        self.credit = WINDOW
        self._open = asyncio.Event()
        self._open.set()

    async def wait(self) -> int:
        """The credit, once there is some (the only spender is the caller, so it stays)."""
        await self._open.wait()
        return self.credit

    def spend(self, n: int) -> None:
        self.credit -= n
        if self.credit <= 0:
            self._open.clear()

    def grant(self, n: int) -> None:
        if self.credit + n > WINDOW:
            raise LinkError("CREDIT beyond the window: more than was sent came back")
        self.credit += n
        self._open.set()


class Inbox:
    """One channel's received DATA on its way to `writer` (which may be slow): held here, at
    most WINDOW bytes, and credit said back through `send_credit` as the writer takes it."""

    def __init__(self, writer: asyncio.StreamWriter, send_credit: Callable[[int], None]) -> None:
        self.writer = writer
        self.send_credit = send_credit
        self.allowed = WINDOW  # what the far side may still send before credit comes back
        self.queue: collections.deque[bytes] = collections.deque()
        self.ready = asyncio.Event()
        self.finishing = False
        self.task = asyncio.ensure_future(self._deliver())

    def put(self, payload: bytes) -> None:
        if len(payload) > self.allowed:
            raise LinkError("DATA beyond the channel's window")
        self.allowed -= len(payload)
        self.queue.append(payload)
        self.ready.set()

    def finish(self) -> None:
        """Pass on what is held, then close the writer (the far side closed the channel)."""
        self.finishing = True
        self.ready.set()

    def abort(self) -> None:
        """Close now, dropping what is held (this side's reader is gone)."""
        self.task.cancel()
        self.writer.close()

    async def _deliver(self) -> None:
        owed = 0
        try:
            while True:
                while not self.queue:
                    if self.finishing:
                        return
                    self.ready.clear()
                    await self.ready.wait()
                data = self.queue.popleft()
                self.writer.write(data)
                await self.writer.drain()
                owed += len(data)
                if owed >= RETURN_AT and not self.finishing:
                    self.allowed += owed
                    self.send_credit(owed)
                    owed = 0
        except OSError:
            pass  # the destination went away: its channel closes by its own path
        finally:
            with contextlib.suppress(Exception):
                self.writer.close()
