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
from nono.remote.window import Inbox, SendWindow, credit_payload, read_credit
from nono.remote.wire import LINK, LinkDecoder, LinkError, LinkFrame, LinkKind

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_CHANNELS = 256  # a link is a dashboard's panes: far fewer
READ_CHUNK = 1 << 18


class _Open:
    """One open channel here: the local side's bytes on their way into the session's socket,
    the task copying that socket's bytes back, and the credit the local side gave for them."""

    def __init__(self, inbox: Inbox, window: SendWindow) -> None:
        self.inbox = inbox
        self.window = window
        self.task: asyncio.Task[None] | None = None

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.inbox.finish()


class Relay:
    """One link's remote end: its output stream and its open channels."""

    def __init__(self, out: asyncio.StreamWriter) -> None:
        self.out = out
        self.channels: dict[int, _Open] = {}

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
            for chan in list(self.channels.values()):
                if chan.task is not None:
                    chan.task.cancel()
                chan.inbox.abort()
        return 0

    async def on_frame(self, frame: LinkFrame) -> None:
        channel = frame.channel
        if frame.kind == LinkKind.DATA:
            if channel in self.channels:  # else closed on this side meanwhile: drop it
                self.channels[channel].inbox.put(frame.payload)  # the window bounds it
        elif frame.kind == LinkKind.CREDIT:
            amount = read_credit(frame.payload)
            if channel in self.channels:
                self.channels[channel].window.grant(amount)
        elif frame.kind == LinkKind.OPEN:
            await self.open(channel, frame.json().get("session"))
        elif frame.kind == LinkKind.CLOSE:
            if channel in self.channels:
                self.channels.pop(channel).close()
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
        chan = _Open(Inbox(writer, lambda n: self._credit(channel, n)), SendWindow())
        self.channels[channel] = chan
        chan.task = asyncio.ensure_future(self.pump(channel, reader, chan.window))
        await self.send(wire.encode(channel, LinkKind.OPENED, opened))

    def _credit(self, channel: int, amount: int) -> None:
        if channel in self.channels:
            self.out.write(wire.encode(channel, LinkKind.CREDIT, credit_payload(amount)))

    async def pump(self, channel: int, reader: asyncio.StreamReader, window: SendWindow) -> None:
        """The session socket's bytes to the link, until it closes; no more at a time than
        the local side has room for on this channel (a pane that stops reading holds back
        its own session, whose supervisor paces or drops that client, and no other)."""
        with contextlib.suppress(OSError):
            while data := await reader.read(min(READ_CHUNK, await window.wait())):
                window.spend(len(data))
                await self.send(wire.encode_data(channel, data))
        chan = self.channels.pop(channel, None)
        if chan is not None:
            chan.inbox.abort()  # the session hung up: nothing more goes into its socket
            with contextlib.suppress(OSError):
                await self.send(wire.encode(channel, LinkKind.CLOSE))


def find(ref: object) -> tuple[str | None, Any]:
    """(None, record) of the session `ref` names here, or (why not, None): both modes'."""
    from nono.session import registry

    if not isinstance(ref, str) or not ref:
        return "OPEN names no session", None
    try:
        return None, registry.resolve(ref)
    except NonoError as exc:
        return exc.one_line(), None


async def connect(ref: object) -> tuple[Any, Any, Any, dict[str, str]]:
    """(None, reader, writer, {id, name}) of the session `ref` names here, or (why not, ...)."""
    refused, record = find(ref)
    if refused is not None:
        return refused, None, None, {}
    try:
        reader, writer = await asyncio.open_unix_connection("\0" + record.socket)
    except OSError as exc:
        return f"cannot reach session {ref}: {exc.strerror or exc}", None, None, {}
    return None, reader, writer, {"id": record.id, "name": record.name}


def run_direct(ref: str, stdin: int = 0, stdout: int = 1) -> int:
    """`nono relay SESSION`: one session for a one-shot command (attach, capture, ...). After
    the handshake and OPENED the stream is that session's socket byte for byte, with no link
    framing: a command needs one channel, and its own ssh. No event loop: a keystroke's round
    trip crosses this twice, and a poll loop on raw descriptors is the shortest way across
    (bench/remote.py: asyncio streams here cost ~0.3 ms of a remote echo)."""
    import socket

    _write_all(stdout, wire.encode(LINK, LinkKind.HELLO, wire.hello()))
    decoder = LinkDecoder()
    try:
        frames: list[LinkFrame] = []
        while not frames:
            data = os.read(stdin, READ_CHUNK)
            if not data:
                return 0
            frames = decoder.feed(data)
        if len(frames) > 1 or decoder.pending:
            raise LinkError("the local side spoke before the session was opened")
        why = wire.mismatch(wire.read_hello(frames[0]), "here", "on the other side")
    except LinkError as exc:
        why = exc.message
    if why:
        _write_all(stdout, wire.encode(LINK, LinkKind.REFUSED, {"error": why}))
        return 1
    refused, record = find(ref)
    session = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    if refused is None:
        try:
            session.connect("\0" + record.socket)
        except OSError as exc:
            refused = f"cannot reach session {ref}: {exc.strerror or exc}"
    if refused is not None:
        session.close()
        _write_all(stdout, wire.encode(1, LinkKind.CLOSE, {"error": refused}))
        return 1
    _write_all(stdout, wire.encode(1, LinkKind.OPENED, {"id": record.id, "name": record.name}))
    with session:
        pump(stdin, session.fileno(), session.fileno(), stdout)
    return 0


def pump(a_in: int, b_out: int, b_in: int, a_out: int) -> None:
    """Copy a_in -> b_out and b_in -> a_out until either source ends or a write fails. Each
    way holds at most one chunk while its destination is full, and a full destination never
    stops the other way (non-blocking writes, polled for room)."""
    import select

    ways = ((a_in, b_out), (b_in, a_out))  # (source, destination)
    held = [b"", b""]  # what each way read and its destination has not taken yet
    for fd in {a_in, b_out, b_in, a_out}:
        os.set_blocking(fd, False)
    poller = select.poll()
    while True:
        wanted: dict[int, int] = {}
        for (src, dst), pending in zip(ways, held, strict=True):
            fd, event = (dst, select.POLLOUT) if pending else (src, select.POLLIN)
            wanted[fd] = wanted.get(fd, 0) | event
        for fd, events in wanted.items():
            poller.register(fd, events)
        ready = dict(poller.poll())
        for fd in wanted:
            poller.unregister(fd)
        for i, (src, dst) in enumerate(ways):
            try:
                if not held[i] and ready.get(src):
                    held[i] = os.read(src, READ_CHUNK)
                    if not held[i]:
                        return
                if held[i]:
                    held[i] = held[i][os.write(dst, held[i]) :]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                return


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


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
    """`nono relay`: serve one link on stdin/stdout until the local side hangs up;
    `nono relay SESSION`: that session's socket alone (run_direct)."""
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
        if argv:
            return run_direct(argv[0])
        return asyncio.run(_serve())
    except (BrokenPipeError, ConnectionResetError):
        return 0  # the local side went away: nothing left to tell it
    except KeyboardInterrupt:
        return 130
