"""Key names to bytes: config tokens, tmux send-keys names (checked against tmux), detach."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nono.errors import NonoError
from nono.keys import (
    Key,
    SequenceMatcher,
    encode_key,
    format_key,
    key_bytes,
    parse_key,
    send_keys_bytes,
    sequence_bytes,
)

CTRL_RBRACKET = b"\x1d"
DETACH = (CTRL_RBRACKET, b"d")

# ---------------------------------------------------------------- config.toml's keys


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("ctrl-a", b"\x01"),
        ("ctrl-z", b"\x1a"),
        ("ctrl-]", b"\x1d"),
        ("ctrl-\\", b"\x1c"),
        ("ctrl-[", b"\x1b"),
        ("ctrl-^", b"\x1e"),
        ("ctrl-_", b"\x1f"),
        ("ctrl-@", b"\x00"),
        ("ctrl-space", b"\x00"),
        ("esc", b"\x1b"),
        ("space", b" "),
        ("tab", b"\t"),
        ("enter", b"\r"),
        ("backspace", b"\x7f"),
        ("d", b"d"),
        ("D", b"D"),
        ("]", b"]"),
        ("%", b"%"),
        ('"', b'"'),
        ("-", b"-"),
        ("é", "é".encode()),
    ],
)
def test_config_token_is_the_bytes_a_terminal_sends(token, expected):
    assert key_bytes(token) == expected


@pytest.mark.parametrize("token", ["CTRL-A", "Ctrl-a", "ctrl-A", "ESC", "Space", "TAB", "Enter"])
def test_config_key_names_ignore_case(token):
    assert key_bytes(token) == key_bytes(token.lower())


def test_every_ctrl_letter_is_its_control_code():
    for offset, letter in enumerate("abcdefghijklmnopqrstuvwxyz", start=1):
        assert key_bytes(f"ctrl-{letter}") == bytes([offset])


@pytest.mark.parametrize(
    "token", ["ctrl-1", "ctrl-", "ctrl-ab", "dd", "", " ", "\t", "\x01", "f13", "S-a", "C-Enter"]
)
def test_unknown_config_token_is_named_with_the_valid_forms(token):
    with pytest.raises(NonoError) as info:
        key_bytes(token)
    assert info.value.message == f"unknown key {token!r}"
    assert "ctrl-a..ctrl-z" in info.value.hint
    assert "one printable character" in info.value.hint


def test_exotic_letter_does_not_lowercase_into_a_name():
    # The Kelvin sign lower-cases to "k"; it must not become ctrl-k.
    with pytest.raises(NonoError):
        key_bytes("ctrl-\u212a")


def test_sequence_splits_on_any_whitespace():
    assert sequence_bytes("ctrl-] d") == DETACH
    assert sequence_bytes("  ctrl-]\t d \n") == DETACH
    assert sequence_bytes("esc ctrl-a space x") == (b"\x1b", b"\x01", b" ", b"x")


def test_empty_sequence_is_an_error():
    with pytest.raises(NonoError, match="empty key sequence"):
        sequence_bytes("   ")


def test_bad_token_in_a_sequence_names_that_token():
    with pytest.raises(NonoError, match="unknown key 'ctrl-1'"):
        sequence_bytes("ctrl-] ctrl-1")


# ---------------------------------------------------------------- send_keys_bytes

# What tmux 3.3a writes to the pane for each argument of send-keys (measured, see the
# cross-check below, which repeats the measurement whenever tmux is installed).
SEND_KEYS = {
    "Enter": b"\r",
    "Tab": b"\t",
    "BTab": b"\x1b[Z",
    "Space": b" ",
    "BSpace": b"\x7f",
    "Escape": b"\x1b",
    "Up": b"\x1b[A",
    "Down": b"\x1b[B",
    "Right": b"\x1b[C",
    "Left": b"\x1b[D",
    "Home": b"\x1b[1~",
    "End": b"\x1b[4~",
    "PageUp": b"\x1b[5~",
    "PPage": b"\x1b[5~",
    "PgUp": b"\x1b[5~",
    "PageDown": b"\x1b[6~",
    "NPage": b"\x1b[6~",
    "PgDn": b"\x1b[6~",
    "Insert": b"\x1b[2~",
    "IC": b"\x1b[2~",
    "Delete": b"\x1b[3~",
    "DC": b"\x1b[3~",
    "F1": b"\x1bOP",
    "F2": b"\x1bOQ",
    "F3": b"\x1bOR",
    "F4": b"\x1bOS",
    "F5": b"\x1b[15~",
    "F6": b"\x1b[17~",
    "F7": b"\x1b[18~",
    "F8": b"\x1b[19~",
    "F9": b"\x1b[20~",
    "F10": b"\x1b[21~",
    "F11": b"\x1b[23~",
    "F12": b"\x1b[24~",
    "KP0": b"0",
    "KP/": b"/",
    "KP*": b"*",
    "KP-": b"-",
    "KP+": b"+",
    "KP.": b".",
    "KPEnter": b"\n",
    # ctrl
    "C-a": b"\x01",
    "C-A": b"\x01",
    "c-m": b"\r",
    "C-z": b"\x1a",
    "C-Space": b"\x00",
    "C-@": b"\x00",
    "C-[": b"\x1b",
    "C-]": b"\x1d",
    "C-\\": b"\x1c",
    "C-^": b"\x1e",
    "C-_": b"\x1f",
    "C-?": b"\x7f",
    "C-2": b"\x00",
    "C-6": b"\x1e",
    "C-/": b"\x1f",
    "C--": b"\x1f",
    "C-C-a": b"\x01",
    "^A": b"\x01",
    "^a": b"\x01",
    "^]": b"\x1d",
    "^^": b"\x1e",
    # meta: ESC before the key
    "M-a": b"\x1ba",
    "M-A": b"\x1bA",
    "m-x": b"\x1bx",
    "M--": b"\x1b-",
    "M-@": b"\x1b@",
    "M-Enter": b"\x1b\r",
    "M-BSpace": b"\x1b\x7f",
    "M-Escape": b"\x1b\x1b",
    "M-Tab": b"\x1b\t",
    "M-BTab": b"\x1b\x1b[Z",
    "M-Space": b"\x1b ",
    "M-KP1": b"\x1b1",
    "M-é": "\x1bé".encode(),
    "C-M-a": b"\x1b\x01",
    "M-C-a": b"\x1b\x01",
    "C-M-A": b"\x1b\x01",
    "C-M-[": b"\x1b\x1b",
    "C-M-Space": b"\x1b\x00",
    "^M-a": b"\x1b\x01",
    # xterm modifier forms
    "S-Up": b"\x1b[1;2A",
    "M-Up": b"\x1b[1;3A",
    "S-M-Up": b"\x1b[1;4A",
    "C-Up": b"\x1b[1;5A",
    "C-S-Up": b"\x1b[1;6A",
    "C-M-Up": b"\x1b[1;7A",
    "C-M-S-Up": b"\x1b[1;8A",
    "^Up": b"\x1b[1;5A",
    "S-Left": b"\x1b[1;2D",
    "C-Right": b"\x1b[1;5C",
    "M-S-Down": b"\x1b[1;4B",
    "S-Home": b"\x1b[1;2H",
    "M-Home": b"\x1b[1;3H",
    "C-End": b"\x1b[1;5F",
    "S-PageUp": b"\x1b[5;2~",
    "C-PageDown": b"\x1b[6;5~",
    "C-Insert": b"\x1b[2;5~",
    "S-Delete": b"\x1b[3;2~",
    "S-F1": b"\x1b[1;2P",
    "M-F1": b"\x1b[1;3P",
    "C-F4": b"\x1b[1;5S",
    "C-F5": b"\x1b[15;5~",
    "C-S-F12": b"\x1b[24;6~",
    # names are case-insensitive, characters are themselves
    "up": b"\x1b[A",
    "ENTER": b"\r",
    "pageup": b"\x1b[5~",
    "s-up": b"\x1b[1;2A",
    "a": b"a",
    "A": b"A",
    "~": b"~",
    "%": b"%",
    '"': b'"',
    "-": b"-",
    "^": b"^",
    "é": "é".encode(),
    # code points
    "0x41": b"A",
    "0x1b": b"\x1b",
    "0xA": b"\n",
    "0x0": b"\x00",
    "0xe9": "é".encode(),
    "0x100": "\u0100".encode(),
    # not key names: sent as their characters
    "hello": b"hello",
    "a b": b"a b",
    "": b"",
    "S-a": b"S-a",
    "S-Tab": b"S-Tab",
    "S-Enter": b"S-Enter",
    "S-KP1": b"S-KP1",
    "C-S-a": b"C-S-a",
    "M-S-a": b"M-S-a",
    "C-a-b": b"C-a-b",
    "a-b": b"a-b",
    "--": b"--",
    "C-": b"C-",
    "M-": b"M-",
    "C-M-": b"C-M-",
    "M-^A": b"M-^A",
    "F13": b"F13",
    "F0": b"F0",
    "Any": b"Any",
    "None": b"None",
    "MouseDown1": b"MouseDown1",
    "0X41": b"0X41",
    "0x": b"0x",
    "0xzz": b"0xzz",
    "0xd800": b"0xd800",
    "0x110000": b"0x110000",
    "C-0x41": b"C-0x41",
    "Up ": b"Up ",
}

# tmux 3.3a sends the word itself for some ctrl keys and nothing for others; nono refuses all
# of them rather than guess what was meant.
NO_CONTROL_CODE = [
    "C-Enter", "C-Tab", "C-BTab", "C-BSpace", "C-Escape", "C-KP1", "C-M-Enter",
    "C-1", "C-0", "C-9", "C-!", "C-'", "C-`", "C-~", "C-{", "C-|", "C-$", "C-é",
]  # fmt: skip


@pytest.mark.parametrize(("word", "expected"), SEND_KEYS.items())
def test_send_keys_name_is_what_tmux_sends(word, expected):
    assert send_keys_bytes([word]) == expected


@pytest.mark.parametrize("word", NO_CONTROL_CODE)
def test_ctrl_of_a_key_without_a_control_code_is_refused(word):
    with pytest.raises(NonoError) as info:
        send_keys_bytes(["x", word])
    assert info.value.message.startswith(f"cannot send {word!r}: ")
    assert "-l" in info.value.hint


def test_send_keys_joins_its_arguments_in_order():
    assert send_keys_bytes(["echo", "Space", "hi", "Enter"]) == b"echo hi\r"


def test_literal_sends_every_word_as_its_characters():
    assert (
        send_keys_bytes(["C-a", "Up", " ", "Enter", "é"], literal=True) == "C-aUp Enteré".encode()
    )


def test_literal_sends_even_keys_nono_would_refuse():
    assert send_keys_bytes(["C-Enter"], literal=True) == b"C-Enter"


def test_app_cursor_sends_plain_arrows_in_ss3_form():
    keys = ["Up", "Down", "Right", "Left"]
    assert send_keys_bytes(keys, app_cursor=True) == b"\x1bOA\x1bOB\x1bOC\x1bOD"


def test_app_cursor_leaves_modified_arrows_and_other_keys_alone():
    keys = ["S-Up", "C-Left", "Home", "End", "F1", "Enter"]
    assert send_keys_bytes(keys, app_cursor=True) == send_keys_bytes(keys)


def test_undecodable_argv_bytes_are_sent_unchanged():
    word = os.fsdecode(b"caf\xe9")  # a Latin-1 argument on a UTF-8 system
    assert send_keys_bytes([word]) == b"caf\xe9"


# ---------------------------------------------------------------- cross-check with real tmux

# Runs in the pane: raw mode, then every byte that arrives is appended to a file.
RECORDER = """
import os, sys, tty
out, ready, app_cursor = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if app_cursor:
    os.write(1, b"\\x1b[?1h")  # ask for application cursor keys, as vim or less would
tty.setraw(0)
with open(out, "ab", buffering=0) as f:
    open(ready, "w").close()
    while data := os.read(0, 4096):
        f.write(data)
"""
MARKER = "QZQZ"  # sent with -l after each key; no key in the lists can produce it

APP_CURSOR_KEYS = ["Up", "Down", "Left", "Right", "S-Up", "M-Down", "C-Left", "Home", "End"]


def _tmux_bytes(tmp_path: Path, words: list[str], *, literal: bool, app_cursor: bool) -> list:
    """What arrives in a tmux pane for each word, via `tmux send-keys` of that word."""
    name = f"nono-keys-{os.getpid()}-{int(app_cursor)}{int(literal)}"
    out, ready = tmp_path / f"{name}.out", tmp_path / f"{name}.ready"
    # A private server on a socket in the test's own directory: tmux 3.3 leaves its socket
    # file behind after kill-server, and this one is removed with the directory.
    socket = str(tmp_path / f"{name}.sock")
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}

    def tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-S", socket, "-f", "/dev/null", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
            check=check,
        )

    recorder = [sys.executable, "-c", RECORDER, str(out), str(ready), str(int(app_cursor))]
    try:
        tmux("new-session", "-d", "-x", "80", "-y", "24", "--", *recorder)
        deadline = time.monotonic() + 10
        while not ready.exists():
            assert time.monotonic() < deadline, "the recorder never started in tmux"
            time.sleep(0.01)
        commands: list[str] = []
        flag = ["-l"] if literal else []
        for word in words:
            # "--" so that words starting with "-" are keys, not options.
            commands += ["send-keys", "-t", "0", *flag, "--", word, ";"]
            commands += ["send-keys", "-t", "0", "-l", MARKER, ";"]
        tmux(*commands[:-1])
        marker = MARKER.encode()
        while (data := out.read_bytes()).count(marker) < len(words):
            assert time.monotonic() < deadline, f"tmux delivered only {data!r}"
            time.sleep(0.01)
        return data.split(marker)[: len(words)]
    finally:
        tmux("kill-server", check=False)


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@needs_tmux
def test_send_keys_bytes_match_what_tmux_sends(tmp_path):
    # Words ending in ";" would be read by tmux as a command separator.
    words = [w for w in SEND_KEYS if not w.endswith(";")]
    arrived = _tmux_bytes(tmp_path, words, literal=False, app_cursor=False)
    ours = [send_keys_bytes([w]) for w in words]
    mismatched = [(w, t, o) for w, t, o in zip(words, arrived, ours, strict=True) if t != o]
    assert mismatched == []


@needs_tmux
def test_send_keys_bytes_match_tmux_in_application_cursor_mode(tmp_path):
    arrived = _tmux_bytes(tmp_path, APP_CURSOR_KEYS, literal=False, app_cursor=True)
    assert arrived == [send_keys_bytes([w], app_cursor=True) for w in APP_CURSOR_KEYS]


@needs_tmux
def test_literal_send_keys_bytes_match_tmux_send_keys_l(tmp_path):
    words = ["C-a", "Up", "Enter", "é", "a b", "0x41"]
    arrived = _tmux_bytes(tmp_path, words, literal=True, app_cursor=False)
    assert arrived == [send_keys_bytes([w], literal=True) for w in words]


# ---------------------------------------------------------------- SequenceMatcher


def feed_all(matcher: SequenceMatcher, *chunks: bytes) -> tuple[bytes, bool]:
    """Feed chunks until one detaches; the bytes passed through, and whether it detached."""
    out = b""
    for chunk in chunks:
        passed, detached = matcher.feed(chunk)
        out += passed
        if detached:
            return out, True
    return out, False


def test_ordinary_typing_passes_straight_through():
    matcher = SequenceMatcher(DETACH)
    assert matcher.feed(b"hello world\r") == (b"hello world\r", False)
    assert matcher.pending == b""


def test_prefix_then_key_detaches():
    assert SequenceMatcher(DETACH).feed(b"\x1dd") == (b"", True)


def test_typing_before_the_sequence_in_the_same_chunk_is_passed_on():
    assert SequenceMatcher(DETACH).feed(b"ls\r\x1dd") == (b"ls\r", True)


def test_prefix_and_key_in_separate_reads_detach():
    matcher = SequenceMatcher(DETACH)
    assert matcher.feed(b"abc\x1d") == (b"abc", False)
    assert matcher.pending == CTRL_RBRACKET
    assert matcher.feed(b"d") == (b"", True)


def test_prefix_followed_by_another_key_passes_both_in_order():
    matcher = SequenceMatcher(DETACH)
    assert matcher.feed(b"\x1d") == (b"", False)
    assert matcher.feed(b"x") == (b"\x1dx", False)
    assert matcher.pending == b""


def test_prefix_followed_by_another_key_in_one_chunk():
    assert SequenceMatcher(DETACH).feed(b"a\x1dxb") == (b"a\x1dxb", False)


def test_prefix_twice_sends_one_prefix_like_tmux_send_prefix():
    matcher = SequenceMatcher(DETACH)
    assert matcher.feed(b"\x1d\x1d") == (CTRL_RBRACKET, False)
    # ...and is no longer armed: the next "d" is just a d.
    assert matcher.feed(b"d") == (b"d", False)


def test_prefix_twice_across_reads_sends_one_prefix():
    assert feed_all(SequenceMatcher(DETACH), b"\x1d", b"\x1d", b"d") == (b"\x1dd", False)


def test_prefix_three_times_then_key_detaches():
    # Two presses send one prefix, the third arms again.
    assert SequenceMatcher(DETACH).feed(b"\x1d\x1d\x1dd") == (CTRL_RBRACKET, True)


def test_bytes_after_the_sequence_are_not_passed_on_but_kept_in_rest():
    matcher = SequenceMatcher(DETACH)
    assert matcher.feed(b"a\x1ddrm -rf\r") == (b"a", True)
    assert matcher.rest == b"rm -rf\r"


def test_rest_is_cleared_by_the_next_feed():
    matcher = SequenceMatcher(DETACH)
    matcher.feed(b"\x1ddxyz")
    assert matcher.feed(b"q") == (b"q", False)
    assert matcher.rest == b""


def test_matcher_starts_afresh_after_a_match():
    matcher = SequenceMatcher(DETACH)
    assert matcher.feed(b"\x1dd") == (b"", True)
    assert matcher.pending == b""
    assert matcher.feed(b"d\x1dd") == (b"d", True)


def test_flush_returns_what_was_held_back():
    matcher = SequenceMatcher(DETACH)
    matcher.feed(b"x\x1d")
    assert matcher.flush() == CTRL_RBRACKET
    assert matcher.pending == b""
    assert matcher.feed(b"d") == (b"d", False)


def test_longer_sequence_needs_every_key_in_order():
    matcher = SequenceMatcher((b"\x01", b"x", b"q"))
    assert matcher.feed(b"\x01x") == (b"", False)
    assert matcher.pending == b"\x01x"
    assert matcher.feed(b"q") == (b"", True)


def test_longer_sequence_broken_late_passes_everything_in_order():
    assert SequenceMatcher((b"\x01", b"x", b"q")).feed(b"\x01xz") == (b"\x01xz", False)


def test_longer_sequence_broken_by_its_own_first_key_starts_again():
    matcher = SequenceMatcher((b"\x01", b"x", b"q"))
    assert matcher.feed(b"\x01x\x01xq") == (b"\x01x", True)


def test_prefix_twice_in_a_longer_sequence_sends_one_prefix():
    assert SequenceMatcher((b"\x01", b"x", b"q")).feed(b"\x01\x01xq") == (b"\x01xq", False)


def test_sequence_whose_second_key_repeats_the_first_completes_on_the_double_press():
    assert SequenceMatcher((b"\x01", b"\x01")).feed(b"\x01\x01") == (b"", True)


def test_single_key_sequence_matches_on_that_key():
    assert SequenceMatcher((b"\x1d",)).feed(b"ab\x1dcd") == (b"ab", True)


def test_multibyte_key_split_across_reads():
    matcher = SequenceMatcher((b"\x1b[1;5A", b"d"))  # C-Up then d
    assert matcher.feed(b"a\x1b[1") == (b"a", False)
    assert matcher.feed(b";5") == (b"", False)
    assert matcher.feed(b"Ad") == (b"", True)


def test_multibyte_key_that_turns_into_another_key_is_passed_on_in_full():
    matcher = SequenceMatcher((b"\x1b[1;5A", b"d"))
    assert feed_all(matcher, b"\x1b[1", b";5B", b"x") == (b"\x1b[1;5Bx", False)


def test_sequence_of_multibyte_keys_after_a_false_start_in_its_bytes():
    # ESC ESC [ A: the first ESC is not the start (ESC [ A is), and must not be lost.
    up = b"\x1b[A"
    assert SequenceMatcher((up, b"d")).feed(b"\x1b\x1b[Ad") == (b"\x1b", True)


def test_multibyte_prefix_twice_sends_one_prefix():
    e = "é".encode()
    assert SequenceMatcher((e, b"d")).feed(e + e + b"d") == (e + b"d", False)


def test_multibyte_key_after_prefix_that_shares_a_byte_with_the_prefix():
    # Prefix é (c3 a9), second key ê (c3 aa): c3 could be either until the next byte.
    e, e_hat = "é".encode(), "ê".encode()
    matcher = SequenceMatcher((e, e_hat))
    assert matcher.feed(e + e_hat[:1]) == (b"", False)
    assert matcher.feed(e_hat[1:]) == (b"", True)
    assert SequenceMatcher((e, e_hat)).feed(e + "è".encode()) == (e + "è".encode(), False)


def test_esc_as_last_key_matches_the_first_byte_of_an_escape_sequence():
    # Documented limit: matching is on bytes, so an arrow key after the prefix completes it.
    matcher = SequenceMatcher((CTRL_RBRACKET, b"\x1b"))
    assert matcher.feed(b"\x1d\x1b[A") == (b"", True)
    assert matcher.rest == b"[A"


def test_large_paste_passes_through_whole():
    paste = bytes(range(0x20, 0x7F)) * 20_000
    assert SequenceMatcher(DETACH).feed(paste) == (paste, False)


def test_empty_sequence_or_key_is_a_programming_error():
    with pytest.raises(ValueError):
        SequenceMatcher(())
    with pytest.raises(ValueError):
        SequenceMatcher((b"\x1d", b""))


def _chunked(sequence: tuple[bytes, ...], data: bytes, cuts: list[int]) -> tuple:
    matcher = SequenceMatcher(sequence)
    out, bounds = b"", [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        passed, detached = matcher.feed(data[start:end])
        out += passed
        if detached:
            return out, True, matcher.rest + data[end:]
    return out + matcher.flush(), False, b""


@pytest.mark.parametrize(
    "sequence",
    [DETACH, (b"\x01", b"x", b"q"), (b"\x1b[A", b"d"), ("é".encode(), "ê".encode())],
)
def test_how_input_is_split_into_reads_never_changes_the_outcome(sequence):
    # The pieces the input is made of: the sequence's keys, their first bytes, and noise.
    pieces = [*sequence, *(k[:1] for k in sequence), b"d", b"x", b"\x1b", b"zz", b"\xc3"]
    rng = random.Random(1234)
    for _ in range(300):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        matcher = SequenceMatcher(sequence)
        passed, detached = matcher.feed(data)
        rest = matcher.rest
        if not detached:
            passed += matcher.flush()
        cuts = sorted(rng.sample(range(1, len(data)), min(3, len(data) - 1))) if data else []
        assert _chunked(sequence, data, cuts) == (passed, detached, rest)


# ---------------------------------------------------------------- one grammar for every place

# Spellings of one key each: tmux's, nono's, a code point, in any case.
SPELLINGS = {
    "C-b": ["C-b", "ctrl-b", "^B", "^b", "CTRL-B", "control-b", "c-B", "Ctrl-b", "0x2"],
    "M-x": ["M-x", "alt-x", "meta-x", "m-x", "ALT-x", "Meta-x"],
    "S-Up": ["S-Up", "shift-up", "s-UP", "Shift-Up", "S-up"],
    "C-M-a": ["C-M-a", "M-C-a", "ctrl-alt-a", "alt-ctrl-A", "^M-a", "c-m-A"],
    "Escape": ["Escape", "esc", "ESC", "escape"],
    "Space": ["Space", "space", "SPACE", "0x20"],
    "PageUp": ["PageUp", "PPage", "PgUp", "pageup", "ppage"],
    "C-Space": ["C-Space", "ctrl-space", "^Space"],
    "F5": ["F5", "f5"],
    "%": ["%", "0x25"],
}


@pytest.mark.parametrize(("canonical", "spellings"), SPELLINGS.items())
def test_every_spelling_of_a_key_is_one_value(canonical, spellings):
    keys = {parse_key(spelling) for spelling in spellings}
    assert keys == {parse_key(canonical)}
    assert format_key(parse_key(canonical)) == canonical


def test_ctrl_of_a_letter_ignores_its_case_and_a_character_keeps_it():
    assert parse_key("C-B") == parse_key("C-b") == Key("b", ctrl=True)
    assert parse_key("M-D") != parse_key("M-d")
    assert parse_key("D") == Key("D") != parse_key("d")


@pytest.mark.parametrize(("canonical", "spellings"), SPELLINGS.items())
def test_every_spelling_means_the_same_in_config_keymap_and_send_keys(home, canonical, spellings):
    from nono.config import config_path, load_config
    from nono.mux.keymap import load_keymap

    seen = set()
    for spelling in spellings:
        config = config_path()
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[ui]\nprefix = "{spelling}"\ndetach_sequence = "{spelling} q"\n')
        loaded = load_config()
        keymap_file = config.parent / "keymap.yaml"
        keymap_file.write_text(f"prefix: '{spelling}'\nbindings:\n  '{spelling}': send-prefix\n")
        keymap = load_keymap("default")
        seen.add(
            (
                key_bytes(loaded.ui.prefix),
                loaded.detach_keys,
                keymap.prefix_key,
                keymap.prefix,
                load_keymap("tmux", override=False, prefix=spelling).prefix,
                send_keys_bytes([spelling]),
            )
        )
    [(prefix, detach, keymap_key, presses, config_prefix, sent)] = seen
    assert prefix == sent == encode_key(parse_key(canonical))
    assert detach == (sent, b"q")
    assert keymap_key == parse_key(canonical)
    assert presses == config_prefix


@pytest.mark.parametrize(
    "token",
    [
        *(word for word in SEND_KEYS if word and " " not in word),
        "ctrl-]", "alt-Enter", "shift-F3", "C-S-PageDown", "KPEnter", "M-KP/", "F24", "C-F13",
        "S-Escape", "é", "M-é", "0xa0", "0x85", "0x7f", "C-M-S-Up", "Return", "Del", "BSpace",
    ],
)  # fmt: skip
def test_a_key_written_as_tmux_writes_it_parses_back(token):
    try:
        key = parse_key(token)
    except NonoError:
        return  # not a key (sent as text by send-keys)
    assert parse_key(format_key(key)) == key


@pytest.mark.parametrize("token", [w for w in SEND_KEYS if w and " " not in w])
def test_a_keys_bytes_do_not_depend_on_how_it_was_written(token):
    try:
        key = parse_key(token)
        sent = encode_key(key)
    except NonoError:
        return
    assert encode_key(parse_key(format_key(key))) == sent == send_keys_bytes([token])


# Not every modified key: prompt_toolkit 3.0.52 swaps Up and Down under C-S-, C-M- and M-S-
# (CSI 1;6A is c-s-down), swaps C-M-PageUp and C-M-PageDown, and reads neither the modified
# Insert forms nor M- or C-M- with a function key (CSI 1;3P).
ROUND_TRIP = [
    "C-b", "C-]", "C-\\", "C-^", "C-_", "C-Space", "a", "%", "é", "M-x", "M-%", "C-M-b",
    "Enter", "Tab", "BTab", "BSpace", "Escape", "M-Enter", "M-Escape",
    "Up", "Down", "Left", "Right", "Home", "End", "Insert", "Delete", "PageUp", "PageDown",
    "S-Up", "C-Left", "M-Right", "C-S-Left", "S-Home", "C-End", "C-PageUp", "S-Delete",
    "F1", "F4", "F5", "F12", "C-F1", "C-F5", "S-PageDown",
]  # fmt: skip


@pytest.mark.parametrize("token", ROUND_TRIP)
def test_a_keys_bytes_read_by_prompt_toolkit_are_the_key_a_keymap_binds(token):
    # The two encoders of one key agree: what send-keys (or send-prefix) writes is what the
    # dashboard, reading a terminal through prompt_toolkit, matches against the keymap.
    from prompt_toolkit.input.vt100_parser import Vt100Parser

    from nono.mux.keynames import key_label, presses

    key = parse_key(token)
    read: list[str] = []
    parser = Vt100Parser(lambda press: read.append(getattr(press.key, "value", press.key)))
    parser.feed(encode_key(key).decode())
    parser.flush()
    assert tuple(read) == presses(key)
    assert parse_key(key_label(presses(key))) == key
