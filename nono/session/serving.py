"""The supervisor's side of its clients: admission, bounded per-client queues, requests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import struct
from typing import Protocol

from nono.session import registry
from nono.session.connection import Connection
from nono.session.protocol import (
    ActivityChanged,
    Detached,
    Exit,
    Frame,
    Hello,
    History,
    Kind,
    ProtocolError,
    Reason,
    Refused,
    Released,
    Request,
    Resize,
    Response,
    Screen,
    Welcome,
    encode_output,
    refuse_hello,
)
from nono.term.style import encode_style

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from nono.session.activity import Activity
    from nono.session.registry import Record
    from nono.term import TerminalModel

READ_CHUNK = 65536
SCREEN_FRAME_INTERVAL = 1 / 30
SCREEN_MIN_INTERVAL = 1 / 250  # frames of small output (typing) are sent this soon
SCREEN_SMALL_OUTPUT = 4096  # bytes since the last frame that count as small
# A client further behind than this loses its backlog and gets a fresh screen instead.
CLIENT_BACKLOG = 1 << 20
HELLO_TIMEOUT = 5.0
SCREEN_RETRY = 0.01  # a screen client still sending its last frame is offered the next this soon
# Raw output kept for the denial summary and an attached run's start: screen rows wrap long
# paths, the raw lines do not.
TAIL_BYTES = 256 * 1024
# Terminal queries the model answers: DA1/DA2/DA3, DSR, CPR, DECRQM.
QUERIES = re.compile(rb"\x1b\[[>=]?[0-9;]*c|\x1b\[\??[0-9;]*n|\x1b\[\??[0-9;]*\$p")


class Client:
    """One connection: its mode, and a bounded queue of what it has yet to be sent."""

    def __init__(self, writer: asyncio.StreamWriter, mode: str, interactive: bool) -> None:
        self.writer = writer
        self.mode = mode  # "raw", "screen" or "control"
        self.interactive = interactive
        self.pending = bytearray()
        self.stale = False  # fell behind: owes a fresh screen
        self.wake = asyncio.Event()
        self.closed = False
        self.closed_after_flush = False  # detached: send what is queued, then hang up
        self.dirty: set[int] | None = None  # screen mode: rows changed since its last frame
        self.meta: Any = None  # screen mode: screen_meta() as of its last frame
        self.frame_interval = 1 / 30  # screen mode: the most frames a second it wants in a flood
        self.waiting: set[asyncio.Task] = set()  # its `wait` requests not answered yet
        self.hears_activity = False  # it asked for ACTIVITY frames (Hello.activity)

    def queue(self, data: bytes) -> None:
        if self.closed or self.stale or self.closed_after_flush:
            return
        if len(self.pending) + len(data) > CLIENT_BACKLOG:
            self.pending.clear()
            self.stale = True
        else:
            self.pending += data
        self.wake.set()


class Session(Protocol):
    """What the client side needs of its session (the Supervisor, supervisor.py, is one)."""

    record: Record
    model: TerminalModel
    exited: asyncio.Event  # the child has exited
    first_client: asyncio.Event  # a screen or raw client has attached once
    exit_code: int | None
    received: int  # bytes read from the PTY
    fed: int  # bytes the model has taken
    tail: bytearray  # the last raw output

    @property
    def activity(self) -> Activity: ...
    def replay(self) -> bytes: ...
    def write_input(self, data: bytes, typed: bool = False) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    async def stop(self, timeout: float, force: bool) -> None: ...
    def update(self, **changes: Any) -> None: ...
    async def caught_up(self) -> None: ...
    async def wait_for(self, state: str | None, pattern: str | None) -> dict[str, Any]: ...
    def egress_request(self, op: str, args: dict[str, Any]) -> dict[str, Any]: ...


class Clients:
    """A supervisor's connections: admission, what each is sent and when, their requests.
    Kept apart from the Supervisor because its PTY and model work and its client bookkeeping
    change for different reasons. Iterating it gives the connected clients."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.connected: list[Client] = []
        self.screen_timer: asyncio.TimerHandle | None = None
        self.last_screen = 0.0  # loop time of the last screen tick
        self.fed_at_screen = 0  # bytes the model had taken as of the last screen tick

    def __iter__(self) -> Iterator[Client]:
        return iter(self.connected)

    def schedule_screen(self) -> None:
        """A little output since the last frame (an echo, a prompt) goes out at once; a flood
        is coalesced to the frame rate. Typing is never held back by a frame tick."""
        if self.screen_timer is None and any(c.mode == "screen" for c in self.connected):
            loop = asyncio.get_running_loop()
            session = self.session
            small = (session.fed - self.fed_at_screen <= SCREEN_SMALL_OUTPUT
                     and session.received - session.fed <= SCREEN_SMALL_OUTPUT)  # fmt: skip
            interval = SCREEN_MIN_INTERVAL if small else self.screen_interval()
            wait = self.last_screen + interval - loop.time()
            self.screen_timer = loop.call_at(loop.time() + max(wait, 0.0), self.send_screen)

    def screen_interval(self) -> float:
        """The flood frame interval: the fastest any screen client asked for (a dashboard asks
        panes that are not focused for fewer frames)."""
        rates = [c.frame_interval for c in self.connected if c.mode == "screen"]
        return min(rates, default=SCREEN_FRAME_INTERVAL)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        if uid != os.getuid():
            writer.close()
            return
        conn = Connection(reader=reader, writer=writer, chunk=READ_CHUNK)
        client: Client | None = None
        sender: asyncio.Task | None = None
        try:
            hello = await conn.aread(HELLO_TIMEOUT)
            if hello is None:
                return
            client = self.admit(Hello.decode(hello), writer)
            if client is None:
                return
            sender = asyncio.create_task(self.send_loop(client))
            while not client.closed and (frame := await conn.aread()) is not None:
                await self.handle(client, frame)
        except (ProtocolError, TimeoutError, ConnectionError, OSError) as exc:
            registry.log_event(self.session.record.id, "client-error", error=str(exc))
            if client is None:
                with contextlib.suppress(Exception):
                    writer.write(Refused(Reason.BROKEN, str(exc)).encode())
        finally:
            if client is not None:
                self.drop(client)
            if sender is not None:
                sender.cancel()
            with contextlib.suppress(Exception):
                writer.close()

    def admit(self, hello: Hello, writer: asyncio.StreamWriter) -> Client | None:
        mode = hello.mode
        refusal = refuse_hello(hello)
        if refusal is not None:
            writer.write(refusal.encode())
            return None
        interactive = mode != "control" and not hello.read_only
        if interactive:
            holders = [c for c in self.connected if c.interactive]
            if holders and not hello.steal:
                writer.write(Refused(Reason.ATTACHED_ELSEWHERE,
                    f"session {self.session.record.name} is already attached elsewhere",
                    "use --steal to take it over, or --read-only to watch",
                ).encode())  # fmt: skip
                return None
            taken = Detached(Reason.TAKEN_OVER, "taken over by another client",
                             self.session.model.alternate).encode()  # fmt: skip
            for holder in holders:
                holder.queue(taken)
                holder.interactive = False
                holder.closed_after_flush = True
        client = Client(writer, mode, interactive)
        self.connected.append(client)
        writer.write(Welcome(self.session.record.to_json()).encode())
        if hello.activity:
            client.hears_activity = True
            writer.write(ActivityChanged(self.session.activity.to_json()).encode())
        if interactive and hello.cols and hello.rows:
            self.session.resize(hello.cols, hello.rows)
        if mode == "raw":
            if not self.session.first_client.is_set() and self.session.received <= TAIL_BYTES:
                # The terminal that started an attached run sees the output as it came, from
                # where its cursor is: no cleared screen, as if the command ran directly.
                # Queries in it were answered already (no raw client was attached): drop them,
                # or the terminal would answer a second time.
                client.queue(encode_output(QUERIES.sub(b"", bytes(self.session.tail))))
            else:
                client.queue(encode_output(self.session.replay()))
        elif mode == "screen":
            self.collect_dirty()  # what the other screen clients are owed stays theirs
            client.queue(self.screen_frame())
            client.dirty = set()
            client.meta = self.screen_meta()
        if mode != "control":
            self.session.update(attached=sum(1 for c in self.connected if c.mode != "control"))
            registry.log_event(
                self.session.record.id, "attached", mode=mode, interactive=interactive
            )
        if self.session.exited.is_set():
            client.queue(Exit(self.session.exit_code, self.session.model.alternate).encode())
        if mode != "control":
            self.session.first_client.set()
        return client

    def drop(self, client: Client) -> None:
        client.closed = True
        for task in client.waiting:  # a `nono wait` that gave up (its timeout) or was killed
            task.cancel()
        if client in self.connected:
            self.connected.remove(client)
            if client.interactive and not any(c.interactive for c in self.connected):
                # Those who watch because it was held (the dashboard's panes) may take it.
                released = Released().encode()
                for watcher in self.connected:
                    if watcher.mode != "control" and not self.session.exited.is_set():
                        watcher.queue(released)
            if client.mode != "control":
                self.session.update(attached=sum(1 for c in self.connected if c.mode != "control"))
                registry.log_event(self.session.record.id, "detached", mode=client.mode)

    async def send_loop(self, client: Client) -> None:
        writer = client.writer
        while True:
            await client.wake.wait()
            client.wake.clear()
            if client.stale:
                client.stale = False
                client.pending.clear()
                fresh = self.session.replay() if client.mode == "raw" else None
                if fresh is not None:
                    client.pending += encode_output(fresh)
                else:
                    client.pending += self.screen_frame()
                    client.dirty = set()
            if client.pending:
                data = bytes(client.pending)
                client.pending.clear()
                writer.write(data)
                await writer.drain()
            if client.closed_after_flush and not client.pending:
                client.closed = True
                writer.close()
                return

    async def handle(self, client: Client, frame: Frame) -> None:
        if frame.kind == Kind.INPUT:
            if client.interactive and not self.session.exited.is_set():
                self.session.write_input(frame.payload, typed=True)
        elif frame.kind == Kind.RESIZE:
            if client.interactive:
                self.session.resize(*Resize.decode(frame))
        elif frame.kind == Kind.REQUEST:
            req = Request.decode(frame)
            if req.op == "rate":  # this connection's frame rate in a flood
                client.frame_interval = 1 / min(max(float(req.args.get("fps", 30)), 1.0), 60.0)
                client.queue(Response(True, {}).encode())
                return
            if req.op == "wait":  # answered when reached: the connection is read meanwhile,
                # so a client that gives up is seen leaving, and its wait goes with it
                task = asyncio.create_task(self.answer_wait(client, req))
                client.waiting.add(task)
                task.add_done_callback(client.waiting.discard)
                return
            response = await self.request(req)
            client.queue(Response(bool(response.get("ok")), response).encode())
        else:
            raise ProtocolError(f"unexpected {frame.kind.name} frame from a client")

    async def answer_wait(self, client: Client, req: Request) -> None:
        state, pattern = req.args.get("state"), req.args.get("pattern")
        answer = await self.session.wait_for(
            state if isinstance(state, str) else None, pattern if isinstance(pattern, str) else None
        )
        client.queue(Response(bool(answer.get("ok")), answer).encode())

    async def request(self, request: Request) -> dict[str, Any]:
        op, req = request.op, request.args
        if op == "status":
            await self.session.caught_up()
            m = self.session.model
            return {"ok": True, "record": self.session.record.to_json(), "title": m.title,
                    "activity": self.session.activity.to_json(),
                    "alternate": m.alternate, "app_cursor": m.modes.app_cursor,
                    "clients": [{"mode": c.mode, "interactive": c.interactive}
                                for c in self.connected]}  # fmt: skip
        if op == "capture":
            await self.session.caught_up()
            history = max(0, int(req.get("history", 0)))
            text = self.session.model.capture(history=history, ansi=bool(req.get("ansi")))
            return {"ok": True, "text": text}
        if op == "history":
            await self.session.caught_up()
            return self.history_response(max(0, int(req.get("lines", 0))))
        if op == "send":
            if self.session.exited.is_set():
                return {"ok": False, "error": "the session has exited"}
            self.session.write_input(bytes.fromhex(req.get("hex", "")), typed=True)
            return {"ok": True}
        if op == "detach":
            count = 0
            bye = Detached(Reason.DETACH_REQUEST, "detached by nono detach",
                           self.session.model.alternate).encode()  # fmt: skip
            for c in self.connected:
                if c.mode != "control":
                    c.queue(bye)
                    c.closed_after_flush = True
                    count += 1
            return {"ok": True, "detached": count}
        if op == "stop":
            if not self.session.exited.is_set():
                await self.session.stop(float(req.get("timeout", 10)), bool(req.get("force")))
                if not req.get("force"):
                    await self.session.exited.wait()
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.session.exited.wait(), 5)
            return {"ok": True, "exit_code": self.session.exit_code}
        if op in ("egress", "allow_host"):  # the host list's view and its one change
            return self.session.egress_request(op, req)
        return {"ok": False, "error": f"unknown request {op!r}"}

    def screen_frame(self, rows: set[int] | None = None) -> bytes:
        """A SCREEN frame: the given rows (all when None) as runs of text with an index into the
        frame's style table, plus what a client needs to act like the program's terminal."""
        full = rows is None
        wanted = range(self.session.model.rows) if rows is None else sorted(rows)
        styles: dict[Any, int] = {}
        out = {}
        for y in wanted:
            if y < self.session.model.rows:
                out[str(y)] = [[text, styles.setdefault(style, len(styles))]
                               for text, style in self.session.model.row_runs(y)]  # fmt: skip
        m = self.session.model
        return Screen(out, [encode_style(style) for style in styles], full, m.cursor,
                      m.cursor_visible, (m.cols, m.rows), m.title, m.alternate, m.modes, m.bells,
                      m.history_size).encode()  # fmt: skip

    def collect_dirty(self) -> None:
        """Hand the rows changed since the last look to every screen client's own set."""
        dirty = self.session.model.take_dirty()
        if dirty:
            for client in self.connected:
                if client.mode == "screen" and client.dirty is not None:
                    client.dirty |= dirty

    def send_screen(self) -> None:
        """The frame-rate tick: each screen client gets its changed rows, unless it has not
        taken the last frame yet; then its rows wait, merged, for the next tick (a slow client
        costs one frame of work per tick at most, never a growing queue)."""
        self.screen_timer = None
        self.last_screen = asyncio.get_running_loop().time()
        self.fed_at_screen = self.session.fed
        self.collect_dirty()
        meta = self.screen_meta()
        behind = False
        for client in self.connected:
            if client.mode != "screen" or client.closed:
                continue
            if client.pending or client.writer.transport.get_write_buffer_size():
                behind = True
                continue
            if client.dirty is None:
                client.queue(self.screen_frame())
                client.dirty = set()
            elif client.dirty or client.meta != meta:
                client.queue(self.screen_frame(client.dirty))
                client.dirty = set()
            client.meta = meta
        if behind:
            self.screen_timer = asyncio.get_running_loop().call_later(
                SCREEN_RETRY, self.send_screen
            )

    def screen_meta(self) -> tuple[Any, ...]:
        """What besides rows a frame carries: a change in it alone is worth a frame."""
        m = self.session.model
        return (m.cursor, m.cursor_visible, m.title, m.alternate, m.modes, m.bells, m.cols, m.rows)

    def history_response(self, lines: int) -> dict[str, Any]:
        """The last `lines` lines of history then the screen's rows, as style-indexed runs,
        cut from the oldest end to fit one frame."""
        styles: dict[Any, int] = {}

        def encode_line(runs: Any) -> list[list[Any]]:
            return [[text, styles.setdefault(style, len(styles))] for text, style in runs]

        history = [encode_line(line) for line in self.session.model.history_runs(lines)]
        screen = [
            encode_line(self.session.model.row_runs(y)) for y in range(self.session.model.rows)
        ]
        m = self.session.model
        return History(history, screen, [encode_style(style) for style in styles], m.cursor,
                       m.alternate).fields()  # fmt: skip
