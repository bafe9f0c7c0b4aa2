"""The one Connection: typed messages out and frames in, blocking and asyncio alike, over a real
socketpair and against a real supervisor; what a garbled frame, a hang-up mid-frame and a client
of another protocol version come to."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from nono.session.connection import Connection
from nono.session.protocol import (
    HEADER,
    MAX_PAYLOAD,
    VERSION,
    Exit,
    Hello,
    Kind,
    ProtocolError,
    Reason,
    Refusal,
    Refused,
    Request,
    Resize,
    Response,
    encode,
    encode_input,
    read_response,
)

MESSAGES = [
    Hello("screen", 80, 24, steal=True),
    Resize(120, 40),
    Exit(3, True),
    Request("capture", {"history": 5}),
    Response(True, {"ok": True, "text": "hi"}),
]


def pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


async def async_pair() -> tuple[Connection, socket.socket]:
    """An asyncio Connection on one end of a socketpair, and the other end (blocking)."""
    mine, theirs = pair()
    reader, writer = await asyncio.open_unix_connection(sock=mine)
    return Connection(reader=reader, writer=writer), theirs


def decoded(frame) -> object:
    kinds = {Kind.HELLO: Hello, Kind.RESIZE: Resize, Kind.EXIT: Exit, Kind.REQUEST: Request,
             Kind.RESPONSE: Response}  # fmt: skip
    return kinds[frame.kind].decode(frame)


# ------------------------------------------------------------------ blocking, on a socketpair


def test_typed_messages_sent_on_one_end_are_read_as_the_same_messages_on_the_other():
    a, b = pair()
    ours, theirs = Connection(a), Connection(b)
    try:
        ours.send(*MESSAGES)
        ours.send(encode_input(b"\x00raw\xff"))
        got = [decoded(theirs.read(timeout=10)) for _ in MESSAGES]
        assert got == MESSAGES
        raw = theirs.read(timeout=10)
        assert raw is not None and (raw.kind, raw.payload) == (Kind.INPUT, b"\x00raw\xff")
        ours.close()
        assert theirs.read(timeout=10) is None  # a hang-up between frames is the end, no error
    finally:
        ours.close()
        theirs.close()


def test_frames_split_across_reads_arrive_whole():
    a, b = pair()
    conn = Connection(b, chunk=3)  # three bytes a read: every frame arrives in pieces
    try:
        a.sendall(b"".join(m.encode() for m in MESSAGES))
        assert [decoded(conn.read(timeout=10)) for _ in MESSAGES] == MESSAGES
    finally:
        a.close()
        conn.close()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (HEADER.pack(2, 0xEE) + b"{}", "unknown frame type 238"),
        (HEADER.pack(MAX_PAYLOAD + 1, Kind.OUTPUT), f"frame too large ({MAX_PAYLOAD + 1} bytes)"),
    ],
)
def test_a_garbled_frame_is_a_protocol_error_naming_what_was_wrong(data, problem):
    a, b = pair()
    conn = Connection(b)
    try:
        a.sendall(data)
        with pytest.raises(ProtocolError, match=problem.replace("(", r"\(").replace(")", r"\)")):
            conn.read(timeout=10)
    finally:
        a.close()
        conn.close()


def test_a_peer_that_hangs_up_mid_frame_is_a_protocol_error_not_a_quiet_end():
    a, b = pair()
    conn = Connection(b)
    frame = Exit(0).encode()
    try:
        a.sendall(frame[:-2])
        a.close()
        with pytest.raises(ProtocolError, match=f"middle of a frame \\({len(frame) - 2} bytes"):
            conn.read(timeout=10)
    finally:
        conn.close()


def test_a_refusal_in_the_handshake_carries_its_reason_code():
    a, b = pair()
    server, conn = Connection(a), Connection(b)
    try:
        # The refusal is already on its way: the handshake reads it after sending its Hello.
        server.send(Refused(Reason.ATTACHED_ELSEWHERE, "any words at all", "a hint"))
        with pytest.raises(Refusal) as refused:
            conn.handshake(Hello("raw", 80, 24))
        assert refused.value.reason is Reason.ATTACHED_ELSEWHERE
        assert Hello.decode(server.read(timeout=10)) == Hello("raw", 80, 24)
    finally:
        server.close()
        conn.close()


def test_a_hang_up_instead_of_a_welcome_is_a_protocol_error():
    a, b = pair()
    conn = Connection(b)
    a.shutdown(socket.SHUT_WR)  # it takes the Hello, and closes without a word
    try:
        with pytest.raises(ProtocolError, match="the supervisor hung up"):
            conn.handshake(Hello("control"))
    finally:
        a.close()
        conn.close()


# ------------------------------------------------------------------ asyncio, on a socketpair


def test_asyncio_use_reads_the_same_frames_and_ends_the_same_ways():
    async def main() -> None:
        conn, theirs = await async_pair()
        peer = Connection(theirs)
        try:
            peer.send(*MESSAGES)
            assert [decoded(await conn.aread(10)) for _ in MESSAGES] == MESSAGES
            conn.send(Resize(3, 4), encode_input(b"typed"))
            await conn.writer.drain()
            assert Resize.decode(peer.read(timeout=10)) == Resize(3, 4)
            assert peer.read(timeout=10).payload == b"typed"
            # A garbled frame: named.
            theirs.sendall(HEADER.pack(0, 0xEE))
            with pytest.raises(ProtocolError, match="unknown frame type 238"):
                await conn.aread(10)
        finally:
            conn.close()
            peer.close()

        conn, theirs = await async_pair()
        try:
            theirs.sendall(Exit(1).encode()[:-1])
            theirs.close()
            with pytest.raises(ProtocolError, match="middle of a frame"):
                await conn.aread(10)
        finally:
            conn.close()

        conn, theirs = await async_pair()
        try:
            theirs.sendall(Exit(1).encode())
            theirs.close()
            assert Exit.decode(await conn.aread(10)) == Exit(1)
            assert await conn.aread(10) is None
        finally:
            conn.close()

    asyncio.run(main())


# ------------------------------------------------------------------ against a real supervisor


@pytest.fixture
def supervisor_socket(nono):
    """A real detached session's socket address, stopped afterwards."""
    r = nono("run", "--detached", "--size", "80x24", "--allow-cwd", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    session_id = r.stdout.split()[0]
    inspected = nono("inspect", session_id, "--json")
    assert inspected.returncode == 0, inspected.stderr
    yield "\0" + json.loads(inspected.stdout)["socket"]
    nono("stop", session_id, "--force")


def test_a_real_supervisor_welcomes_answers_and_refuses_another_version_by_code(
    supervisor_socket,
):
    conn = Connection.connect(supervisor_socket)
    try:
        welcome = conn.handshake(Hello("control"), timeout=10)
        assert welcome.record["status"] == "running"
        conn.send(Request("status", {}))
        answer = None
        while answer is None:
            answer = read_response(conn.read(timeout=10), "status")
        assert answer["ok"] and answer["record"]["id"] == welcome.record["id"]
    finally:
        conn.close()

    conn = Connection.connect(supervisor_socket)
    try:
        with pytest.raises(Refusal) as refused:
            conn.handshake(Hello("control", version=VERSION + 1), timeout=10)
        assert refused.value.reason is Reason.VERSION
    finally:
        conn.close()


def test_a_real_supervisor_over_asyncio_refuses_by_code_and_survives_a_garbled_client(
    supervisor_socket,
):
    async def main() -> None:
        conn = await Connection.open(supervisor_socket)
        try:
            with pytest.raises(Refusal) as refused:
                await conn.ahandshake(Hello("screen", 80, 24, version=VERSION + 1), timeout=10)
            assert refused.value.reason is Reason.VERSION
        finally:
            conn.close()

        # A client whose first frame cannot be read is told why, by code, and hung up on.
        conn = await Connection.open(supervisor_socket)
        try:
            conn.send(encode(Kind.HELLO, b"{not json"))
            frame = await conn.aread(10)
            assert frame is not None and frame.kind == Kind.REFUSED
            assert Refused.decode(frame).reason is Reason.BROKEN
            assert await conn.aread(10) is None
        finally:
            conn.close()

        # The session is unharmed: a screen client is welcomed and sent the screen.
        conn = await Connection.open(supervisor_socket)
        try:
            welcome = await conn.ahandshake(Hello("screen", 80, 24, read_only=True), timeout=10)
            assert welcome.record["status"] == "running"
            frame = await conn.aread(10)
            while frame is not None and frame.kind != Kind.SCREEN:
                frame = await conn.aread(10)
            assert frame is not None and frame.kind == Kind.SCREEN
        finally:
            conn.close()

    asyncio.run(main())
