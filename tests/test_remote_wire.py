"""The link's frames and handshake (remote/wire.py), and `nono relay` spoken to over pipes:
what a remote side sends is untrusted, so every malformed frame is refused by name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nono.remote import wire
from nono.remote.wire import HEADER, LinkDecoder, LinkError, LinkKind


def test_frames_come_back_as_they_were_sent_whatever_the_cuts():
    data = wire.encode(0, LinkKind.HELLO, {"a": 1}) + wire.encode_data(7, b"x" * 300_000)
    decoder, frames = LinkDecoder(), []
    for i in range(0, len(data), 1000):
        frames += decoder.feed(data[i : i + 1000])
    assert frames[0].json() == {"a": 1}
    assert [f.channel for f in frames[1:]] == [7, 7]  # cut to DATA_CHUNK
    assert b"".join(f.payload for f in frames[1:]) == b"x" * 300_000
    assert decoder.pending == 0


def test_a_frame_longer_than_the_limit_is_refused_before_it_is_read():
    with pytest.raises(LinkError, match="link frame too large"):
        LinkDecoder().feed(HEADER.pack(1, LinkKind.DATA, wire.MAX_PAYLOAD + 1))


def test_an_unknown_frame_kind_is_refused():
    with pytest.raises(LinkError, match="unknown link frame type 99"):
        LinkDecoder().feed(HEADER.pack(1, 99, 0))


def test_a_json_frame_that_is_not_an_object_is_refused():
    (frame,) = LinkDecoder().feed(wire.encode(1, LinkKind.OPEN, b"[1]"))
    with pytest.raises(LinkError, match="garbled OPEN frame"):
        frame.json()


def test_a_version_mismatch_names_both_versions():
    import nono

    theirs = {**wire.hello(), "nono": "9.9.9\x1b[2J"}
    why = wire.mismatch(theirs, "here", "on build")
    ours = f"nono {nono.__version__} (session protocol 1, link 2)"
    theirs_said = "nono 9.9.9 [2J (session protocol 1, link 2)"
    assert why == f"{ours} here and {theirs_said} on build cannot work together"
    assert wire.mismatch(wire.hello(), "here", "there") is None


def _relay(*frames: bytes) -> list[wire.LinkFrame]:
    done = subprocess.run([sys.executable, "-m", "nono", "relay"], input=b"".join(frames),
                          capture_output=True, timeout=60)  # fmt: skip
    return LinkDecoder().feed(done.stdout)


def test_the_relay_greets_first_and_refuses_a_nono_of_another_version(home):
    hello, refused = _relay(wire.encode(0, LinkKind.HELLO, {**wire.hello(), "nono": "0.0.1"}))
    assert hello.kind == LinkKind.HELLO and hello.json() == wire.hello()
    assert refused.kind == LinkKind.REFUSED
    assert "nono 0.0.1" in refused.json()["error"]


def test_the_relay_refuses_a_first_frame_that_is_not_a_hello(home):
    _, refused = _relay(wire.encode(3, LinkKind.OPEN, {"session": "x"}))
    assert refused.json() == {"error": "expected HELLO first, got OPEN on channel 3"}


def test_the_relay_answers_open_of_an_unknown_session_with_a_clean_close(home):
    hello = wire.encode(0, LinkKind.HELLO, wire.hello())
    _, closed, listed = _relay(hello, wire.encode(5, LinkKind.OPEN, {"session": "nope"}),
                               wire.encode(6, LinkKind.LIST))  # fmt: skip
    assert (closed.channel, closed.kind) == (5, LinkKind.CLOSE)
    assert closed.json()["error"].startswith("no session matches 'nope'")
    assert (listed.channel, listed.kind, listed.payload) == (6, LinkKind.LISTED, b"[]")
