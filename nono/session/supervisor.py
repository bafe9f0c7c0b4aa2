"""The supervisor loop: owns the PTY, drains it always, keeps the model, runs the agent."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import fcntl
import itertools
import json
import os
import re
import signal
import socket
import struct
import termios
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nono.session import registry

if TYPE_CHECKING:  # the proxy is loaded only by a session with a host list
    from pathlib import Path

    from nono.net.egress_log import EgressRecord
    from nono.net.proxy import EgressProxy
    from nono.sandbox.policy import NetworkPolicy
    from nono.session.egress_requests import Counts
from nono.session.activity import Activity
from nono.session.attention import Attention
from nono.session.protocol import Exit, encode_output
from nono.session.registry import EXITED, Record
from nono.session.serving import READ_CHUNK, TAIL_BYTES, Clients
from nono.term import TerminalModel

READ_BUDGET = 1 << 20
INPUT_BACKLOG = 1 << 20
# The model works in slices for at most MODEL_TURN seconds per event-loop turn (4 KiB slices
# cost ~10% less than 512-byte ones, measured; a turn still ends within a few ms, so typing
# into a flooding session waits no longer), and may lag up to MODEL_BACKLOG bytes behind the
# PTY before the PTY is left unread.
MODEL_SLICE = 4096
MODEL_TURN = 0.002
MODEL_BACKLOG = 32 * 1024 * 1024
FIRST_CLIENT_WAIT = 5.0
_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()*+].|\x1b[@-Z\\-_]"
)


def plain_text(data: bytes) -> str:
    """Terminal output without its escape sequences and carriage returns."""
    return _ESCAPES.sub(b"", data).replace(b"\r", b"").decode("utf-8", "replace")


def set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Backlog:
    """Bytes read from the PTY that the model has not taken yet, kept as the chunks they were
    read in: a flood's read side appends a megabyte while the model takes a few KiB at a time
    from the front, and one bytearray would move its whole content for both (measured: 7% of a
    supervisor's time in a flood)."""

    def __init__(self) -> None:
        self.chunks: collections.deque[bytes] = collections.deque()
        self.start = 0  # where the first chunk's untaken bytes begin
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> None:
        if data:
            self.chunks.append(data)
            self.size += len(data)

    def take(self, limit: int) -> bytes:
        """Up to `limit` bytes from the front (from one chunk: the model takes any split)."""
        chunk = self.chunks[0]
        end = self.start + limit
        piece = chunk[self.start : end]
        if end >= len(chunk):
            self.chunks.popleft()
            self.start = 0
        else:
            self.start = end
        self.size -= len(piece)
        return piece

    def peek(self) -> bytes:
        """Everything not taken yet, in order."""
        if not self.chunks:
            return b""
        return b"".join([self.chunks[0][self.start :], *itertools.islice(self.chunks, 1, None)])


class Supervisor:
    def __init__(
        self,
        record: Record,
        master: int,
        child_pid: int,
        listener: socket.socket,
        detached: bool = True,
        egress: tuple[socket.socket, Path] | None = None,
        network: NetworkPolicy | None = None,
    ) -> None:
        self.record = record
        # With a host list: the proxy's listening socket (from the sandbox's own network
        # namespace) and the egress log's path; served by run() on this loop.
        self.egress = egress
        self.network = network
        self.proxy: EgressProxy | None = None
        self.egress_counts: Counts | None = None  # on the record, for ps and the dashboard
        self.denied_seen: set[tuple[str, int]] = set()
        self.master = master
        self.child_pid = child_pid
        self.listener = listener
        cols, rows = record.size
        self.model = TerminalModel(cols, rows)
        self.clients = Clients(self)  # its connections (serving.py)
        self.input = bytearray()
        self.backlog = Backlog()  # read from the PTY, not yet fed to the model
        self.tail = bytearray()  # the last raw output, as written (lines unwrapped)
        self.rendered: tuple[tuple[int, int, int], bytes] | None = None  # cached replay
        self.received = 0
        self.fed = 0
        self.model_scheduled = False
        self.reading_paused = False
        self.eof = False
        self.waiters: list[tuple[int, asyncio.Event]] = []
        self.exit_code: int | None = None
        self.done = asyncio.Event()
        self.exited = asyncio.Event()
        self.finishing: asyncio.Task | None = None
        # An attached `nono run` connects right after the start: an agent that exits at once
        # must still reach it (output and exit code), so the end waits for that first client.
        self.first_client = asyncio.Event()
        if detached:
            self.first_client.set()
        self.attention = Attention(self)  # its activity state (attention.py)

    # ------------------------------------------------------------ the PTY

    def on_pty_readable(self) -> None:
        # Read until the PTY is empty (up to a bound): the agent refills it from another CPU
        # while we read, so one turn moves far more than the kernel's small PTY buffer.
        chunks = []
        total = 0
        while total < READ_BUDGET:
            try:
                data = os.read(self.master, READ_CHUNK)
            except BlockingIOError:
                break
            except OSError as exc:  # EIO: every slave fd is closed
                if exc.errno != errno.EIO:
                    registry.log_event(self.record.id, "pty-error", error=str(exc))
                data = b""
            if not data:
                self.eof = True
                asyncio.get_running_loop().remove_reader(self.master)
                break
            chunks.append(data)
            total += len(data)
        if chunks:
            self.output(b"".join(chunks))

    def output(self, data: bytes) -> None:
        # Raw clients get the bytes before the model sees them: they never wait for it.
        raw = [c for c in self.clients if c.mode == "raw"]
        if raw:
            frame = encode_output(data)  # not framed at all while nobody watches
            for client in raw:
                client.queue(frame)
        # The model catches up in bounded slices between other work, so a flood never
        # blocks the PTY drain, typing, or the other clients.
        self.backlog.append(data)
        self.received += len(data)
        self.attention.output(len(data))
        self.tail += data
        if len(self.tail) > TAIL_BYTES * 2:
            del self.tail[:-TAIL_BYTES]
        if not self.model_scheduled:
            self.model_scheduled = True
            asyncio.get_running_loop().call_soon(self.model_work)
        if len(self.backlog) > MODEL_BACKLOG and not self.reading_paused:
            # Far behind: let the kernel's PTY buffer hold the agent until the model catches up.
            self.reading_paused = True
            asyncio.get_running_loop().remove_reader(self.master)

    def model_work(self) -> None:
        """Feed one slice of the backlog to the model; reschedule while there is more."""
        self.model_scheduled = False
        if not self.backlog:
            return
        # A short time budget, not a byte count: the PTY is read between turns, so the agent
        # keeps writing at PTY speed while the model works through the backlog.
        deadline = time.perf_counter() + MODEL_TURN
        while self.backlog and time.perf_counter() < deadline:
            chunk = self.backlog.take(MODEL_SLICE)
            self.model.feed(chunk)
            self.fed += len(chunk)
        replies = self.model.take_replies()
        # With a raw client attached, its own terminal sees the query and answers it; answering
        # here too would hand the agent two replies.
        if replies and not any(c.mode == "raw" and c.interactive for c in self.clients):
            self.write_input(replies)
        loop = asyncio.get_running_loop()
        self.clients.schedule_screen()
        if self.reading_paused and len(self.backlog) < MODEL_BACKLOG // 2 and not self.eof:
            self.reading_paused = False
            loop.add_reader(self.master, self.on_pty_readable)
        if self.backlog:
            self.model_scheduled = True
            loop.call_soon(self.model_work)
        while self.waiters and self.waiters[0][0] <= self.fed:
            self.waiters.pop(0)[1].set()

    async def caught_up(self) -> None:
        """Wait until the model has seen everything read so far (not what comes after)."""
        if self.fed >= self.received:
            return
        event = asyncio.Event()
        self.waiters.append((self.received, event))
        await event.wait()

    def replay(self) -> bytes:
        """What a raw client needs to show the present: the model's screen plus what the model
        has not processed yet, in order."""
        # An idle session is often attached to again and again: render its screen once.
        key = (self.fed, self.model.cols, self.model.rows)
        if self.rendered is None or self.rendered[0] != key:
            self.rendered = (key, self.model.render_ansi())
        return self.rendered[1] + self.backlog.peek()

    def write_input(self, data: bytes, typed: bool = False) -> None:
        """`typed`: from the person (a client's keys, send-keys), not a reply to a query."""
        if typed:
            self.attention.typed()
        if len(self.input) + len(data) > INPUT_BACKLOG:
            registry.log_event(self.record.id, "input-dropped", bytes=len(data))
            return
        self.input += data
        self.flush_input()

    def flush_input(self) -> None:
        loop = asyncio.get_running_loop()
        while self.input:
            try:
                n = os.write(self.master, self.input)
            except BlockingIOError:
                loop.add_writer(self.master, self.flush_input)
                return
            except OSError:
                self.input.clear()
                break
            del self.input[:n]
        loop.remove_writer(self.master)

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = max(2, min(cols, 1000)), max(2, min(rows, 500))
        if (cols, rows) == tuple(self.record.size):
            return
        with contextlib.suppress(OSError):
            set_winsize(self.master, cols, rows)  # the kernel sends SIGWINCH to the child
        self.model.resize(cols, rows)
        self.attention.resized()
        self.rendered = None
        for client in self.clients:
            if client.mode == "screen":
                client.dirty = None  # a whole new screen
        self.clients.schedule_screen()
        self.update(size=(cols, rows))
        registry.log_event(self.record.id, "resized", cols=cols, rows=rows)

    # ------------------------------------------------------------ the child

    def on_child_exit(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(self.child_pid, 0)
            code = os.waitstatus_to_exitcode(status)
            self.exit_code = 128 - code if code < 0 else code
        # What the child wrote just before exiting is still in the PTY: take it all.
        os.set_blocking(self.master, False)
        while True:
            try:
                data = os.read(self.master, READ_CHUNK)
            except OSError:
                break
            if not data:
                break
            self.output(data)
        self.eof = True
        loop.remove_reader(self.master)
        # Like a terminal hanging up: what the agent left behind in its session goes too.
        with contextlib.suppress(OSError):
            os.killpg(self.child_pid, signal.SIGHUP)
        self.exited.set()
        self.finishing = loop.create_task(self.finish())

    async def finish(self) -> None:
        await self.attention.ended()
        # The final rollback snapshot comes first, so a client told of the exit can review it.
        if self.record.rollback_id:
            self.final_snapshot(self.record.rollback_id)
        # The exit is recorded and announced at once; the final screen follows once the model
        # has caught up (it may lag far behind after a flood).
        ended = time.time()
        activity = self.attention.exited(ended, self.exit_code)
        counts = self.egress_counts
        if counts is not None and counts.pending is not None:  # the last second's, too
            counts.pending.cancel()
            counts.pending = None
        self.update(status=EXITED, exit_code=self.exit_code, ended=ended, attached=0,
                    activity=activity.to_json(),
                    egress=counts.to_json() if counts is not None else None)  # fmt: skip
        registry.log_event(self.record.id, "exited", code=self.exit_code)
        for client in list(self.clients):
            client.queue(Exit(self.exit_code).encode())
        self.attention.end_waits()
        await self.caught_up()
        final = {
            "exit_code": self.exit_code,
            "capture": self.model.capture(history=2000),
            "capture_ansi": self.model.capture(history=2000, ansi=True),
            "replay": self.model.render_ansi().decode("utf-8", "replace"),
            "alternate": self.model.alternate,
            "tail": plain_text(bytes(self.tail[-TAIL_BYTES:])),
        }
        try:
            registry.write_atomic(registry.final_path(self.record.id), json.dumps(final).encode())
        except Exception as exc:  # a full disk loses the last screen, never the record
            registry.log_event(self.record.id, "final-screen-lost", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.first_client.wait(), FIRST_CLIENT_WAIT)
        # Give clients a moment to receive the end, then go.
        deadline = time.monotonic() + 2
        while any(c.pending for c in self.clients) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.done.set()

    def final_snapshot(self, rollback_id: str) -> None:
        """The after-state of the agent's work, then retention of old rollbacks."""
        try:
            from nono.config import load_config
            from nono.rollback import Rollback, retain

            rb = Rollback.open(rollback_id)
            info = rb.snapshot()
            registry.log_event(self.record.id, "rollback-snapshot", rollback=rb.id,
                               index=info.index, files=info.files)  # fmt: skip
            keep = load_config().rollback
            # The same retention as every run's: what holds unrestored changes is kept.
            kept = retain(keep.keep, keep.older_than_days, keep.max_total_mb * 1024 * 1024,
                          current=rb.id)  # fmt: skip
            if kept.spared:
                registry.log_event(self.record.id, "rollback-retention-kept",
                                   rollbacks=[r.id for r, _ in kept.spared])  # fmt: skip
            if kept.forced:
                registry.log_event(self.record.id, "rollback-retention-over-disk-cap",
                                   rollbacks=[r.id for r, _ in kept.forced])  # fmt: skip
        except Exception as exc:  # the baseline stays restorable even if this fails
            registry.log_event(self.record.id, "rollback-snapshot-failed", error=str(exc))

    async def stop(self, timeout: float, force: bool) -> None:
        registry.log_event(self.record.id, "stop", timeout=timeout, force=force)
        # SIGHUP first, as a closing terminal does: an interactive shell ignores SIGTERM but
        # exits on a hang-up (and passes it to its jobs), so it need not wait for SIGKILL.
        # Sent together, the two race through the sandbox's relays and either may land first;
        # a moment between them lets the hang-up be what ends a program that obeys it.
        grace = 0 if force else min(1.0, timeout / 2)
        for sig in (signal.SIGKILL,) if force else (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(OSError):
                os.killpg(self.child_pid, sig)
            with contextlib.suppress(OSError):
                os.kill(self.child_pid, sig)
            if sig == signal.SIGHUP:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.exited.wait(), grace)
                if self.exited.is_set():
                    return
        if force:
            return
        try:
            await asyncio.wait_for(self.exited.wait(), max(timeout - grace, 0.01))
        except TimeoutError:
            registry.log_event(self.record.id, "stop-escalated")
            with contextlib.suppress(OSError):
                os.killpg(self.child_pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self.child_pid, signal.SIGKILL)

    async def serve_egress(self) -> None:
        """The proxy, on this loop. If it cannot serve, the agent is stopped: it would be
        running with a host list no one enforces (its connections would only hang)."""
        from nono.session.egress import serve
        from nono.session.egress_requests import Counts

        assert self.egress is not None and self.network is not None
        sock, log_path = self.egress
        counts = self.egress_counts = Counts(lambda now: self.update(egress=now))
        self.update(egress=counts.to_json())
        try:
            self.proxy = await serve(self.network, sock, log_path, self.on_denied, counts.add)
        except Exception as exc:
            registry.log_event(self.record.id, "egress-proxy-failed", error=str(exc))
            with contextlib.suppress(OSError):
                os.killpg(self.child_pid, signal.SIGKILL)
            raise

    def on_denied(self, record: EgressRecord) -> None:
        """A denial goes to the event log once per host and port (a retry loop would flood
        it; the egress log has every one), and to the agent's state (attention.py) each time."""
        self.attention.network_denied(record)
        key = (record.host, record.port)
        if key not in self.denied_seen and len(self.denied_seen) < 1000:
            self.denied_seen.add(key)
            registry.log_event(self.record.id, "egress-denied", host=record.host,
                               port=record.port, rule=record.rule, reason=record.error)  # fmt: skip

    def egress_request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """`egress` (the log's tail, counts, rules) and `allow_host` (a rule added to the
        running proxy) for the session's own clients (session/egress_requests.py)."""
        from nono.session import egress_requests as answers

        if op == "allow_host":
            return answers.answer_allow(self.proxy, args.get("rule"),
                                        lambda event, **kw: registry.log_event(
                                            self.record.id, event, **kw))  # fmt: skip
        log_path = self.egress[1] if self.egress is not None else None
        return answers.answer_egress(self.proxy, log_path, self.egress_counts,
                                     args.get("limit", answers.TAIL_LIMIT))  # fmt: skip

    @property
    def activity(self) -> Activity:
        return self.attention.activity

    async def wait_for(self, state: str | None, pattern: str | None) -> dict[str, Any]:
        return await self.attention.wait_for(state, pattern)

    def update(self, **changes: Any) -> None:
        self.record = replace(self.record, **changes)
        try:
            registry.write_record(self.record)
        except Exception as exc:  # a full disk must not take the agent down
            registry.log_event(self.record.id, "record-write-failed", error=str(exc))

    # ------------------------------------------------------------ main

    async def run(self, ready: Any) -> int | None:
        loop = asyncio.get_running_loop()
        os.set_blocking(self.master, False)
        loop.add_reader(self.master, self.on_pty_readable)
        pidfd = os.pidfd_open(self.child_pid)

        def child_exited() -> None:
            loop.remove_reader(pidfd)
            self.on_child_exit()

        loop.add_reader(pidfd, child_exited)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: loop.create_task(self.stop(5, False)))
        # Starting, in the record from the first moment: `nono ps` shows it at once.
        self.update(activity=self.attention.activity.to_json())
        self.attention.begin()
        server = await asyncio.start_unix_server(self.clients.serve, sock=self.listener)
        if self.egress is not None:
            await self.serve_egress()
        await ready(self)
        await self.done.wait()
        server.close()
        if self.proxy is not None:
            await self.proxy.close()
        for client in list(self.clients):
            with contextlib.suppress(Exception):
                client.writer.close()
        os.close(pidfd)
        return self.exit_code
