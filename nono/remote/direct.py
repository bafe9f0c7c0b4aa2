"""A blocking Connection to one remote session for a one-shot command (`attach`, `capture`,
`send-keys`, ...): its own `ssh HOST nono relay SESSION`, whose stdin and stdout are one end of
a socketpair, so the command gets a Connection on a real socket as it would locally (attach's
selector loop included) and, past the handshake, the session's bytes with no framing added.
The dashboard uses remote/link.py instead: one ssh for all its panes."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time

from nono.errors import NonoError
from nono.remote import wire
from nono.remote.command import why_failed
from nono.remote.hosts import Host, ssh_argv
from nono.remote.wire import LINK, LinkDecoder, LinkError, LinkFrame, LinkKind, LinkLost
from nono.session.activity import clean_text
from nono.session.connection import Connection

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

STDERR_KEPT = 16 * 1024


class RemoteConnection(Connection):
    """A Connection whose far end is a session on another host; closing it ends its ssh."""

    def __init__(self, sock: socket.socket, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(sock)
        self.proc = proc

    def close(self) -> None:
        super().close()  # ssh sees the end of its input and exits; the session runs on
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def connect(host: Host, session: str, timeout: float = 30
            ) -> tuple[RemoteConnection, dict[str, str]]:  # fmt: skip
    """A RemoteConnection to `session` on `host`, and the {id, name} the host resolved it to;
    LinkLost when the host cannot be reached or runs another nono, NonoError when it has no
    such session. The caller does the session handshake on it as on a local socket."""
    with tempfile.TemporaryFile() as stderr:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            proc = subprocess.Popen(ssh_argv(host, ["relay", session]), stdin=theirs.fileno(),
                                    stdout=theirs.fileno(), stderr=stderr,
                                    start_new_session=True)  # fmt: skip
        except OSError as exc:
            ours.close()
            raise LinkLost(f"host {host.name}: cannot run ssh: {exc.strerror or exc}") from None
        finally:
            theirs.close()
        conn = RemoteConnection(ours, proc)
        try:
            return conn, _open(conn, host, stderr, timeout)
        except LinkError as exc:
            conn.close()
            raise LinkLost(f"host {host.name}: its answer is not a nono relay "
                           f"({exc.message})") from None  # fmt: skip
        except BaseException:
            conn.close()
            raise


def _open(conn: RemoteConnection, host: Host, stderr: IO[bytes], timeout: float
          ) -> dict[str, str]:  # fmt: skip
    assert conn.sock is not None
    conn.sock.sendall(wire.encode(LINK, LinkKind.HELLO, wire.hello()))
    hello, answer = _greeting(conn, host, stderr, timeout)
    why = wire.mismatch(wire.read_hello(hello), "here", f"on {host.name}")
    if why:
        raise LinkLost(why, "install the same nono on both hosts")
    if answer.kind in (LinkKind.REFUSED, LinkKind.CLOSE):
        said = clean_text(str(answer.json().get("error") or "refused"))
        raise NonoError(f"host {host.name}: {said}")
    if answer.kind != LinkKind.OPENED or answer.channel != 1:
        raise LinkError(f"unexpected {answer.kind.name} on channel {answer.channel}")
    opened = answer.json()
    return {k: clean_text(str(opened.get(k, ""))) for k in ("id", "name")}


def _greeting(conn: RemoteConnection, host: Host, stderr: IO[bytes], timeout: float
              ) -> tuple[LinkFrame, LinkFrame]:  # fmt: skip
    """The relay's HELLO and its answer (OPENED, CLOSE or REFUSED), read off the socket.
    Nothing may follow them (the supervisor speaks only when spoken to), so from here on the
    socket carries the session's own bytes."""
    assert conn.sock is not None
    decoder, frames = LinkDecoder(), list[LinkFrame]()
    deadline = time.monotonic() + timeout
    while len(frames) < 2:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LinkLost(f"host {host.name}: no answer from its nono in {timeout:.0f} s")
        conn.sock.settimeout(left)
        try:
            data = conn.sock.recv(1 << 16)
        except TimeoutError:
            continue
        except ConnectionResetError:  # ssh exited with our end's bytes unread: it failed
            data = b""
        finally:
            conn.sock.settimeout(None)
        if not data:
            raise LinkLost(f"host {host.name}: " + _not_started(conn.proc.wait(), stderr))
        frames += decoder.feed(data)
    if decoder.pending or len(frames) > 2:
        raise LinkError("more than a greeting came before the session was spoken to")
    return frames[0], frames[1]


def _not_started(code: int, stderr: IO[bytes]) -> str:
    stderr.seek(0)
    line = why_failed(code, stderr.read()[-STDERR_KEPT:])
    return line.replace("its nono failed", "its nono relay did not start", 1)
