"""The local end of a link: one `ssh HOST nono relay` per host, and channels over it, each a
byte stream that session/connection.py's Connection reads as if it were a session's socket.

A channel is one end of a socketpair: the caller's Connection owns the other end, and the link
copies between its end and the ssh stream. So a remote pane is a Connection like a local one
(the same framing, handshake and hang-up). Each channel is paced on its own by credit
(remote/window.py): a pane that stops reading never holds back another's bytes.
Everything the remote side sends is untrusted: link frames are bounded (remote/wire.py), its
words are cleaned before they reach an error message, and nothing it sends is ever run."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket

from nono.errors import NonoError
from nono.remote import wire
from nono.remote.hosts import KEEPALIVE, Host, ssh_argv
from nono.remote.window import Inbox, SendWindow, credit_payload, read_credit
from nono.remote.wire import LINK, LinkDecoder, LinkError, LinkFrame, LinkKind, LinkLost
from nono.session.activity import clean_text
from nono.session.connection import Connection

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from nono.remote.listing import Listed

__all__ = ["Link", "LinkLost"]

READ_CHUNK = 1 << 18
STDERR_KEPT = 16 * 1024  # of ssh's own stderr, for the error that says why a link failed


class _Channel:
    """The link's end of one channel: the socket it copies to and from, that copy (out), the
    host's bytes on their way in, and the credit the host gave for more."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self.inbox: Inbox | None = None
        self.window = SendWindow()

    def close(self) -> None:
        """The host closed it (or the link is gone): what came is still passed on, then the
        caller's Connection reads the hang-up."""
        if self.task is not None:
            self.task.cancel()
        if self.inbox is not None:
            self.inbox.finish()
        elif self.writer is not None:
            self.writer.close()
        else:
            self.sock.close()


class Link:
    """One ssh process to `host` running `nono relay`, and the channels open over it."""

    def __init__(self, host: Host, proc: asyncio.subprocess.Process) -> None:
        self.host = host
        self.proc = proc
        self.ids = itertools.count(1)
        self.channels: dict[int, _Channel] = {}
        self.waiting: dict[int, asyncio.Future[LinkFrame]] = {}
        self.lost: str | None = None  # why the link ended, once it has
        self.reader_task: asyncio.Task[None] | None = None
        self.stderr = bytearray()

    # ------------------------------------------------------------ opening

    @classmethod
    async def open(cls, host: Host, timeout: float = 30) -> Link:
        """Start ssh and the relay on `host` and greet it; LinkLost when it cannot be reached,
        is not a nono relay, or is another nono version (the error names both)."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *ssh_argv(host, ["relay"], options=KEEPALIVE), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C meant for the dashboard is not ssh's
            )  # fmt: skip
        except OSError as exc:
            raise LinkLost(f"host {host.name}: cannot run ssh: {exc.strerror or exc}") from None
        link = cls(host, proc)
        try:
            await asyncio.wait_for(link._greet(), timeout)
        except TimeoutError:
            await link.close()
            raise LinkLost(
                f"host {host.name}: no answer from its nono in {timeout:.0f} s"
            ) from None
        except BaseException:
            await link.close()
            raise
        link.reader_task = asyncio.ensure_future(link._read_loop())
        return link

    async def _greet(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stderr_task = asyncio.ensure_future(self._keep_stderr())
        self.proc.stdin.write(wire.encode(LINK, LinkKind.HELLO, wire.hello()))
        self.decoder = LinkDecoder()
        self.early: list[LinkFrame] = []
        while not self.early:
            data = await self.proc.stdout.read(READ_CHUNK)
            if not data:
                raise await self._failed_to_start()
            try:
                self.early = self.decoder.feed(data)
            except LinkError:
                hint = f"does `{clean_text(self.host.nono)}` run nono there?"
                raise LinkLost(f"host {self.host.name}: its answer is not a nono relay",
                               hint) from None  # fmt: skip
        try:
            theirs = wire.read_hello(self.early.pop(0))
        except LinkError:
            raise LinkLost(f"host {self.host.name}: its answer is not a nono relay") from None
        why = wire.mismatch(theirs, "here", f"on {self.host.name}")
        if why:
            raise LinkLost(why, "install the same nono on both hosts")

    async def _failed_to_start(self) -> LinkLost:
        code = await self.proc.wait()
        await self._stderr_task
        lines = [ln for ln in self.stderr.decode(errors="replace").splitlines() if ln.strip()]
        said = clean_text(lines[-1]) if lines else f"exit status {code}"
        what = "cannot reach it (ssh failed)" if code == 255 else "its nono relay did not start"
        return LinkLost(f"host {self.host.name}: {what}: {said}")

    async def _keep_stderr(self) -> None:
        assert self.proc.stderr is not None
        while data := await self.proc.stderr.read(4096):
            self.stderr += data
            del self.stderr[:-STDERR_KEPT]

    # ------------------------------------------------------------ channels

    async def channel(self, session: str, timeout: float = 30) -> Connection:
        """A Connection to `session` (a name or id on the host) through the link; the caller
        does the session handshake on it as on a local socket. NonoError when the host says
        no (no such session, ...) or the link is lost."""
        channel = next(self.ids)
        # Ready before OPEN is sent: the host's first bytes may follow OPENED at once.
        theirs, ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        chan = _Channel(theirs)
        reader, chan.writer = await asyncio.open_unix_connection(sock=theirs)
        chan.inbox = Inbox(chan.writer, lambda n: self._credit(channel, n))
        reader2, writer2 = await asyncio.open_unix_connection(sock=ours)
        self.channels[channel] = chan
        try:
            opened = await self._ask(channel, LinkKind.OPEN, {"session": session}, timeout)
            if opened.kind != LinkKind.OPENED:
                raise NonoError(f"host {self.host.name}: {self._said(opened, 'refused')}")
        except BaseException:
            self.channels.pop(channel, None)
            chan.inbox.abort()
            writer2.close()
            raise
        chan.task = asyncio.ensure_future(self._pump(channel, chan, reader))
        return Connection(reader=reader2, writer=writer2)

    async def sessions(self, timeout: float = 30) -> list[Listed]:
        """The host's sessions (exited ones too), as `nono ps --all` would list them there."""
        import time

        from nono.remote.listing import RemoteAnswerError, parse_ps

        listed = await self._ask(next(self.ids), LinkKind.LIST, b"", timeout)
        if listed.kind != LinkKind.LISTED:
            raise NonoError(f"host {self.host.name}: {self._said(listed, 'no listing')}")
        try:
            return parse_ps(listed.payload, self.host.name, time.time())
        except RemoteAnswerError as exc:
            raise NonoError(f"host {self.host.name}: {exc.message}") from None

    async def _ask(self, channel: int, kind: LinkKind, body: bytes | dict[str, object],
                   timeout: float) -> LinkFrame:  # fmt: skip
        if self.lost is not None:
            raise LinkLost(self.lost)
        answer: asyncio.Future[LinkFrame] = asyncio.get_running_loop().create_future()
        self.waiting[channel] = answer
        try:
            self._send(wire.encode(channel, kind, body))
            return await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise NonoError(f"host {self.host.name}: no answer in {timeout:.0f} s") from None
        finally:
            self.waiting.pop(channel, None)

    def _said(self, frame: LinkFrame, default: str) -> str:
        try:
            return clean_text(str(frame.json().get("error") or default))
        except LinkError:
            return default

    def _send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def _credit(self, channel: int, amount: int) -> None:
        if self.lost is None and channel in self.channels:
            with contextlib.suppress(OSError):
                self._send(wire.encode(channel, LinkKind.CREDIT, credit_payload(amount)))

    async def _pump(self, channel: int, chan: _Channel, reader: asyncio.StreamReader) -> None:
        """What the caller's Connection writes, to the remote session, until it closes; no
        more at a time than the host has room for on this channel."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            while data := await reader.read(min(READ_CHUNK, await chan.window.wait())):
                chan.window.spend(len(data))
                self._send(wire.encode_data(channel, data))
                await self.proc.stdin.drain()
        if self.channels.pop(channel, None) is not None and self.lost is None:
            with contextlib.suppress(OSError):
                self._send(wire.encode(channel, LinkKind.CLOSE))
        if chan.inbox is not None:
            chan.inbox.abort()  # the caller closed its end: close ours, not this task

    # ------------------------------------------------------------ the stream from the host

    async def _read_loop(self) -> None:
        assert self.proc.stdout is not None
        why = "the connection closed"
        try:
            frames = self.early
            while True:
                for frame in frames:
                    await self._on_frame(frame)
                data = await self.proc.stdout.read(READ_CHUNK)
                if not data:
                    break
                frames = self.decoder.feed(data)
        except LinkError as exc:
            why = f"garbled data: {exc.message}"
        except (OSError, ConnectionError) as exc:
            why = str(exc)
        self._lose(f"host {self.host.name}: link lost ({why})")

    async def _on_frame(self, frame: LinkFrame) -> None:
        if frame.kind == LinkKind.DATA:
            chan = self.channels.get(frame.channel)
            if chan is not None and chan.inbox is not None:
                chan.inbox.put(frame.payload)  # never waits: the window bounds what it holds
            return
        if frame.kind == LinkKind.CREDIT:
            amount = read_credit(frame.payload)
            chan = self.channels.get(frame.channel)
            if chan is not None:
                chan.window.grant(amount)
            return
        if frame.kind == LinkKind.REFUSED and frame.channel == LINK:
            raise LinkError(f"the relay refused: {self._said(frame, 'refused')}")
        if frame.kind in (LinkKind.OPENED, LinkKind.LISTED, LinkKind.CLOSE):
            waiting = self.waiting.get(frame.channel)
            if waiting is not None and not waiting.done():
                waiting.set_result(frame)
                return
            if frame.kind == LinkKind.CLOSE:
                chan = self.channels.pop(frame.channel, None)
                if chan is not None:
                    chan.close()  # the caller's Connection reads the hang-up
            elif frame.kind == LinkKind.OPENED and frame.channel not in self.channels:
                # An answer that came after its caller stopped waiting: let the session go.
                self._send(wire.encode(frame.channel, LinkKind.CLOSE))
            return
        raise LinkError(f"unexpected {frame.kind.name} frame on channel {frame.channel}")

    def _lose(self, why: str) -> None:
        if self.lost is None:
            self.lost = why
        for waiting in self.waiting.values():
            if not waiting.done():
                waiting.set_exception(LinkLost(why))
        for chan in self.channels.values():
            chan.close()
        self.channels.clear()

    # ------------------------------------------------------------ closing

    async def _discard_output(self) -> None:
        if self.reader_task is not None and not self.reader_task.done():
            return  # the read loop is still reading it
        assert self.proc.stdout is not None
        with contextlib.suppress(OSError):
            while await self.proc.stdout.read(READ_CHUNK):
                pass

    async def close(self) -> None:
        """End the link: its channels close, ssh exits; the remote sessions keep running."""
        self._lose(f"host {self.host.name}: link closed")
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        # What the host still sends is read and dropped: a link lost while it sent (garbled,
        # over its credit) left ssh's output unread, and asyncio's wait() for a process waits
        # for its pipes to close too.
        discard = asyncio.ensure_future(self._discard_output())
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        for task in (self.reader_task, getattr(self, "_stderr_task", None), discard):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
