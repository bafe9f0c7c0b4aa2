"""The terminal model's bulk paths are invisible: every byte stream gives the same screen,
history, cursor, modes, dirty rows and replay with them as without them."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from wcwidth import wcwidth

from nono.term import TerminalModel, style
from nono.term.screen import VTScreen

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from mixed import generate

CSI = "\x1b["


@pytest.fixture(autouse=True)
def own_style_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # Interned styles are process-wide, and whether a style is interned shows in a replay
    # (same object, one SGR); each test starts from the table as it found it and leaves it so.
    monkeypatch.setattr(style, "_INTERNED", dict(style._INTERNED))


# Pieces of terminal output, weighted toward what the bulk paths take, with enough of the rest
# (cursor moves, regions, modes, charsets, erases) to land them in every state.
TEXT = [
    "hello",
    "x" * 37,
    "word " * 9,
    "漢字仮名",
    "한국어",
    "🙂🚀✨",
    "e\u0301",  # combining acute
    "a\u200db",  # zero-width joiner
    "é ñ ü",
    "│─┼",
    "\u00a0\u00ad",
    "\x01\x7f\x00",
    "\x9b1m",  # C1 CSI
]
PRINTABLE = ["", "hello", "x" * 37, "word " * 9, "é ñ ü", "│─┼ ok", "αβγ → ok", "ok 漢字 ok",
             "한국어 ─ テスト"]  # fmt: skip
CONTROLS = ["\r", "\n", "\r\n", "\b", "\t", "\x0b", "\x0e", "\x0f", "\x07"]


def _sgr(rng: random.Random) -> str:
    choice = rng.randrange(8)
    if choice == 0:
        return f"{CSI}m"
    if choice == 1:
        return f"{CSI}{rng.choice([0, 1, 4, 7, 22, 24, 27, 39, 49, 31, 42, 95, 103, 38, 48])}m"
    if choice == 2:
        return f"{CSI}{rng.randint(30, 37)};{rng.randint(40, 47)}m"
    if choice == 3:
        return f"{CSI}{rng.choice([38, 48])};5;{rng.choice([rng.randint(0, 255), 300, '007'])}m"
    if choice == 4:
        rgb = ";".join(str(rng.randint(0, 255)) for _ in range(3))
        return f"{CSI}{rng.choice([38, 48])};2;{rgb}m"
    if choice == 5:
        return f"{CSI}38:2::{rng.randint(0, 255)}:{rng.randint(0, 255)}:9m"
    if choice == 6:
        return f"{CSI}1;{rng.randint(90, 97)}m"
    return f"{CSI}{';'.join(['1'] * 40)}m"  # too many parameters: dropped


def _escape(rng: random.Random, cols: int, rows: int) -> str:
    choice = rng.randrange(16)
    if choice == 0:
        return f"{CSI}{rng.randint(1, rows)};{rng.randint(1, cols + 2)}H"
    if choice == 1:
        return f"{CSI}{rng.randint(0, 5)}{rng.choice('ABCDGd')}"
    if choice == 2:
        top = rng.randint(1, rows)
        return f"{CSI}{top};{rng.randint(top, rows + 1)}r" if rng.random() < 0.8 else f"{CSI}r"
    if choice == 3:
        return f"{CSI}?7{rng.choice('lh')}"
    if choice == 4:
        return rng.choice(["\x1b(0", "\x1b(B", "\x1b)0", "\x1b)B"])
    if choice == 5:
        return f"{CSI}?1049{rng.choice('hl')}"
    if choice == 6:
        return f"{CSI}4{rng.choice('hl')}"
    if choice == 7:
        return f"{CSI}{rng.randint(0, 3)}{rng.choice('JK')}"
    if choice == 8:
        return f"{CSI}{rng.randint(0, 4)}{rng.choice('XLM@P')}"
    if choice == 9:
        return rng.choice(["\x1b7", "\x1b8", "\x1bM", "\x1bD", "\x1bE", f"{CSI}?6h", f"{CSI}?6l",
                           "\x1bH", f"{CSI}g", f"{CSI}3g"])  # fmt: skip
    if choice == 10:
        return f"{CSI}{rng.randint(1, 9)}b"  # REP repeats the last character drawn
    if choice == 11:
        return rng.choice([f"{CSI}20h", f"{CSI}20l", f"{CSI}S", f"{CSI}2T", f"{CSI}?1047h"])
    if choice == 12:
        return rng.choice([f"{CSI}6n", f"{CSI}c", "\x1b]2;title\x07", f"{CSI}?2004h"])
    if choice == 13:
        return rng.choice(["\x1b[1;3", "\x1b[?", "\x1b", "\x1b[>4;1m", "\x1b[1 m"])  # broken
    if choice == 14:
        return rng.choice([f"{CSI}?47h", f"{CSI}?47l", f"{CSI}?1049l", "\x1bc"])
    return rng.choice(["\xe4\xb8", "\xff", "\xc3"])  # bad UTF-8, as str escapes below


def random_stream(rng: random.Random, cols: int, rows: int, pieces: int) -> bytes:
    out: list[bytes] = []
    for _ in range(pieces):
        roll = rng.random()
        if roll < 0.35:
            text = rng.choice(TEXT)
            piece = text * rng.randint(1, 4) if rng.random() < 0.3 else text
        elif roll < 0.6:
            piece = rng.choice(CONTROLS)
        elif roll < 0.75:
            piece = _sgr(rng)
            if rng.random() < 0.4:  # colour changes each with text after it, as one line has
                texts = [rng.choice(PRINTABLE) for _ in range(rng.randint(1, 5))]
                piece += "".join(text + _sgr(rng) for text in texts) + rng.choice(PRINTABLE)
        else:
            piece = _escape(rng, cols, rows)
        if piece in ("\xe4\xb8", "\xff", "\xc3"):
            out.append(piece.encode("latin-1"))
        else:
            out.append(piece.encode())
    return b"".join(out)


def chunks(data: bytes, rng: random.Random, largest: int) -> list[bytes]:
    """`data` cut at random points, through escapes and UTF-8 sequences alike."""
    out = []
    i = 0
    while i < len(data):
        n = rng.randint(1, largest)
        out.append(data[i : i + n])
        i += n
    return out


def state(term: TerminalModel) -> dict[str, object]:
    return {
        # Runs as well as text: how a line is cut into runs shows to cell clients (mux, copy
        # mode) but not in the ANSI text, which sets a style only when it changes. First, as
        # the replay makes every row's cells, and a row the bulk paths drew on answers from
        # its runs until then (lines.Row).
        "row_runs": [term.row_runs(y) for y in range(term.rows)],
        "screen": term.screen_lines(ansi=True),
        "history": term.history_lines(10_000, ansi=True),
        "cursor": term.cursor,
        "cursor_visible": term.cursor_visible,
        "alternate": term.alternate,
        "modes": term.modes,
        "title": term.title,
        "replay": term.render_ansi(),
        "replies": term.take_replies(),
        "dirty": term.take_dirty(),
        "bells": term.bells,
        "history_runs": term.history_runs(term.history_size),
    }


def assert_rows_well_formed(term: TerminalModel) -> None:
    """What lines.runs relies on: every row is screen-wide, a wide character is always followed
    by its stub and a stub always follows a wide character."""
    screen = term._screen
    for buffer in (screen.buffer, screen.main_buffer):
        if buffer is None:
            continue
        assert len(buffer) == screen.lines
        for row in buffer:
            assert len(row.chars) == len(row.styles) == screen.columns
            for x, data in enumerate(row.chars):
                wide = bool(data) and wcwidth(data[0]) == 2
                assert wide == (x + 1 < screen.columns and row.chars[x + 1] == ""), row.chars
                assert bool(data) or (x > 0 and wcwidth(row.chars[x - 1][0]) == 2), row.chars


def assert_same(parts: list[bytes], cols: int, rows: int, history: int) -> None:
    fast = TerminalModel(cols, rows, history)
    slow = TerminalModel(cols, rows, history, fast=False)
    for i, part in enumerate(parts):
        fast.feed(part)
        slow.feed(part)
        # Cursor and dirty rows after every feed: the bulk path hands state back each time.
        assert fast.cursor == slow.cursor, f"cursor after feed {i}"
        assert fast.take_dirty() == slow.take_dirty(), f"dirty rows after feed {i}"
    # The state first: looking at a row's cells makes them, and rows the bulk paths drew on
    # answer for themselves until then (lines.Row).
    assert state(fast) == state(slow)
    assert_rows_well_formed(fast)
    assert_rows_well_formed(slow)


@pytest.mark.parametrize("seed", range(300))
def test_random_streams_split_anywhere_match_the_slow_path(seed: int) -> None:
    rng = random.Random(seed)
    cols = rng.choice([1, 2, 3, 5, 10, 17, 40, 80])
    rows = rng.choice([1, 2, 3, 6, 12])
    history = rng.choice([0, 3, 100])
    data = random_stream(rng, cols, rows, rng.randint(20, 250))
    assert_same(chunks(data, rng, rng.choice([1, 7, 64, 512])), cols, rows, history)


@pytest.mark.parametrize("seed", range(100))
def test_random_streams_with_resizes_between_feeds_match_the_slow_path(seed: int) -> None:
    # A resize cuts, extends and moves rows and pulls history back: rows the bulk paths drew
    # must come out of it as the slow path's do.
    rng = random.Random(seed)
    cols, rows = rng.choice([1, 3, 10, 40, 80]), rng.choice([1, 3, 6, 12])
    history = rng.choice([0, 3, 100])
    data = random_stream(rng, cols, rows, rng.randint(20, 250))
    fast = TerminalModel(cols, rows, history)
    slow = TerminalModel(cols, rows, history, fast=False)
    for i, part in enumerate(chunks(data, rng, rng.choice([7, 64, 512]))):
        fast.feed(part)
        slow.feed(part)
        if rng.random() < 0.1:
            size = rng.randint(1, 90), rng.randint(1, 14)
            fast.resize(*size)
            slow.resize(*size)
        assert fast.cursor == slow.cursor, f"cursor after feed {i}"
        assert fast.take_dirty() == slow.take_dirty(), f"dirty rows after feed {i}"
    assert state(fast) == state(slow)
    assert_rows_well_formed(fast)


def test_mixed_workload_matches_the_slow_path() -> None:
    data = generate(1.0, seed=7)
    assert_same([data[i : i + 512] for i in range(0, len(data), 512)], 200, 50, 10_000)


def test_mixed_workload_in_odd_chunks_on_a_narrow_screen_matches_the_slow_path() -> None:
    # Narrow and short: wide characters wrap at the edge, lines scroll off by the hundred.
    data = generate(0.1, seed=3)
    assert_same(chunks(data, random.Random(3), 300), 33, 7, 500)


@pytest.mark.parametrize(
    "prefix",
    [
        b"\x1b[3;20r\x1b[20;1H",  # a scroll region
        b"\x1b[?7l",  # no autowrap
        b"\x1b[?1049h",  # the alternate screen
        b"\x1b[31;44m",  # a background colour to erase and scroll in
        b"\x1b[4h",  # insert mode
        b"\x1b(0",  # line drawing in G0
        b"\x1b)0\x0e",  # line drawing in G1, shifted out to
    ],
)
def test_mixed_workload_in_other_modes_matches_the_slow_path(prefix: bytes) -> None:
    data = generate(0.1, seed=5)
    assert_same([prefix, *chunks(data, random.Random(5), 700)], 80, 24, 200)


def test_colour_changes_then_repeat_or_overwrite_match_the_slow_path() -> None:
    # REP repeats the last character the colour changes drew; CR and BS put the cursor back
    # over a line they drew, which the next colour changes overwrite.
    runs = f"{CSI}31mab{CSI}32mcd{CSI}0m ef"
    data = "".join(
        f"{runs}{CSI}3b\r\n{runs}\r{runs}\r\n{runs}\b\b{runs}\r\n{CSI}K{runs}\r\n" for _ in range(4)
    ).encode()
    assert_same([data], 40, 3, 50)


def test_history_limit_reached_within_one_feed_keeps_the_newest_lines() -> None:
    data = "".join(f"line {i}\r\n" for i in range(500)).encode()
    assert_same([data], 20, 5, 50)
    term = TerminalModel(20, 5, 50)
    term.feed(data)
    assert term.history_lines(2) == ["line 494", "line 495"]


def test_colours_past_the_intern_limit_match_the_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # No new style is shared: two equal colours set by two SGRs are two objects, and the
    # replay sets each again. A cached SGR result must not merge them, nor may a row's cells
    # take the first object for both. Each colour change here is its own token (BEL between):
    # text, then wide text; then all in one token.
    monkeypatch.setattr(style, "_INTERN_LIMIT", 0)
    monkeypatch.setattr(style, "_INTERNED", {style.DEFAULT: style.DEFAULT})  # none from before
    pen = f"{CSI}38;2;1;2;3m"
    lines = [
        f"{CSI}0;44mA\r\n{CSI}0;44mB\r\n{CSI}0m",  # rows scrolled in blank, in an equal pen
        f"{pen}A\a{pen}B\r\n",
        f"{pen}漢\a{pen}字\r\n",
        f"{CSI}0m{pen}A{CSI}0m{pen}B{CSI}1;32mC{CSI}0;1;32mD\r\n",
    ]
    data = "".join(lines * 3).encode()
    for rows in (2, 5):  # lines reaching the history, and staying on the screen
        assert_same([data], 20, rows, 10)


def test_plain_text_colours_and_wide_characters_never_reach_pyte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow(*_: object) -> None:
        raise AssertionError("the slow path was taken")

    monkeypatch.setattr(VTScreen, "draw", slow)
    term = TerminalModel(200, 50, 1000)
    monkeypatch.setattr(term._parser, "_send_to_parser", slow)
    term.feed(generate(0.2, seed=11))
    assert len(term.history_lines(1000)) == 1000


def test_truecolour_pens_out_of_range_or_odd_match_the_slow_path() -> None:
    # The bulk path parses `38;2;r;g;b` itself: clamping, empty and long parts, extra
    # parameters and a bold pen underneath must come out as apply_sgr makes them.
    pens = ["256;300;9999", "255;0;1", "0256;7;1000", "12345;1;1", ";1;2", "1;2;3;4", "1;2"]
    data = "".join(
        f"{CSI}{base}m{CSI}{which}8;2;{rgb}mX{CSI}0m\r\n"
        for base in ("0", "1;4", "38;5;9")
        for which in "34"
        for rgb in pens
    ).encode()
    assert_same([data], 20, 5, 100)


def test_the_written_out_classes_of_one_and_two_column_characters_are_what_wcwidth_says() -> None:
    from nono.term import fast

    assert fast.width_class(fast.NARROW_BLOCKS, 1) == fast._NARROW_BEYOND_ASCII
    assert fast.width_class(fast.WIDE_BLOCKS, 2) == fast._WIDE_CLASS


@pytest.mark.parametrize("fast", [True, False], ids=["bulk paths", "slow path"])
def test_the_parser_does_not_run_on_pyte_s_stream(
    monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    # pyte's Stream is 0.x machinery a release may change: nothing of it may be needed to read
    # output (the screen events are pyte's; the stream, the machine and its tables are nono's).
    import pyte.streams

    def gone(*_: object, **__: object) -> None:
        raise AssertionError("pyte's stream was used")

    for cls in (pyte.streams.Stream, pyte.streams.ByteStream):
        for name in ("__init__", "attach", "feed", "_send_to_parser", "_initialize_parser",
                     "_parser_fsm", "select_other_charset"):  # fmt: skip
            monkeypatch.setattr(cls, name, gone)
    term = TerminalModel(20, 3, 10, fast=fast)
    data = f"{CSI}1;31mred{CSI}0m \x1b]2;title\x07漢字\x1b7\r\nnext\x1b8!\r\n\r\nmore\r\nlast"
    for i in range(0, len(data.encode()), 5):  # sequences and UTF-8 split across feeds
        term.feed(data.encode()[i : i + 5])
    assert term.screen_lines() == ["next", "more", "last"]
    assert term.history_lines(1) == ["red 漢字!"]
    assert term.title == "title"
    assert term.history_runs(1)[0][0] == ("red", style.Style(fg=1, bold=True))
