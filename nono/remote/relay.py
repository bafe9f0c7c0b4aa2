"""`nono relay`: the remote end of a link, run by ssh on the session's host. It speaks link
frames (remote/wire.py) on its stdin and stdout and relays each channel's bytes to and from
one session's abstract socket there, as a local client would connect to it: the supervisor
sees an ordinary client of its own user, and the sandbox is the remote kernel's.

Hidden from `nono --help`: it is for a nono at the other end of ssh, not for a person."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys

from nono.errors import NonoError
from nono.remote import wire
from nono.remote.wire import LINK, LinkDecoder, LinkError, LinkFrame, LinkKind

MAX_CHANNELS = 256  # a link is a dashboard's panes: far fewer
READ_CHUNK = 1 << 18


class Relay:
    """One link's remote end: its output stream and its open channels (channel id -> the
    session socket's writer, and the task copying that socket's bytes back)."""

    def __init__(self, out: asyncio.StreamWriter) -> None:
        self.out = out
        self.channels: dict[int, tuple[asyncio.StreamWriter, asyncio.Task[None]]] = {}

    async def send(self, data: bytes) -> None:
        self.out.write(data)
        await self.out.drain()

    async def run(self, stdin: asyncio.StreamReader) -> int:
        await self.send(wire.encode(LINK, LinkKind.HELLO, wire.hello()))
        decoder = LinkDecoder()
        greeted = False
        try:
            while data := await stdin.read(READ_CHUNK):
                for frame in decoder.feed(data):
                    if not greeted:
                        why = wire.mismatch(wire.read_hello(frame), "here", "on the other side")
                        if why:
                            await self.send(wire.encode(LINK, LinkKind.REFUSED, {"error": why}))
                            return 1
                        greeted = True
                        continue
                    await self.on_frame(frame)
        except LinkError as exc:
            with contextlib.suppress(OSError):
                await self.send(wire.encode(LINK, LinkKind.REFUSED, {"error": exc.message}))
            return 1
        finally:
            for writer, task in list(self.channels.values()):
                task.cancel()
                writer.close()
        return 0

    async def on_frame(self, frame: LinkFrame) -> None:
        channel = frame.channel
        if frame.kind == LinkKind.DATA:
            if channel in self.channels:  # else closed on this side meanwhile: drop it
                writer = self.channels[channel][0]
                writer.write(frame.payload)
                with contextlib.suppress(OSError):
                    await writer.drain()
        elif frame.kind == LinkKind.OPEN:
            await self.open(channel, frame.json().get("session"))
        elif frame.kind == LinkKind.CLOSE:
            if channel in self.channels:
                writer, task = self.channels.pop(channel)
                task.cancel()
                writer.close()
        elif frame.kind == LinkKind.LIST:
            await self.send(wire.encode(channel, LinkKind.LISTED, _listing()))
        else:
            raise LinkError(f"unexpected {frame.kind.name} frame from the local side")

    async def open(self, channel: int, ref: object) -> None:
        def refuse(message: str) -> bytes:
            return wire.encode(channel, LinkKind.CLOSE, {"error": message})

        if channel == LINK or channel in self.channels:
            raise LinkError(f"channel {channel} cannot be opened: it is in use")
        if len(self.channels) >= MAX_CHANNELS:
            await self.send(refuse(f"too many channels (at most {MAX_CHANNELS})"))
            return
        if not isinstance(ref, str) or not ref:
            await self.send(refuse("OPEN names no session"))
            return
        from nono.session import registry

        try:
            record = registry.resolve(ref)
            reader, writer = await asyncio.open_unix_connection("\0" + record.socket)
        except NonoError as exc:
            await self.send(refuse(exc.one_line()))
            return
        except OSError as exc:
            await self.send(refuse(f"cannot reach session {ref}: {exc.strerror or exc}"))
            return
        task = asyncio.ensure_future(self.pump(channel, reader))
        self.channels[channel] = (writer, task)
        await self.send(wire.encode(channel, LinkKind.OPENED, {"id": record.id,
                                                               "name": record.name}))  # fmt: skip

    async def pump(self, channel: int, reader: asyncio.StreamReader) -> None:
        """The session socket's bytes to the link, until it closes."""
        with contextlib.suppress(OSError):
            while data := await reader.read(READ_CHUNK):
                await self.send(wire.encode_data(channel, data))
        if self.channels.pop(channel, None) is not None:
            with contextlib.suppress(OSError):
                await self.send(wire.encode(channel, LinkKind.CLOSE))


def _listing() -> bytes:
    """Every session here (exited ones too), as `nono ps --json --all` gives them."""
    from nono.commands.ps import entry
    from nono.commands.sessions import activity_of
    from nono.session import registry

    records, _ = registry.list_records()
    return json.dumps([entry(r, activity_of(r)) for r in records]).encode()


async def _serve() -> int:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=READ_CHUNK)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin),
                                 os.fdopen(0, "rb", buffering=0))  # fmt: skip
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(1, "wb", buffering=0)
    )
    out = asyncio.StreamWriter(transport, protocol, None, loop)
    return await Relay(out).run(stdin)


def main(argv: list[str]) -> int:
    """`nono relay`: serve one link on stdin/stdout until the local side hangs up."""
    from nono.session import registry

    if argv:
        print(f"nono: relay takes no arguments, got {' '.join(argv)}", file=sys.stderr)
        return 1
    try:
        registry.refuse_inside_sandbox()
    except NonoError as exc:
        print(f"nono: {exc.one_line()}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_serve())
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the local side went away: nothing left to tell it
    except KeyboardInterrupt:
        return 130
