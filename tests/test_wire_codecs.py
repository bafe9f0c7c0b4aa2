"""A cell style and the terminal mode set each have one wire form: every field and colour form
survives the round trip, anything else is refused by name, and what the dashboard draws from the
wire form is exactly what it drew from the old prompt_toolkit style string."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from prompt_toolkit.output.color_depth import ColorDepth

from nono.mux.render import Sgr, style_string
from nono.session.protocol import Frame, Kind, ProtocolError, Screen, encode
from nono.term.modeset import MOUSE_MODES, Modes, decode_modes, encode_modes
from nono.term.style import DEFAULT, Style, apply_sgr, decode_style, encode_style, sgr

FLAGS = ("bold", "italic", "underline", "reverse", "strikethrough", "dim", "blink")
COLORS = [None, *range(256), "#000000", "#ff8700", "#0a0b0c", "#ffffff"]


def random_style(rng: random.Random) -> Style:
    def color():
        kind = rng.randrange(4)
        if kind == 0:
            return None
        if kind == 1:
            return rng.randrange(16)
        if kind == 2:
            return rng.randrange(256)
        return "#" + "".join(f"{rng.randrange(256):02x}" for _ in range(3))

    return Style(color(), color(), **{flag: rng.random() < 0.3 for flag in FLAGS})


def some_styles(count: int = 3000) -> list[Style]:
    rng = random.Random(12)
    return [random_style(rng) for _ in range(count)]


def test_every_colour_form_and_every_attribute_round_trips():
    for color in COLORS:
        for style in (Style(fg=color), Style(bg=color)):
            assert decode_style(encode_style(style)) == style, style
    for flags in itertools.product((False, True), repeat=len(FLAGS)):
        style = Style(5, "#123456", **dict(zip(FLAGS, flags, strict=True)))
        assert decode_style(encode_style(style)) == style, style
    assert encode_style(DEFAULT) == "" and decode_style("") == DEFAULT


def test_many_styles_round_trip_and_their_encodings_are_canonical():
    for style in some_styles():
        text = encode_style(style)
        assert decode_style(text) == style
        assert encode_style(decode_style(text)) == text
        # The wire form is the SGR that sets the style: the model's own parser reads it so.
        params = [[int(p)] for p in text.split(";")] if text else []
        assert apply_sgr(DEFAULT, params) == style
        assert sgr(style) == (f"\x1b[0;{text}m" if text else "\x1b[0m")


@pytest.mark.parametrize("text", ["x", "0", "1;1", "31;1", "38;5", "38;5;300", "999", "1;", " 1"])
def test_anything_but_a_styles_own_encoding_is_refused_by_name(text):
    with pytest.raises(ValueError, match="not a cell style") as refused:
        decode_style(text)
    assert repr(text) in str(refused.value)


def test_every_mode_set_round_trips():
    names = ("bracketed_paste", "app_cursor", "app_keypad", "mouse_sgr", "focus_events",
             "sync_output", "autowrap", "origin")  # fmt: skip
    for flags in itertools.product((False, True), repeat=len(names)):
        for mouse in (None, *MOUSE_MODES):
            modes = Modes(mouse=mouse, **dict(zip(names, flags, strict=True)))
            assert decode_modes(encode_modes(modes)) == modes, modes
    # As a program sets them: DEC private mode numbers.
    assert encode_modes(Modes()) == "7"
    assert encode_modes(Modes(bracketed_paste=True, mouse=1002, autowrap=False)) == "1002;2004"


def test_a_mode_a_newer_peer_mirrors_is_skipped_and_garbage_refused():
    assert decode_modes("7;2004;9999") == Modes(bracketed_paste=True)
    with pytest.raises(ValueError, match="not a terminal mode set"):
        decode_modes("7;on")


def test_a_screen_frame_with_a_garbled_style_or_mode_set_is_a_protocol_error():
    for body in ({"styles": ["1;x"]}, {"styles": [{"fg": 1}]}, {"modes": "wrap"}):
        frame = Frame(Kind.SCREEN, encode(Kind.SCREEN, body)[5:])
        with pytest.raises(ProtocolError, match="garbled SCREEN frame"):
            Screen.decode(frame, 80, 24)


def test_a_style_on_the_wire_is_a_short_string():
    styles = some_styles(500)
    as_dicts = len(json.dumps([{"fg": s.fg, "bg": s.bg, **{f: getattr(s, f) for f in FLAGS}}
                               for s in styles]))  # fmt: skip
    assert len(json.dumps([encode_style(s) for s in styles])) * 4 < as_dicts


@pytest.mark.parametrize("depth", list(ColorDepth))
def test_the_dashboard_draws_a_wire_style_exactly_as_it_drew_its_style_string(depth):
    # Before, a pane's style became a prompt_toolkit style string that prompt_toolkit parsed
    # into attributes; now the attributes come from the Style. The terminal must see the same.
    sgr_codes = Sgr(depth)
    styles = [Style(fg=c) for c in COLORS] + [Style(bg=c) for c in COLORS] + some_styles(1000)
    for style in styles:
        assert sgr_codes.cells[encode_style(style)] == sgr_codes[style_string(style)], style
