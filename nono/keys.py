"""Key names and the bytes a terminal sends: config tokens, tmux send-keys names, detach."""

from __future__ import annotations

import re
from collections.abc import Iterable

from nono.errors import NonoError

# ---------------------------------------------------------------- config-style tokens

_CONFIG_NAMES: dict[str, bytes] = {
    "esc": b"\x1b",
    "space": b" ",
    "tab": b"\t",
    "enter": b"\r",
    "backspace": b"\x7f",
    "ctrl-space": b"\x00",
}
_CONFIG_CTRL_PUNCTUATION = "@[\\]^_"
VALID_KEY_FORMS = (
    "ctrl-a..ctrl-z, ctrl-], ctrl-\\, ctrl-[, ctrl-^, ctrl-_, ctrl-@, ctrl-space, "
    "esc, space, tab, enter, backspace, or one printable character"
)


def parse_key(token: str) -> bytes:
    """The bytes a terminal sends for one config-style key token, e.g. `ctrl-]` -> b"\\x1d"."""
    # Only names are case-insensitive: "D" and "d" are different keys, "CTRL-A" is "ctrl-a".
    # ASCII only, so that no exotic letter (the Kelvin sign) lower-cases into a name.
    name = token.lower() if token.isascii() else token
    if name in _CONFIG_NAMES:
        return _CONFIG_NAMES[name]
    if name.startswith("ctrl-") and len(name) == 6:
        char = name[5]
        if "a" <= char <= "z" or char in _CONFIG_CTRL_PUNCTUATION:
            return bytes([ord(char.upper()) & 0x1F])
    if len(token) == 1 and token.isprintable() and not token.isspace():
        return token.encode("utf-8")
    raise NonoError(f"unknown key {token!r}", f"valid keys: {VALID_KEY_FORMS}")


def parse_sequence(text: str) -> tuple[bytes, ...]:
    """The keys of a whitespace-separated sequence such as "ctrl-] d", one bytes per key."""
    tokens = text.split()
    if not tokens:
        raise NonoError("empty key sequence", 'write keys separated by spaces, e.g. "ctrl-] d"')
    return tuple(parse_key(token) for token in tokens)


# ---------------------------------------------------------------- tmux send-keys names

_CSI = "\x1b["

# Keys that have an xterm modifier form: (unmodified bytes, CSI number, final character).
# A modified key is CSI number ; 1+modifiers final, e.g. S-Up = CSI 1;2A, C-F5 = CSI 15;5~.
_XTERM_KEYS: dict[str, tuple[str, str, str]] = {
    "up": (_CSI + "A", "1", "A"),
    "down": (_CSI + "B", "1", "B"),
    "right": (_CSI + "C", "1", "C"),
    "left": (_CSI + "D", "1", "D"),
    # tmux sends the VT220 forms for Home/End, as its default input-keys table does.
    "home": (_CSI + "1~", "1", "H"),
    "end": (_CSI + "4~", "1", "F"),
    "ic": (_CSI + "2~", "2", "~"),
    "insert": (_CSI + "2~", "2", "~"),
    "dc": (_CSI + "3~", "3", "~"),
    "delete": (_CSI + "3~", "3", "~"),
    "ppage": (_CSI + "5~", "5", "~"),
    "pageup": (_CSI + "5~", "5", "~"),
    "pgup": (_CSI + "5~", "5", "~"),
    "npage": (_CSI + "6~", "6", "~"),
    "pagedown": (_CSI + "6~", "6", "~"),
    "pgdn": (_CSI + "6~", "6", "~"),
    "f1": ("\x1bOP", "1", "P"),
    "f2": ("\x1bOQ", "1", "Q"),
    "f3": ("\x1bOR", "1", "R"),
    "f4": ("\x1bOS", "1", "S"),
    **{
        f"f{n}": (f"{_CSI}{code}~", str(code), "~")
        for n, code in zip(range(5, 13), (15, 17, 18, 19, 20, 21, 23, 24), strict=True)
    },
}
_APP_CURSOR = {"up": "\x1bOA", "down": "\x1bOB", "right": "\x1bOC", "left": "\x1bOD"}

# Keys with one fixed encoding: meta adds ESC, ctrl has no code, shift makes the name unknown.
_FIXED_KEYS: dict[str, str] = {
    "enter": "\r",
    "tab": "\t",
    "btab": _CSI + "Z",
    "bspace": "\x7f",
    "escape": "\x1b",
    # The numeric keypad outside application keypad mode sends plain characters.
    **{f"kp{c}": c for c in "0123456789/*-+."},
    "kpenter": "\n",
}

# Ctrl of these characters has a code beyond the @..._ and a..z rows (as in tmux and xterm).
_CTRL_EXTRA = {" ": 0x00, "2": 0x00, "6": 0x1E, "-": 0x1F, "/": 0x1F, "?": 0x7F}
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_CTRL, _META, _SHIFT = "C", "M", "S"


def _ctrl_code(char: str) -> str | None:
    if "a" <= char <= "z" or "@" <= char <= "_":
        return chr(ord(char.upper()) & 0x1F)
    if char in _CTRL_EXTRA:
        return chr(_CTRL_EXTRA[char])
    return None


def _split_modifiers(word: str) -> tuple[set[str], str] | None:
    """tmux's grammar: an optional leading ^ (ctrl), then any run of C-, M-, S- prefixes."""
    mods: set[str] = set()
    if word.startswith("^") and len(word) > 1:
        mods.add(_CTRL)
        word = word[1:]
    while len(word) >= 2 and word[1] == "-":
        mod = word[0].upper()
        if mod not in (_CTRL, _META, _SHIFT):
            return None
        mods.add(mod)
        word = word[2:]
    return (mods, word) if word else None


def _no_code(word: str, why: str) -> NonoError:
    return NonoError(
        f"cannot send {word!r}: {why}",
        "C- takes a letter or one of @ [ \\ ] ^ _ ? Space 2 6 - /; send text as is with -l",
    )


def _send_key(word: str, app_cursor: bool) -> str | None:
    """The characters for one tmux key name, or None when the word is not a key name."""
    if _HEX.fullmatch(word):
        # Like tmux, a hexadecimal word is a code point and takes no modifiers.
        point = int(word, 16)
        if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
            return None
        return chr(point)
    split = _split_modifiers(word)
    if split is None:
        return None
    mods, name = split
    key = name.lower() if name.isascii() else name
    if key in _XTERM_KEYS:
        plain, number, final = _XTERM_KEYS[key]
        if not mods:
            return _APP_CURSOR[key] if app_cursor and key in _APP_CURSOR else plain
        param = 1 + (_SHIFT in mods) + 2 * (_META in mods) + 4 * (_CTRL in mods)
        return f"{_CSI}{number};{param}{final}"
    # Shift only exists in the xterm forms; tmux treats e.g. S-a or S-Tab as an unknown word.
    if _SHIFT in mods:
        return None
    meta = "\x1b" if _META in mods else ""
    if key in _FIXED_KEYS:
        if _CTRL in mods:
            raise _no_code(word, f"a terminal has no control code for {name}")
        return meta + _FIXED_KEYS[key]
    if key == "space":
        name = " "
    elif len(name) != 1 or ord(name) < 0x20:
        return None
    if _CTRL in mods:
        code = _ctrl_code(name)
        if code is None:
            raise _no_code(word, f"a terminal has no control code for {name!r}")
        return meta + code
    return meta + name


def send_keys_bytes(
    keys: Iterable[str], *, literal: bool = False, app_cursor: bool = False
) -> bytes:
    """The bytes tmux's `send-keys` would write for these arguments.

    Key names follow tmux: Enter, Tab, BTab, Space, BSpace, Escape, Up/Down/Left/Right, Home,
    End, PageUp/PPage/PgUp, PageDown/NPage/PgDn, Insert/IC, Delete/DC, F1-F12, KP0-KP9 and
    the other keypad keys, one character, or 0xHH (a code point), each optionally prefixed by
    C- (ctrl), M- (meta: ESC first), S- (shift) or ^ (ctrl), case-insensitively. Modified
    cursor, editing and function keys use xterm's form (S-Up = ESC [1;2A). With
    `app_cursor` (the pane asked for application cursor keys) plain arrows use ESC O A.
    A word that is not a key name is sent as its characters, as tmux does; with `literal`
    every word is. Ctrl of a key that has no control code (C-Enter, C-Tab, C-1, C-{, ...)
    raises NonoError, where tmux 3.3 sends nothing or the word itself: a typo never vanishes.
    """
    out: list[str] = []
    for word in keys:
        chars = None if literal else _send_key(word, app_cursor)
        out.append(word if chars is None else chars)
    # surrogateescape lets a word that came from undecodable argv bytes go out unchanged.
    return "".join(out).encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- the detach sequence


class SequenceMatcher:
    """Spots an in-band key sequence (e.g. ctrl-] d) in the bytes a user types.

    Feed it every chunk read from the terminal; it returns the bytes to pass on and whether
    the sequence just completed. It holds back only bytes that might be the start of the
    sequence, and gives them back, in order, as soon as they turn out not to be:

    - ctrl-] x passes on ctrl-] x; ctrl-] ctrl-] passes on one ctrl-] (tmux's send-prefix),
      unless the sequence's second key is itself the first key, in which case it completes.
    - Keys may be several bytes (an escape sequence) and may be split across chunks.
    - Matching is on bytes: if the last key is `esc`, the first byte of an arrow key's escape
      sequence completes the sequence.
    - Bytes after the completing key in the same chunk are not passed on: they are left in
      `rest` for the caller (which is detaching and normally drops them). After a match the
      matcher starts afresh.
    """

    def __init__(self, sequence: tuple[bytes, ...]) -> None:
        if not sequence or not all(sequence):
            raise ValueError("a key sequence needs at least one key and no empty keys")
        self.sequence = tuple(bytes(key) for key in sequence)
        self.rest = b""
        self._matched = 0  # complete keys of the sequence seen so far
        self._partial = b""  # bytes of the next key, still a prefix of a key we could match

    @property
    def pending(self) -> bytes:
        """Bytes held back because they may still turn into the sequence."""
        return b"".join(self.sequence[: self._matched]) + self._partial

    def flush(self) -> bytes:
        """Give up on a partial match (e.g. the input ended) and return what was held back."""
        held = self.pending
        self._matched, self._partial = 0, b""
        return held

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """Consume one chunk: (bytes to pass through, whether the sequence completed)."""
        out = bytearray()
        self.rest = b""
        first = self.sequence[0][:1]
        stream, pos = bytes(data), 0
        while pos < len(stream):
            if not self._matched and not self._partial:
                # Idle: everything before the next possible start passes in one slice,
                # so a large paste costs one find() and not a Python loop per byte.
                start = stream.find(first, pos)
                if start < 0:
                    out += stream[pos:]
                    break
                out += stream[pos:start]
                pos = start
            self._partial += stream[pos : pos + 1]
            pos += 1
            replay = self._step(out)
            if replay is None:
                self.rest = stream[pos:]
                self._matched, self._partial = 0, b""
                return bytes(out), True
            if replay:
                stream, pos = replay + stream[pos:], 0
        return bytes(out), False

    def _step(self, out: bytearray) -> bytes | None:
        """Advance on the byte just added to `_partial`.

        Returns None when the sequence completed, else the bytes to run through again
        (empty when nothing needs replaying).
        """
        want, got = self.sequence[self._matched], self._partial
        if got == want:
            self._matched, self._partial = self._matched + 1, b""
            return None if self._matched == len(self.sequence) else b""
        if want.startswith(got):
            return b""
        if self._matched == 1:
            prefix = self.sequence[0]
            if got == prefix:
                # The prefix twice sends the prefix once, as tmux's send-prefix binding does.
                out += prefix
                self._matched, self._partial = 0, b""
                return b""
            if prefix.startswith(got):
                return b""
        # Not the sequence after all: pass on what was held and look at the rest afresh.
        if self._matched:
            out += b"".join(self.sequence[: self._matched])
            replay = got
        else:
            out += got[:1]
            replay = got[1:]
        self._matched, self._partial = 0, b""
        return replay
