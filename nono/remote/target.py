"""Which session a command means: a local one, or one on a host (`--host NAME`, or the
`NAME:SESSION` form), and a control connection to a remote one that answers as client.Control
does, its words cleaned (they come from another host)."""

from __future__ import annotations

import re

from nono.errors import NonoError
from nono.remote.hosts import Host, resolve, split_address
from nono.session.activity import clean_text
from nono.session.protocol import Hello, ProtocolError, Refusal, Request, read_response

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from nono.remote.direct import RemoteConnection
    from nono.session.connection import Connection


def target(ref: str, host: str | None) -> tuple[Host | None, str]:
    """(the host, the session there) for a remote session, (None, ref) for a local one.
    config.toml is read only when a host may be meant."""
    if host is None and ":" not in ref:
        return None, ref
    from nono.config import load_config

    hosts = load_config().hosts
    if host is not None:
        return resolve(host, hosts), ref
    name, session = split_address(ref, hosts)
    return (resolve(name, hosts), session) if name is not None else (None, ref)


class RemoteControl:
    """A control connection to a session on another host (remote/direct.py's ssh)."""

    def __init__(self, host: Host, ref: str) -> None:
        from nono.remote.direct import connect  # ssh and sockets: only for a remote session

        self.host = host
        self.conn: RemoteConnection
        self.conn, opened = connect(host, ref)
        self.name = f"{host.name}:{opened['name']}"
        try:
            self.welcome = self.conn.handshake(Hello("control")).record
        except (NonoError, OSError, TimeoutError) as exc:
            self.conn.close()
            raise NonoError(f"session {self.name}: {_said(exc)}") from None

    def request(self, op: str, wait: float | None = 30, **args: Any) -> dict[str, Any]:
        try:
            self.conn.send(Request(op, args))
            while True:
                frame = self.conn.read(wait)
                if frame is None:
                    raise NonoError(f"session {self.name} hung up during {op}")
                answer = read_response(frame, op)
                if answer is not None:
                    return answer
        except ProtocolError as exc:
            raise NonoError(f"session {self.name} answered badly: {_said(exc)}") from None
        except TimeoutError:
            raise NonoError(f"session {self.name} did not answer in time") from None
        except OSError as exc:
            raise NonoError(f"session {self.name}: link lost: {exc.strerror or exc}") from None
        except NonoError as exc:  # a failed request: the supervisor's words, from that host
            raise NonoError(f"session {self.name}: {_said(exc)}") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RemoteControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def dial(host: Host, ref: str) -> Callable[[Hello], Connection]:
    """For client.attach: connect to the session on `host` and say `hello`; a refusal keeps
    its reason code (attached elsewhere, ...) and loses any escape in its words."""

    def connect_and_greet(hello: Hello) -> Connection:
        from nono.remote.direct import connect

        conn, opened = connect(host, ref)
        try:
            conn.handshake(hello)
        except Refusal as exc:
            conn.close()
            raise Refusal(exc.reason, _said_message(exc), exc.hint and clean_text(exc.hint)
                          ) from None  # fmt: skip
        except (NonoError, OSError, TimeoutError) as exc:
            conn.close()
            raise NonoError(f"session {host.name}:{opened['name']}: {_said(exc)}") from None
        return conn

    return connect_and_greet


def _said_message(exc: NonoError) -> str:
    return clean_text(exc.message, 500)


def _said(exc: BaseException) -> str:
    return clean_text(exc.one_line() if isinstance(exc, NonoError) else str(exc), 500)


# SGR only: colours and attributes are what `capture --ansi` means; any other sequence from
# another host (a title, a clipboard write, a cursor move) is dropped.
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_screen(text: str, ansi: bool) -> str:
    """A remote session's captured screen, safe to print: lines and tabs kept, SGR kept when
    `ansi`, every other control character and sequence removed."""
    if not ansi:
        return _CONTROL.sub("", text)
    parts = _SGR.split(text)
    sgrs = _SGR.findall(text)
    out = [_CONTROL.sub("", parts[0])]
    for sgr, part in zip(sgrs, parts[1:], strict=True):
        out += [sgr, _CONTROL.sub("", part)]
    return "".join(out)
