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

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
        if channel == LINK or channel in self.channels:
            raise LinkError(f"channel {channel} cannot be opened: it is in use")
        if len(self.channels) >= MAX_CHANNELS:
            refused = f"too many channels (at most {MAX_CHANNELS})"
        else:
            refused, reader, writer, opened = await connect(ref)
        if refused is not None:
            await self.send(wire.encode(channel, LinkKind.CLOSE, {"error": refused}))
            return
        task = asyncio.ensure_future(self.pump(channel, reader))
        self.channels[channel] = (writer, task)
        await self.send(wire.encode(channel, LinkKind.OPENED, opened))

    async def pump(self, channel: int, reader: asyncio.StreamReader) -> None:
        """The session socket's bytes to the link, until it closes."""
        with contextlib.suppress(OSError):
            while data := await reader.read(READ_CHUNK):
                await self.send(wire.encode_data(channel, data))
        if self.channels.pop(channel, None) is not None:
            with contextlib.suppress(OSError):
                await self.send(wire.encode(channel, LinkKind.CLOSE))


async def connect(ref: object) -> tuple[Any, Any, Any, dict[str, str]]:
    """(None, reader, writer, {id, name}) of the session `ref` names here, or (why not, ...)."""
    from nono.session import registry

    if not isinstance(ref, str) or not ref:
        return "OPEN names no session", None, None, {}
    try:
        record = registry.resolve(ref)
        reader, writer = await asyncio.open_unix_connection("\0" + record.socket)
    except NonoError as exc:
        return exc.one_line(), None, None, {}
    except OSError as exc:
        return f"cannot reach session {ref}: {exc.strerror or exc}", None, None, {}
    return None, reader, writer, {"id": record.id, "name": record.name}


class DirectRelay(Relay):
    """`nono relay SESSION`: one session for a one-shot command (attach, capture, ...). After
    the handshake and OPENED the stream is that session's socket byte for byte, with no link
    framing: a command needs one channel, and its own ssh."""

    async def run_direct(self, stdin: asyncio.StreamReader, ref: str) -> int:
        await self.send(wire.encode(LINK, LinkKind.HELLO, wire.hello()))
        decoder = LinkDecoder()
        try:
            frames: list[LinkFrame] = []
            while not frames:
                data = await stdin.read(READ_CHUNK)
                if not data:
                    return 0
                frames = decoder.feed(data)
            if len(frames) > 1 or decoder.pending:
                raise LinkError("the local side spoke before the session was opened")
            why = wire.mismatch(wire.read_hello(frames[0]), "here", "on the other side")
        except LinkError as exc:
            why = exc.message
        if why:
            await self.send(wire.encode(LINK, LinkKind.REFUSED, {"error": why}))
            return 1
        refused, reader, writer, opened = await connect(ref)
        if refused is not None:
            await self.send(wire.encode(1, LinkKind.CLOSE, {"error": refused}))
            return 1
        await self.send(wire.encode(1, LinkKind.OPENED, opened))
        return await self._copy(stdin, reader, writer)

    async def _copy(self, stdin: asyncio.StreamReader, reader: asyncio.StreamReader,
                    session: asyncio.StreamWriter) -> int:  # fmt: skip
        """Both ways until either side closes."""

        async def out() -> None:
            with contextlib.suppress(OSError):
                while data := await reader.read(READ_CHUNK):
                    await self.send(data)

        async def into() -> None:
            with contextlib.suppress(OSError):
                while data := await stdin.read(READ_CHUNK):
                    session.write(data)
                    await session.drain()

        tasks = [asyncio.ensure_future(out()), asyncio.ensure_future(into())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        session.close()
        return 0


def _listing() -> bytes:
    """Every session here (exited ones too), as `nono ps --json --all` gives them."""
    from nono.commands.ps import entry
    from nono.commands.sessions import activity_of
    from nono.session import registry

    records, _ = registry.list_records()
    return json.dumps([entry(r, activity_of(r)) for r in records]).encode()


async def _serve(session: str | None) -> int:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader(limit=READ_CHUNK)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin),
                                 os.fdopen(0, "rb", buffering=0))  # fmt: skip
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(1, "wb", buffering=0)
    )
    out = asyncio.StreamWriter(transport, protocol, None, loop)
    if session is not None:
        return await DirectRelay(out).run_direct(stdin, session)
    return await Relay(out).run(stdin)


def main(argv: list[str]) -> int:
    """`nono relay`: serve one link on stdin/stdout until the local side hangs up;
    `nono relay SESSION`: that session's socket alone (DirectRelay)."""
    from nono.session import registry

    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(f"nono: relay takes at most a session, got {' '.join(argv)}", file=sys.stderr)
        return 1
    try:
        registry.refuse_inside_sandbox()
    except NonoError as exc:
        print(f"nono: {exc.one_line()}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_serve(argv[0] if argv else None))
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the local side went away: nothing left to tell it
    except KeyboardInterrupt:
        return 130
