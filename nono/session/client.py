"""Clients of a supervisor: control requests, and `nono attach` (raw passthrough to a terminal)."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import termios
import tty
from dataclasses import dataclass

from nono.errors import NonoError
from nono.session import registry
from nono.session.connection import Connection
from nono.session.protocol import (
    Detached,
    Exit,
    Frame,
    Hello,
    Kind,
    ProtocolError,
    Reason,
    Request,
    Resize,
    Welcome,
    encode_input,
    read_response,
    read_welcome,
)
from nono.session.registry import EXITED, Record

# typing costs `nono attach` ~5 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from nono.session.passthrough import Passthrough


def _read(conn: Connection, timeout: float | None) -> Frame | None:
    """The next frame from a supervisor (None when it hangs up), its failures said for people."""
    try:
        return conn.read(timeout)
    except TimeoutError:
        raise NonoError("the supervisor did not answer in time") from None
    except OSError as exc:
        raise NonoError(f"the supervisor hung up: {exc.strerror or exc}") from None
    except ProtocolError as exc:
        raise NonoError(f"garbled answer from the supervisor: {exc.message}") from None


def _send(conn: Connection, message: Hello | Request) -> None:
    """A message to a supervisor; one that is going away (its session just ended) is said so,
    not taken for the reader of our output going away (BrokenPipeError, as both are)."""
    try:
        conn.send(message)
    except OSError as exc:
        raise NonoError(f"the supervisor hung up: {exc.strerror or exc}") from None


def connect(record: Record, hello: Hello) -> tuple[Connection, Welcome]:
    """Connect and introduce ourselves; returns the connection and the supervisor's Welcome. A
    refusal is raised as protocol.Refusal, a NonoError carrying the supervisor's reason code."""
    # An exited session whose supervisor still runs still answers (its last screen and exit
    # code): an attached run whose command ended before the attach must see both.
    if record.status == EXITED and not registry.supervisor_alive(record):
        raise NonoError(f"session {record.name} ({record.id}) has exited ({record.state})")
    try:
        conn = Connection.connect("\0" + record.socket)
    except OSError as exc:
        current = registry.reconcile(record)
        if current.status == EXITED:
            why = current.note or current.state
            raise NonoError(f"session {record.name} ({record.id}) is not running: {why}") from None
        raise NonoError(f"cannot reach session {record.name}: {exc.strerror}") from None
    try:
        _send(conn, hello)
        frame = _read(conn, 30)
        if frame is None:
            raise NonoError(f"session {record.name} hung up")
        return conn, read_welcome(frame)
    except ProtocolError as exc:
        conn.close()
        raise NonoError(f"session {record.name} answered badly: {exc.message}") from None
    except NonoError:
        conn.close()
        raise


class Control:
    """A control connection: requests and their responses, no screen."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.conn, welcome = connect(record, Hello("control"))
        self.welcome = welcome.record

    def request(self, op: str, wait: float | None = 30, **args: Any) -> dict[str, Any]:
        _send(self.conn, Request(op, args))
        while True:
            frame = _read(self.conn, wait)
            if frame is None:
                raise NonoError(f"session {self.record.name} hung up during {op}")
            response = read_response(frame, op)
            if response is not None:
                return response

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class AttachResult:
    how: str  # "detached", "exited", "hung-up"
    exit_code: int | None = None
    reason: str = ""
    code: Reason | None = None  # why the supervisor let go, when it said


def terminal_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 80, 24
    # A terminal that never set its size (script(1) under a pipe, a serial line) says 0x0.
    return size.columns or 80, size.lines or 24


def attach(
    record: Record | None,
    *,
    detach_keys: tuple[bytes, ...],
    read_only: bool = False,
    steal: bool = False,
    stdin: int = 0,
    stdout: int = 1,
    clipboard: str = "write",
    dial: Callable[[Hello], Connection] | None = None,
) -> AttachResult:
    """Raw attach: replay the screen, then pass bytes both ways until detach or exit. The
    agent's output goes through the passthrough filter; `clipboard` is [ui] clipboard.
    `dial`: how to reach the session instead of the record's socket (one on another host,
    remote/target.py), returning a blocking connection past its handshake."""
    from nono.keys import SequenceMatcher
    from nono.session.passthrough import Passthrough

    cols, rows = terminal_size(stdout)
    hello = Hello("raw", cols, rows, steal, read_only)
    if dial is not None:
        conn = dial(hello)
    else:
        assert record is not None, "attach() needs a record or a dial"
        conn, _ = connect(record, hello)
    assert conn.sock is not None  # connect() makes a blocking connection: it has the socket
    matcher = SequenceMatcher(detach_keys)
    saved = None
    if os.isatty(stdin):
        saved = termios.tcgetattr(stdin)
        # TCSANOW, not setraw's TCSAFLUSH: what was typed while it connected (an ssh to another
        # host takes a while) is the person's input, not noise to discard.
        tty.setraw(stdin, termios.TCSANOW)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    old_wakeup = signal.set_wakeup_fd(wake_w)
    old_winch = signal.signal(signal.SIGWINCH, lambda *_: None)

    def hang_up(signum: int, _frame: object) -> None:
        raise _Killed(signum)

    # Killed or hung up: still put the terminal back (the finally below), then go.
    old_term = {sig: signal.signal(sig, hang_up) for sig in (signal.SIGTERM, signal.SIGHUP)}
    sel = selectors.DefaultSelector()
    sel.register(conn.sock, selectors.EVENT_READ, "sock")
    sel.register(stdin, selectors.EVENT_READ, "stdin")
    sel.register(wake_r, selectors.EVENT_READ, "signal")
    result = AttachResult("hung-up", reason="the supervisor went away")
    outgoing = Passthrough(clipboard_write=clipboard == "write")
    try:
        _write_all(stdout, outgoing.enter())
        for frame in conn.take_queued():
            done = _on_frame(frame, stdout, outgoing)
            if done:
                result = done
                return result
        while True:
            for key, _ in sel.select():
                if key.data == "sock":
                    frames = conn.read_ready()
                    if frames is None:
                        return result
                    for frame in frames:
                        done = _on_frame(frame, stdout, outgoing)
                        if done:
                            result = done
                            return result
                elif key.data == "stdin":
                    data = os.read(stdin, 65536)
                    if not data:
                        sel.unregister(stdin)
                        continue
                    passthrough, detached = matcher.feed(data)
                    if passthrough and not read_only:
                        conn.send(encode_input(passthrough))
                    if detached:
                        result = AttachResult("detached", reason="detached")
                        return result
                else:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_r, 512)
                    new = terminal_size(stdout)
                    if new != (cols, rows) and not read_only:
                        cols, rows = new
                        conn.send(Resize(cols, rows))
    except _Killed as killed:
        result = AttachResult("detached", reason=f"killed by signal {killed.signum}")
        return result
    except ProtocolError as exc:
        return AttachResult("hung-up", reason=f"garbled data from the supervisor: {exc.message}")
    except (ConnectionError, OSError) as exc:
        return AttachResult("hung-up", reason=str(exc))
    finally:
        sel.close()
        signal.signal(signal.SIGWINCH, old_winch)
        for sig, handler in old_term.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(old_wakeup)
        os.close(wake_r)
        os.close(wake_w)
        conn.close()
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSAFLUSH, saved)
        leave = outgoing.restore()
        if result.how != "exited":
            # An agent drawn on the main screen (Claude) would stay there with the message
            # over it: leave a clean screen, as leaving an alternate screen does. Else a
            # fresh line for the message.
            leave += b"\r\n" if outgoing.alternate else b"\x1b[H\x1b[2J"
        with contextlib.suppress(OSError):
            _write_all(stdout, leave)


class _Killed(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_frame(frame: Frame, stdout: int, outgoing: Passthrough) -> AttachResult | None:
    if frame.kind == Kind.OUTPUT:
        shown = outgoing.feed(frame.payload)
        if shown:
            _write_all(stdout, shown)
        return None
    if frame.kind == Kind.EXIT:
        return AttachResult("exited", Exit.decode(frame).code)
    if frame.kind == Kind.DETACHED:
        detached = Detached.decode(frame)
        return AttachResult("detached", reason=detached.text, code=detached.reason)
    return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            selectors.DefaultSelector().select(0.01)
        except InterruptedError:
            continue


def attach_message(record: Record, result: AttachResult) -> str:
    if result.how == "detached" and result.code == Reason.TAKEN_OVER:
        return (f"[detached from session {record.name}: another client took it over; "
                f"take it back with: nono attach --steal {record.name}]")  # fmt: skip
    if result.how == "detached":
        return (f"[detached from session {record.name} ({record.id}); "
                f"back with: nono attach {record.name}]")  # fmt: skip
    if result.how == "exited":
        return f"[session {record.name} exited with code {result.exit_code}]"
    return f"[lost session {record.name}: {result.reason}]"
