"""The supervisor's wire format: length-prefixed, typed, versioned frames over a Unix socket.

Each message is one NamedTuple below with its encoding and decoding beside it, so a reader (or a
future relay) finds every field in one place, as tmux's tmux-protocol.h has one struct per
message. Clients decide on `Reason` codes; the human text travels only to be shown. Frames are
read and written by session/connection.py's Connection, for blocking and asyncio callers alike;
a cell style and the mode set travel in their own compact forms (term/style.py encode_style,
term/modeset.py encode_modes).
"""

from __future__ import annotations

import enum
import json
import struct
from collections import namedtuple
from dataclasses import dataclass

from nono.errors import NonoError

# typing costs `nono attach` ~5 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from nono.term.style import Style

VERSION = 1
HEADER = struct.Struct(">IB")  # payload length, frame type
MAX_PAYLOAD = 4 * 1024 * 1024
_COMPACT = (",", ":")


class Kind(enum.IntEnum):
    HELLO = 1  # client -> supervisor: Hello
    WELCOME = 2  # supervisor -> client: Welcome
    REFUSED = 3  # supervisor -> client: Refused
    INPUT = 4  # client -> supervisor: bytes for the agent (raw payload)
    OUTPUT = 5  # supervisor -> client: bytes from the agent or a replay (raw payload)
    RESIZE = 6  # client -> supervisor: Resize
    DETACHED = 7  # supervisor -> client: Detached
    EXIT = 8  # supervisor -> client: Exit
    REQUEST = 9  # client -> supervisor: Request
    RESPONSE = 10  # supervisor -> client: Response
    SCREEN = 11  # supervisor -> screen-mode client: Screen
    RELEASED = 12  # supervisor -> watching clients: the session is free to take (no payload)
    ACTIVITY = 13  # supervisor -> screen and raw clients: ActivityChanged


class Reason(enum.StrEnum):
    """Why a supervisor refused or detached a client: what clients decide on."""

    ATTACHED_ELSEWHERE = "attached-elsewhere"  # refused: another interactive client holds it
    VERSION = "version"  # refused: the client speaks another protocol version
    UNSUPPORTED = "unsupported"  # refused: a hello this supervisor cannot serve
    BROKEN = "broken"  # refused: the hello itself could not be read
    TAKEN_OVER = "taken-over"  # detached: another client stole the session
    DETACH_REQUEST = "detach-request"  # detached: `nono detach`
    UNKNOWN = "unknown"  # a code from a newer peer, or none (a peer from before codes)

    @classmethod
    def read(cls, value: object) -> Reason:
        if not isinstance(value, str):  # what cls(value) would refuse too
            return cls.UNKNOWN
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


class ProtocolError(NonoError):
    """A frame that cannot be understood: the connection it came on is closed."""


class Refusal(NonoError):
    """The supervisor said no; `reason` is what a client acts on, the message what it shows."""

    def __init__(self, reason: Reason, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    kind: Kind
    payload: bytes

    def json(self) -> dict[str, Any]:
        return json_object(self.payload, self.kind.name)


def json_object(
    payload: bytes, what: str, error: type[ProtocolError] | None = None
) -> dict[str, Any]:
    """A frame's payload as the JSON object it must be; `error` (ProtocolError or a subclass)
    naming the frame kind `what` otherwise. Session frames and link frames alike."""
    error = error or ProtocolError
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise error(f"garbled {what} frame: {exc}") from None
    if not isinstance(value, dict):
        raise error(f"garbled {what} frame: not an object")
    return value


def encode(kind: Kind, payload: bytes | dict[str, Any] = b"") -> bytes:
    if isinstance(payload, dict):
        payload = json.dumps(payload, separators=_COMPACT).encode()
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"frame too large ({len(payload)} bytes)")
    return HEADER.pack(len(payload), kind) + payload


def encode_input(data: bytes) -> bytes:
    return encode(Kind.INPUT, data)


def encode_output(data: bytes) -> bytes:
    """OUTPUT frames, split so no frame exceeds the limit."""
    if len(data) <= MAX_PAYLOAD:
        return HEADER.pack(len(data), Kind.OUTPUT) + data
    parts = [data[i : i + MAX_PAYLOAD] for i in range(0, len(data), MAX_PAYLOAD)]
    return b"".join(HEADER.pack(len(p), Kind.OUTPUT) + p for p in parts)


def _expect(frame: Frame, kind: Kind) -> dict[str, Any]:
    if frame.kind != kind:
        raise ProtocolError(f"expected {kind.name}, got {frame.kind.name}")
    return frame.json()


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ------------------------------------------------------------------ the messages
# collections.namedtuple, not typing.NamedTuple: importing typing costs `nono attach` ~2 ms.


class Hello(
    namedtuple(
        "Hello",
        "mode cols rows steal read_only version activity",
        defaults=(None, None, False, False, VERSION, False),
    )
):
    """The client's first frame: how it wants to be served. `activity`: send it ACTIVITY
    frames (a client that says nothing may be from before they existed, and would refuse an
    unknown frame kind: so it is sent none, and the protocol version stays the same)."""

    __slots__ = ()

    mode: str  # "raw" (nono attach), "screen" (the dashboard) or "control" (requests only)
    cols: int | None
    rows: int | None
    steal: bool
    read_only: bool
    version: int
    activity: bool

    def encode(self) -> bytes:
        body: dict[str, Any] = {"v": self.version, "mode": self.mode}
        if self.activity:
            body["activity"] = True
        if self.cols and self.rows:
            body["cols"], body["rows"] = self.cols, self.rows
        if self.steal:
            body["steal"] = True
        if self.read_only:
            body["read_only"] = True
        return encode(Kind.HELLO, body)

    @classmethod
    def decode(cls, frame: Frame) -> Hello:
        body = _expect(frame, Kind.HELLO)
        return cls(str(body.get("mode")), _int_or_none(body.get("cols")),
                   _int_or_none(body.get("rows")), bool(body.get("steal")),
                   bool(body.get("read_only")), body.get("v"),
                   bool(body.get("activity")))  # fmt: skip


class Welcome(namedtuple("Welcome", "record")):
    """The supervisor's yes: the session record as it stands."""

    __slots__ = ()

    record: dict[str, Any]

    def encode(self) -> bytes:
        return encode(Kind.WELCOME, self.record)

    @classmethod
    def decode(cls, frame: Frame) -> Welcome:
        return cls(_expect(frame, Kind.WELCOME))


class Refused(namedtuple("Refused", "reason text hint", defaults=(None,))):
    """The supervisor's no. Wire: {error, hint?, code}."""

    __slots__ = ()

    reason: Reason
    text: str
    hint: str | None

    def encode(self) -> bytes:
        body: dict[str, Any] = {"error": self.text, "code": self.reason.value}
        if self.hint:
            body["hint"] = self.hint
        return encode(Kind.REFUSED, body)

    @classmethod
    def decode(cls, frame: Frame) -> Refused:
        body = _expect(frame, Kind.REFUSED)
        return cls(Reason.read(body.get("code")), str(body.get("error", "refused")),
                   body.get("hint"))  # fmt: skip

    def error(self) -> Refusal:
        return Refusal(self.reason, self.text, self.hint)


class Detached(namedtuple("Detached", "reason text alternate", defaults=(False,))):
    """The supervisor let this client go. Wire: {reason (text), code, alternate}."""

    __slots__ = ()

    reason: Reason
    text: str
    alternate: bool

    def encode(self) -> bytes:
        body = {"reason": self.text, "code": self.reason.value, "alternate": self.alternate}
        return encode(Kind.DETACHED, body)

    @classmethod
    def decode(cls, frame: Frame) -> Detached:
        body = _expect(frame, Kind.DETACHED)
        return cls(Reason.read(body.get("code")), str(body.get("reason", "detached")),
                   bool(body.get("alternate")))  # fmt: skip


class Exit(namedtuple("Exit", "code alternate", defaults=(False,))):
    """The agent exited with `code` (None when killed by a signal or unknown)."""

    __slots__ = ()

    code: int | None
    alternate: bool

    def encode(self) -> bytes:
        return encode(Kind.EXIT, {"code": self.code, "alternate": self.alternate})

    @classmethod
    def decode(cls, frame: Frame) -> Exit:
        body = _expect(frame, Kind.EXIT)
        return cls(_int_or_none(body.get("code")), bool(body.get("alternate")))


class Released(namedtuple("Released", "")):
    """The interactive client left: a client watching read-only may take the session now (the
    dashboard's watching panes do; `nono attach --read-only` stays as it was asked)."""

    __slots__ = ()

    def encode(self) -> bytes:
        return encode(Kind.RELEASED)

    @classmethod
    def decode(cls, frame: Frame) -> Released:
        if frame.kind != Kind.RELEASED:
            raise ProtocolError(f"expected a RELEASED frame, got {frame.kind.name}")
        return cls()


class ActivityChanged(namedtuple("ActivityChanged", "activity")):
    """The session's activity state changed (session/activity.py): sent to every client whose
    Hello asked for it when it does, and once on admission. Wire: Activity.to_json()."""

    __slots__ = ()

    activity: dict[str, Any]

    def encode(self) -> bytes:
        return encode(Kind.ACTIVITY, self.activity)

    @classmethod
    def decode(cls, frame: Frame) -> ActivityChanged:
        return cls(_expect(frame, Kind.ACTIVITY))


class Resize(namedtuple("Resize", "cols rows")):
    __slots__ = ()

    cols: int
    rows: int

    def encode(self) -> bytes:
        return encode(Kind.RESIZE, {"cols": self.cols, "rows": self.rows})

    @classmethod
    def decode(cls, frame: Frame) -> Resize:
        body = _expect(frame, Kind.RESIZE)
        try:
            return cls(int(body["cols"]), int(body["rows"]))
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(f"garbled RESIZE frame: {body!r}") from None


class Request(namedtuple("Request", "op args")):
    """A control request: status, capture, history, send, detach, stop, rate, wait."""

    __slots__ = ()

    op: str
    args: dict[str, Any]

    def encode(self) -> bytes:
        return encode(Kind.REQUEST, {"op": self.op, **self.args})

    @classmethod
    def decode(cls, frame: Frame) -> Request:
        body = _expect(frame, Kind.REQUEST)
        return cls(str(body.pop("op", "")), body)


class Response(namedtuple("Response", "ok fields")):
    """A request's answer: ok and its fields (the whole answer, "ok" included, as callers read
    it), or not ok and an error to show."""

    __slots__ = ()

    ok: bool
    fields: dict[str, Any]

    def encode(self) -> bytes:
        return encode(Kind.RESPONSE, {**self.fields, "ok": self.ok})

    @classmethod
    def decode(cls, frame: Frame) -> Response:
        body = _expect(frame, Kind.RESPONSE)
        return cls(bool(body.get("ok")), body)

    def error(self, op: str) -> str:
        return str(self.fields.get("error", f"{op} failed"))


class Screen(
    namedtuple(
        "Screen", "rows styles full cursor cursor_visible size title alternate modes bells history"
    )
):
    """Changed rows as runs of [text, style index], the style table, and what a client needs to
    act like the program's terminal. Hot: one per tick per screen client, so built and read with
    one dict and no per-field checks beyond the defaults and the codecs' (cached) own.

    A style travels in term.style.encode_style's form and is kept in it by the decoded frame (the
    dashboard caches what it draws on that string); the mode set travels in term.modeset.
    encode_modes's form and is decoded to Modes."""

    __slots__ = ()

    rows: dict[str, list[Any]]  # row number (a string: JSON keys) -> runs
    styles: list[str]  # encode_style strings
    full: bool
    cursor: tuple[int, int]
    cursor_visible: bool
    size: tuple[int, int]
    title: str
    alternate: bool
    modes: Any  # term.modeset.Modes; encode_modes's string on the wire
    bells: int
    history: int

    def encode(self) -> bytes:
        from nono.term.modeset import encode_modes

        body = self._asdict()
        body["modes"] = encode_modes(self.modes)
        return encode(Kind.SCREEN, json.dumps(body, separators=_COMPACT).encode())

    @classmethod
    def decode(cls, frame: Frame, cols: int, rows: int) -> Screen:
        """`cols`/`rows`: the size to assume if the frame names none."""
        # Imported here: `nono attach` reads no SCREEN frame, and would pay ~15 ms for them.
        from nono.term.modeset import decode_modes
        from nono.term.style import decode_style

        f = frame.json().get
        styles, modes = f("styles", ()), f("modes", "7")
        try:
            for style in styles:
                decode_style(style)
            modes = decode_modes(modes)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"garbled SCREEN frame: {exc}") from None
        return cls(f("rows", {}), styles, bool(f("full")), tuple(f("cursor", (0, 0))),
                   bool(f("cursor_visible", True)), tuple(f("size", (cols, rows))),
                   str(f("title", "")), bool(f("alternate")), modes, int(f("bells", 0)),
                   int(f("history", 0)))  # fmt: skip


class History(namedtuple("History", "history screen styles cursor alternate")):
    """A `history` request's answer (its Response fields): lines of [text, style index] runs,
    the history's then the screen's rows, and their style table."""

    __slots__ = ()

    history: list[list[Any]]
    screen: list[list[Any]]
    styles: list[str]  # encode_style strings; decoded by styled()
    cursor: tuple[int, int]
    alternate: bool

    def fields(self) -> dict[str, Any]:
        """As Response fields, with the oldest history dropped until the answer fits a frame."""
        history = self.history
        body = {"ok": True, "history": history, "screen": self.screen,
                "cursor": list(self.cursor), "alternate": self.alternate,
                "styles": self.styles}  # fmt: skip
        while len(json.dumps(body, separators=_COMPACT)) >= MAX_PAYLOAD - 1024 and history:
            history = history[max(1, len(history) // 4) :]
            body["history"] = history
        return body

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> History:
        return cls(fields.get("history", []), fields.get("screen", []),
                   fields.get("styles", []), tuple(fields.get("cursor", (0, 0))),
                   bool(fields.get("alternate")))  # fmt: skip

    def styled(self) -> tuple[list[list[tuple[str, Style]]], list[list[tuple[str, Style]]]]:
        """The history's and the screen's lines as runs of (text, Style)."""
        from nono.term.style import decode_style

        try:
            styles = [decode_style(s) for s in self.styles]
            return ([[(text, styles[i]) for text, i in runs] for runs in self.history],
                    [[(text, styles[i]) for text, i in runs] for runs in self.screen])  # fmt: skip
        except (TypeError, ValueError, IndexError) as exc:
            raise ProtocolError(f"garbled history answer: {exc}") from None


# ------------------------------------------------------------------ the handshake


def read_welcome(frame: Frame | None) -> Welcome:
    """The supervisor's answer to a Hello, for the sync and the async client alike: a Welcome,
    or Refusal (carrying the reason code), or ProtocolError."""
    if frame is None:
        raise ProtocolError("the supervisor hung up")
    if frame.kind == Kind.REFUSED:
        raise Refused.decode(frame).error()
    return Welcome.decode(frame)


def read_response(frame: Frame, op: str) -> dict[str, Any] | None:
    """A control connection's frame, read for the answer to `op`: the answer's fields, or None
    for a frame that is not it (WELCOME, an EXIT in between). A refusal raises Refusal, a
    failed request NonoError with the supervisor's words."""
    if frame.kind == Kind.REFUSED:
        raise Refused.decode(frame).error()
    if frame.kind != Kind.RESPONSE:
        return None
    response = Response.decode(frame)
    if not response.ok:
        raise NonoError(response.error(op))
    return response.fields


def refuse_hello(hello: Hello) -> Refused | None:
    """Why a supervisor cannot serve this Hello, or None."""
    if hello.version != VERSION:
        return Refused(Reason.VERSION,
                       f"this client speaks session protocol version {hello.version}, "
                       f"the supervisor speaks version {VERSION}",
                       "use the same nono for both (a session started by another nono "
                       "install needs that install's client)")  # fmt: skip
    if hello.mode not in ("raw", "screen", "control"):
        return Refused(Reason.UNSUPPORTED, f"unsupported client mode {hello.mode!r}")
    return None


class Decoder:
    """Turns a byte stream into frames; raises ProtocolError on anything malformed."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            length, kind = HEADER.unpack_from(self._buf)
            if length > MAX_PAYLOAD:
                raise ProtocolError(f"frame too large ({length} bytes)")
            try:
                kind = Kind(kind)
            except ValueError:
                raise ProtocolError(f"unknown frame type {kind}") from None
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            frames.append(Frame(kind, bytes(self._buf[HEADER.size : end])))
            del self._buf[:end]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame (a peer that vanished mid-frame leaves some)."""
        return len(self._buf)
