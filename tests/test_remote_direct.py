"""One remote session for a one-shot command (remote/direct.py): its own ssh running `nono
relay SESSION`, a blocking Connection on a real socket, through a real sshd."""

from __future__ import annotations

import pytest

from nono import __version__
from nono.errors import NonoError
from nono.remote.direct import connect
from nono.remote.link import LinkLost
from nono.session.protocol import Hello, Kind, Request, encode_input, read_response
from tests.sshd import sshd  # noqa: F401 (fixture)


def _request(conn, op: str, **args) -> dict:
    conn.send(Request(op, args))
    while True:
        frame = conn.read(30)
        assert frame is not None, f"hung up during {op}"
        answer = read_response(frame, op)
        if answer is not None:
            return answer


def test_a_blocking_control_connection_reaches_a_remote_session(sshd):  # noqa: F811
    sshd.start_session("far", "sh", "-c", "echo direct-hello; exec sleep 600")
    conn, opened = connect(sshd.host(), "far")
    try:
        assert opened["name"] == "far" and len(opened["id"]) == 12
        assert conn.handshake(Hello("control")).record["name"] == "far"
        assert _request(conn, "status")["record"]["status"] == "running"
        for _ in range(300):  # until the agent has drawn it: its start is not ours to time
            if "direct-hello" in _request(conn, "capture")["text"]:
                break
        assert "direct-hello" in _request(conn, "capture")["text"]
    finally:
        conn.close()
    assert conn.proc.returncode is not None  # closing it ended its ssh


def test_a_raw_connection_carries_keys_and_their_echo(sshd):  # noqa: F811
    sshd.start_session("typing", "cat")
    conn, _ = connect(sshd.host(), "typing")
    try:
        conn.handshake(Hello("raw", 80, 24))
        conn.send(encode_input(b"direct-keys\r"))
        seen = b""
        while seen.count(b"direct-keys") < 2:  # the terminal's echo, then cat's
            frame = conn.read(30)
            assert frame is not None, seen
            if frame.kind == Kind.OUTPUT:
                seen += frame.payload
    finally:
        conn.close()


def test_a_session_the_host_does_not_have_is_a_clear_error(sshd):  # noqa: F811
    with pytest.raises(NonoError) as info:
        connect(sshd.host(), "nope")
    assert info.value.message.startswith("host test: no session matches 'nope'")
    assert not isinstance(info.value, LinkLost)


def test_another_nono_version_is_refused_naming_both(sshd):  # noqa: F811
    with pytest.raises(LinkLost) as info:
        connect(sshd.host(version="9.9.9"), "anything")
    assert f"nono {__version__} (session protocol 1, link 2) here" in info.value.message
    assert "nono 9.9.9 (session protocol 1, link 2) on test" in info.value.message


def test_a_host_without_nono_says_what_its_shell_said(sshd):  # noqa: F811
    from nono.remote.hosts import Host

    host = Host("bare", sshd.address, (), "no-such-nono-command")
    with pytest.raises(LinkLost) as info:
        connect(host, "x")
    assert info.value.message.startswith("host bare: its nono relay did not start (exit 127)")
    assert "no-such-nono-command" in info.value.message


FAKE_RELAY = """
import os, sys
sys.path.insert(0, {checkout!r})
from nono.remote import wire
out = os.fdopen(1, "wb", buffering=0)
out.write(wire.encode(0, wire.LinkKind.HELLO, wire.hello()))
sys.stdin.buffer.read(len(wire.encode(0, wire.LinkKind.HELLO, wire.hello())))
out.write(wire.encode(1, wire.LinkKind.OPENED, {{"id": "ab", "name": "x"}}) + b"\\x1b]52;c;?\\x07")
sys.stdin.buffer.read()
"""


def test_a_relay_that_speaks_before_the_session_is_spoken_to_is_refused(sshd):  # noqa: F811
    import shlex
    import sys

    from nono.remote.hosts import Host
    from tests.sshd import CHECKOUT

    script = sshd.dir / "fake_relay.py"
    script.write_text(FAKE_RELAY.format(checkout=str(CHECKOUT)))
    host = Host("evil", sshd.address, (), f"{shlex.quote(sys.executable)} {script} #")
    with pytest.raises(LinkLost) as info:
        connect(host, "x")
    # Read as link frames, the extra bytes are refused either as too much or as nonsense.
    assert info.value.message.startswith("host evil: its answer is not a nono relay (")
    assert "\x1b" not in info.value.message
