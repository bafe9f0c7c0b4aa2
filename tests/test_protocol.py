"""The wire format: frames round-trip, and malformed input is refused, not guessed at."""

from __future__ import annotations

import pytest

from nono.session.protocol import MAX_PAYLOAD, Decoder, Kind, ProtocolError, encode, encode_output


def test_frames_round_trip_split_anywhere():
    stream = encode(Kind.HELLO, {"v": 1, "mode": "raw"}) + encode(Kind.INPUT, b"ls\r")
    stream += encode_output(b"x" * 70000)
    for cut in (1, 3, 5, 6, 100, len(stream) - 1):
        decoder = Decoder()
        frames = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [f.kind for f in frames] == [Kind.HELLO, Kind.INPUT, Kind.OUTPUT]
        assert frames[0].json() == {"v": 1, "mode": "raw"}
        assert frames[2].payload == b"x" * 70000
        assert decoder.pending == 0


def test_a_truncated_frame_waits_and_reports_its_pending_bytes():
    decoder = Decoder()
    assert decoder.feed(encode(Kind.INPUT, b"abc")[:-1]) == []
    assert decoder.pending == 7


def test_oversized_unknown_and_garbled_frames_are_refused():
    with pytest.raises(ProtocolError, match="too large"):
        Decoder().feed((MAX_PAYLOAD + 1).to_bytes(4, "big") + b"\x01")
    with pytest.raises(ProtocolError, match="unknown frame type"):
        Decoder().feed(b"\x00\x00\x00\x00\xee")
    frame = Decoder().feed(b"\x00\x00\x00\x03\x01{x}")[0]
    with pytest.raises(ProtocolError, match="garbled HELLO"):
        frame.json()
    frame = Decoder().feed(b"\x00\x00\x00\x02\x01[]")[0]
    with pytest.raises(ProtocolError, match="not an object"):
        frame.json()


def test_large_output_is_split_under_the_frame_limit():
    data = b"y" * (MAX_PAYLOAD * 2 + 5)
    frames = Decoder().feed(encode_output(data))
    assert len(frames) == 3
    assert b"".join(f.payload for f in frames) == data
