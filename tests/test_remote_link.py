"""A link to a host through a real sshd (tests/sshd.py): one ssh process running `nono relay`
there, channels over it to remote sessions, each spoken to as a local session is."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from nono import __version__
from nono.errors import NonoError
from nono.remote.hosts import Host
from nono.remote.link import Link, LinkLost
from nono.session.protocol import Hello, Request, read_response
from tests.sshd import sshd  # noqa: F401 (fixture)

SLEEPER = ("sh", "-c", "echo hello-from-far-away; exec sleep 600")


async def _request(conn, op: str, **args) -> dict:
    conn.send(Request(op, args))
    while True:
        frame = await conn.aread(30)
        assert frame is not None, f"hung up during {op}"
        answer = read_response(frame, op)
        if answer is not None:
            return answer


async def _capture_until(conn, text: str) -> str:
    """The screen once the agent has drawn `text` (its start is not ours to time)."""
    for _ in range(300):
        screen = (await _request(conn, "capture"))["text"]
        if text in screen:
            return screen
        await asyncio.sleep(0.05)
    return screen


def _ssh_children() -> list[int]:
    """The ssh processes this test process started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
            if comm == "ssh" and int(rest.split()[1]) == os.getpid():
                found.append(int(entry.name))
    return found


def test_a_control_request_reaches_a_remote_session_through_the_relay(sshd):  # noqa: F811
    sshd.start_session("far", *SLEEPER)

    async def main() -> None:
        link = await Link.open(sshd.host())
        try:
            conn = await link.channel("far")
            welcome = await conn.ahandshake(Hello("control"))
            assert welcome.record["name"] == "far"
            status = await _request(conn, "status")
            assert status["record"]["name"] == "far" and status["record"]["status"] == "running"
            assert "hello-from-far-away" in await _capture_until(conn, "hello-from-far-away")
            conn.close()
        finally:
            await link.close()

    asyncio.run(main())


def test_two_channels_share_one_ssh_process(sshd):  # noqa: F811
    sshd.start_session("one", *SLEEPER)
    sshd.start_session("two", "sh", "-c", "echo second-session; exec sleep 600")

    async def main() -> None:
        link = await Link.open(sshd.host())
        try:
            first, second = await link.channel("one"), await link.channel("two")
            names = [(await c.ahandshake(Hello("control"))).record["name"] for c in (first, second)]
            assert names == ["one", "two"]
            # Both answer, interleaved on the one stream.
            screens = await asyncio.gather(_capture_until(first, "hello-from-far-away"),
                                           _capture_until(second, "second-session"))  # fmt: skip
            assert "hello-from-far-away" in screens[0] and "second-session" in screens[1]
            assert _ssh_children() == [link.proc.pid]
            listed = await link.sessions()
            assert sorted(row.name for row in listed) == ["one", "two"]
            assert {row.host for row in listed} == {"test"}
            first.close()
            # One channel closed leaves the other working.
            assert (await _request(second, "status"))["record"]["name"] == "two"
        finally:
            await link.close()

    asyncio.run(main())


def test_a_remote_nono_of_another_version_is_refused_naming_both(sshd):  # noqa: F811
    async def main() -> None:
        with pytest.raises(LinkLost) as info:
            await Link.open(sshd.host(version="9.9.9"))
        message = info.value.message
        assert f"nono {__version__} (session protocol 1, link 2) here" in message
        assert "nono 9.9.9 (session protocol 1, link 2) on test" in message

    asyncio.run(main())


def test_opening_a_session_the_host_does_not_have_is_a_clear_error(sshd):  # noqa: F811
    async def main() -> None:
        link = await Link.open(sshd.host())
        try:
            with pytest.raises(NonoError, match="host test: no session matches 'nope'"):
                await link.channel("nope")
            assert await link.sessions() == []  # the link still works
        finally:
            await link.close()

    asyncio.run(main())


def test_a_host_that_cannot_be_reached_is_one_line(sshd):  # noqa: F811
    async def main() -> None:
        with pytest.raises(LinkLost) as info:
            await Link.open(Host("gone", "me@gone.invalid"))
        assert info.value.message.startswith("host gone: cannot reach it (ssh failed): ")
        assert "\n" not in info.value.message

    asyncio.run(main())


def test_a_host_whose_nono_is_not_a_relay_is_refused(sshd):  # noqa: F811
    async def main() -> None:
        host = Host("odd", sshd.address, (), "printf 'hello\\033[2J from a shell rc' #")
        with pytest.raises(LinkLost, match="host odd: its answer is not a nono relay"):
            await Link.open(host)
        # A nono too old to have `relay` says so on stderr; that is what is shown.
        old = Host("old", sshd.address, (), "echo 'nono: invalid choice: relay' >&2; exit 1 #")
        with pytest.raises(LinkLost, match="its nono relay did not start: nono: invalid choice"):
            await Link.open(old)

    asyncio.run(main())


def test_killing_ssh_loses_the_link_and_leaves_the_remote_session_running(sshd):  # noqa: F811
    sshd.start_session("stays", *SLEEPER)

    async def main() -> None:
        link = await Link.open(sshd.host())
        conn = await link.channel("stays")
        await conn.ahandshake(Hello("control"))
        link.proc.kill()
        assert await conn.aread(30) is None  # the channel hangs up, as a socket would
        with pytest.raises(LinkLost, match="host test: link lost"):
            await link.channel("stays")
        await link.close()
        # A new link finds the session as it was.
        again = await Link.open(sshd.host())
        try:
            conn = await again.channel("stays")
            assert (await conn.ahandshake(Hello("control"))).record["status"] == "running"
        finally:
            await again.close()

    asyncio.run(main())


def test_keys_typed_through_a_channel_reach_the_remote_agent_and_its_echo_comes_back(sshd):  # noqa: F811
    from nono.session.protocol import Kind, encode_input

    sshd.start_session("typing", "cat")

    async def main() -> None:
        link = await Link.open(sshd.host())
        try:
            conn = await link.channel("typing")
            await conn.ahandshake(Hello("raw", 80, 24))
            conn.send(encode_input(b"ping-through-ssh\r"))
            seen = b""
            while seen.count(b"ping-through-ssh") < 2:  # the terminal's echo, then cat's
                frame = await conn.aread(30)
                assert frame is not None, seen
                if frame.kind == Kind.OUTPUT:
                    seen += frame.payload
        finally:
            await link.close()

    asyncio.run(main())


FAKE_RELAY = """
import os, sys
sys.path.insert(0, {checkout!r})
from nono.remote import wire
out = os.fdopen(1, "wb", buffering=0)
out.write(wire.encode(0, wire.LinkKind.HELLO, wire.hello()))
hello = len(wire.encode(0, wire.LinkKind.HELLO, wire.hello()))
sys.stdin.buffer.read(hello + wire.HEADER.size)  # the local hello, then an OPEN, have come
out.write(wire.HEADER.pack(1, wire.LinkKind.DATA, wire.MAX_PAYLOAD + 1) + b"x" * 4096)
sys.stdin.buffer.read()
"""


def test_a_relay_sending_an_oversized_frame_loses_the_link_not_the_dashboard(sshd):  # noqa: F811
    import shlex
    import sys

    from tests.sshd import CHECKOUT

    script = sshd.dir / "fake_relay.py"
    script.write_text(FAKE_RELAY.format(checkout=str(CHECKOUT)))
    host = Host("evil", sshd.address, (), f"{shlex.quote(sys.executable)} {script} #")

    async def main() -> None:
        link = await Link.open(host)
        try:
            with pytest.raises(
                LinkLost, match=r"host evil: link lost \(garbled data: link frame too large"
            ):
                await link.channel("anything")
        finally:
            await link.close()

    asyncio.run(main())


def test_a_flood_in_a_remote_session_comes_through_with_the_other_channel_alive(sshd):  # noqa: F811
    from nono.session.protocol import Kind, encode_input

    sshd.start_session("quiet", *SLEEPER)
    sshd.start_session(
        "flood", "sh", "-c", "read go; seq 1 300000; echo flood-done; exec sleep 600"
    )

    async def main() -> None:
        link = await Link.open(sshd.host())
        try:
            quiet, flood = await link.channel("quiet"), await link.channel("flood")
            await quiet.ahandshake(Hello("control"))
            await flood.ahandshake(Hello("raw", 80, 24))
            flood.send(encode_input(b"go\r"))
            seen, size = b"", 0
            while b"flood-done" not in seen:
                frame = await flood.aread(60)
                assert frame is not None
                if frame.kind == Kind.OUTPUT:
                    size += len(frame.payload)
                    seen = seen[-64:] + frame.payload
            assert size > 300_000  # the flood itself came, not only its last screen
            assert (await _request(quiet, "status"))["record"]["name"] == "quiet"
        finally:
            await link.close()

    asyncio.run(main())
