"""The wire format: frames round-trip, and malformed input is refused, not guessed at."""

from __future__ import annotations

import pytest

from nono.errors import NonoError
from nono.session.protocol import (
    MAX_PAYLOAD,
    VERSION,
    Decoder,
    Detached,
    Exit,
    Hello,
    History,
    Kind,
    ProtocolError,
    Reason,
    Refusal,
    Refused,
    Request,
    Resize,
    Response,
    Screen,
    Welcome,
    encode,
    encode_input,
    encode_output,
    read_response,
    read_welcome,
    refuse_hello,
)
from nono.term.modeset import Modes
from nono.term.style import Style, encode_style


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


def one_frame(data: bytes):
    decoder = Decoder()
    [frame] = decoder.feed(data)
    assert decoder.pending == 0
    return frame


SCREEN = Screen({"0": [["hi", 0]]}, [encode_style(Style(fg=1, bold=True))], False, (2, 0), True,
                (80, 24), "title", True, Modes(app_cursor=True), 3, 10)  # fmt: skip


@pytest.mark.parametrize(
    "message",
    [
        Hello("raw", 100, 30, steal=True),
        Hello("screen", 80, 24, read_only=True),
        Hello("control"),
        Welcome({"id": "abc", "name": "agent", "size": [80, 24]}),
        Refused(Reason.ATTACHED_ELSEWHERE, "already attached elsewhere", "use --steal"),
        Refused(Reason.VERSION, "wrong version"),
        Detached(Reason.TAKEN_OVER, "taken over by another client", True),
        Detached(Reason.DETACH_REQUEST, "detached by nono detach"),
        Exit(7, alternate=True),
        Exit(None),
        Resize(120, 40),
        Request("capture", {"history": 5, "ansi": True}),
        Response(True, {"ok": True, "text": "hello"}),
        Response(False, {"ok": False, "error": "the session has exited"}),
    ],
    ids=lambda m: type(m).__name__,
)
def test_every_message_round_trips_through_its_frame(message):
    assert type(message).decode(one_frame(message.encode())) == message


def test_a_screen_frame_round_trips_and_keeps_json_shapes():
    decoded = Screen.decode(one_frame(SCREEN.encode()), 1, 1)
    # JSON has no tuples: cursor and size come back as the tuples they were sent as.
    assert decoded == SCREEN
    assert decoded.cursor == (2, 0) and decoded.size == (80, 24)


def test_a_sparse_screen_frame_falls_back_to_the_panes_size():
    decoded = Screen.decode(one_frame(encode(Kind.SCREEN, {"rows": {}})), 90, 20)
    assert decoded.size == (90, 20) and decoded.cursor == (0, 0) and decoded.cursor_visible


def test_input_and_output_carry_bytes_unchanged():
    data = bytes(range(256))
    assert one_frame(encode_input(data)).payload == data
    assert one_frame(encode_output(data)).kind == Kind.OUTPUT


def test_a_message_read_from_the_wrong_frame_kind_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="expected WELCOME, got EXIT"):
        Welcome.decode(one_frame(Exit(0).encode()))
    with pytest.raises(ProtocolError, match="garbled RESIZE"):
        Resize.decode(one_frame(encode(Kind.RESIZE, {"cols": "wide"})))


def test_a_refusal_without_a_code_or_with_a_newer_one_reads_as_unknown():
    # A supervisor from before codes, or a newer one: the text is still shown, nothing matched.
    old = Refused.decode(one_frame(encode(Kind.REFUSED, {"error": "session x is busy"})))
    assert old == Refused(Reason.UNKNOWN, "session x is busy")
    newer = one_frame(encode(Kind.DETACHED, {"reason": "bye", "code": "from-the-future"}))
    assert Detached.decode(newer).reason is Reason.UNKNOWN


def test_the_handshake_answer_is_a_welcome_or_a_refusal_with_its_code():
    record = {"id": "abc"}
    assert read_welcome(one_frame(Welcome(record).encode())).record == record
    with pytest.raises(Refusal) as refused:
        read_welcome(one_frame(Refused(Reason.ATTACHED_ELSEWHERE, "any words", "a hint").encode()))
    assert refused.value.reason is Reason.ATTACHED_ELSEWHERE
    assert refused.value.one_line() == "any words (a hint)"
    with pytest.raises(ProtocolError, match="hung up"):
        read_welcome(None)


def test_a_hello_of_another_version_is_refused_naming_both_versions():
    refusal = refuse_hello(Hello("raw", version=VERSION + 1))
    assert refusal is not None and refusal.reason is Reason.VERSION
    assert f"version {VERSION + 1}" in refusal.text and f"version {VERSION}" in refusal.text
    assert refuse_hello(Hello("raw")) is None
    assert refuse_hello(Hello("telepathy")).reason is Reason.UNSUPPORTED


def test_a_history_answer_round_trips_through_a_response():
    styles = [encode_style(Style(fg=1)), encode_style(Style(bold=True))]
    history = History([[["old", 0]]], [[["now", 1]]], styles, (3, 0), True)
    frame = one_frame(Response(True, history.fields()).encode())
    assert History.from_fields(Response.decode(frame).fields) == history


def test_a_history_too_big_for_one_frame_loses_its_oldest_lines_first():
    lines = [[[f"{n:08d}" + "x" * 1000, 0]] for n in range(10_000)]  # ~10 MB
    fields = History(lines, [[["screen", 0]]], [encode_style(Style())], (0, 0), False).fields()
    kept = fields["history"]
    assert 0 < len(kept) < len(lines) and kept[-1] == lines[-1] and kept[0] != lines[0]
    assert len(Response(True, fields).encode()) <= MAX_PAYLOAD


def test_a_control_answer_is_read_past_other_frames_and_its_failure_raised():
    assert read_response(one_frame(Welcome({}).encode()), "status") is None
    assert read_response(one_frame(Exit(0).encode()), "status") is None
    answer = read_response(one_frame(Response(True, {"ok": True, "text": "x"}).encode()), "capture")
    assert answer == {"ok": True, "text": "x"}
    with pytest.raises(NonoError, match="the session has exited"):
        failed = Response(False, {"error": "the session has exited"})
        read_response(one_frame(failed.encode()), "send")
    with pytest.raises(NonoError, match="stop failed"):
        read_response(one_frame(Response(False, {}).encode()), "stop")
    with pytest.raises(Refusal):
        read_response(one_frame(Refused(Reason.BROKEN, "garbled").encode()), "status")
