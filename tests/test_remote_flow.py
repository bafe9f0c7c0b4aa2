"""Flow control per channel on a link: a pane whose reader stops reading (a dashboard busy
elsewhere, a slow client) holds back its own session's bytes only, never another channel's on
the same ssh."""

from __future__ import annotations

import asyncio

from nono.remote.link import Link
from nono.session.protocol import Hello, Kind, encode_input
from tests.sshd import sshd  # noqa: F401 (fixture)

PINGS = 20


def test_a_channel_whose_reader_stalls_does_not_hold_back_another(sshd):  # noqa: F811
    # Far more than every buffer between the relay and a channel's socket (its socketpair,
    # ssh's window, the pipes) while the test goes on: a link without per-channel credit
    # fills them all, and from then on its read loop waits on this channel.
    sshd.start_session("stalled", "sh", "-c", "while :; do seq 1 30000; sleep 0.1; done")
    sshd.start_session("typing", "cat")

    async def main() -> None:
        link = await Link.open(sshd.host())
        try:
            stalled, typing = await link.channel("stalled"), await link.channel("typing")
            await stalled.ahandshake(Hello("raw", 80, 24))  # and never read again
            await typing.ahandshake(Hello("raw", 80, 24))
            seen = b""
            for i in range(PINGS):
                # Apart, so that the stalled channel's flood goes on between them (no timing
                # is asserted: each echo must simply come, in order).
                await asyncio.sleep(0.1)
                typing.send(encode_input(f"ping-{i:02d}\r".encode()))
                while seen.count(f"ping-{i:02d}".encode()) < 2:  # the terminal's echo, cat's
                    frame = await typing.aread(30)
                    assert frame is not None, f"no echo of ping-{i:02d}; got {seen[-200:]!r}"
                    if frame.kind == Kind.OUTPUT:
                        seen += frame.payload
            order = [
                int(seen[j + 5 : j + 7]) for j in range(len(seen)) if seen.startswith(b"ping-", j)
            ]
            assert order == sorted(order) and set(order) == set(range(PINGS))
        finally:
            await link.close()

    asyncio.run(main())


def test_credit_comes_back_as_the_destination_takes_the_bytes():
    import socket

    from nono.remote.window import RETURN_AT, WINDOW, Inbox

    async def main() -> None:
        ours, theirs = socket.socketpair()
        _, writer = await asyncio.open_unix_connection(sock=ours)
        returned: list[int] = []
        inbox = Inbox(writer, returned.append)
        inbox.put(b"x" * (RETURN_AT - 1))
        got = b""
        theirs.setblocking(False)
        while len(got) < RETURN_AT - 1:
            await asyncio.sleep(0.01)
            got += _drain(theirs)
        assert returned == []  # not one CREDIT frame per DATA frame
        inbox.put(b"y")
        while len(got) < RETURN_AT:
            await asyncio.sleep(0.01)
            got += _drain(theirs)
        while not returned:
            await asyncio.sleep(0.01)
        assert returned == [RETURN_AT] and inbox.allowed == WINDOW
        inbox.abort()
        theirs.close()

    asyncio.run(main())


def _drain(sock) -> bytes:
    try:
        return sock.recv(1 << 20)
    except BlockingIOError:
        return b""


def test_credit_frames_outside_the_window_are_garbled():
    import pytest

    from nono.remote.window import WINDOW, SendWindow, credit_payload, read_credit
    from nono.remote.wire import LinkError

    assert read_credit(credit_payload(4096)) == 4096
    for bad in (credit_payload(0), credit_payload(WINDOW + 1), b"\x00\x01"):
        with pytest.raises(LinkError):
            read_credit(bad)

    async def main() -> None:
        window = SendWindow()
        window.spend(100)
        window.grant(100)
        with pytest.raises(LinkError, match="beyond the window"):
            window.grant(1)  # more came back than was ever sent

    asyncio.run(main())


FLOODING_RELAY = """
import os, sys
sys.path.insert(0, {checkout!r})
from nono.remote import wire
from nono.remote.window import WINDOW
out = os.fdopen(1, "wb", buffering=0)
out.write(wire.encode(0, wire.LinkKind.HELLO, wire.hello()))
hello = len(wire.encode(0, wire.LinkKind.HELLO, wire.hello()))
sys.stdin.buffer.read(hello + wire.HEADER.size + len(b'{{"session":"x"}}'))
out.write(wire.encode(1, wire.LinkKind.OPENED, {{"id": "1", "name": "x"}}))
# Far more than it was given credit for (what the unread channel's socket takes is returned).
out.write(wire.encode_data(1, b"z" * (4 * WINDOW)))
sys.stdin.buffer.read()
"""


def test_a_relay_sending_beyond_its_credit_loses_the_link(sshd):  # noqa: F811
    import shlex
    import sys

    import pytest

    from nono.remote.hosts import Host
    from nono.remote.wire import LinkLost
    from tests.sshd import CHECKOUT

    script = sshd.dir / "flooding_relay.py"
    script.write_text(FLOODING_RELAY.format(checkout=str(CHECKOUT)))
    host = Host("greedy", sshd.address, (), f"{shlex.quote(sys.executable)} {script} #")

    async def main() -> None:
        link = await Link.open(host)
        try:
            conn = await link.channel("x")  # never read: the window is all it may hold for it
            for _ in range(3000):  # the link's reading is not ours to time
                if link.lost is not None:
                    break
                await asyncio.sleep(0.01)
            assert "garbled data: DATA beyond the channel's window" in (link.lost or "")
            conn.close()
            with pytest.raises(LinkLost):
                await link.channel("x")
        finally:
            await link.close()

    asyncio.run(main())


def test_a_nono_whose_link_has_no_credit_is_refused_naming_both(home):
    import subprocess
    import sys

    from nono.remote import wire

    old = wire.encode(0, wire.LinkKind.HELLO, {**wire.hello(), "link": 1})
    done = subprocess.run([sys.executable, "-m", "nono", "relay"], input=old,
                          capture_output=True, timeout=60)  # fmt: skip
    _, refused = wire.LinkDecoder().feed(done.stdout)
    assert refused.kind == wire.LinkKind.REFUSED
    error = refused.json()["error"]
    assert f"link {wire.LINK_VERSION}) here" in error and "link 1) on the other side" in error
