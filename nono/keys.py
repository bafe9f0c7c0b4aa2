"""Keys, as a person names them and as a terminal sends them: one grammar for config.toml's
[ui] keys, keymaps and `nono send-keys` (tmux's C-b, M-x, S-Up, ^B and nono's ctrl-b, alt-x,
shift-up), the value it names, that value's bytes, and the matcher of the detach sequence.

Like tmux's key-string.c, one parser serves every place a key is written; what differs from
place to place is only which encoding the key must have: bytes for send-keys, the detach
sequence and send-prefix, prompt_toolkit's names for keymaps (nono/mux/keynames.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from nono.errors import NonoError

# ---------------------------------------------------------------- the grammar


class Key(NamedTuple):
    """One key as pressed: `name` is one character ("b", "%", " " for Space) or a named key
    ("Enter", "Up", "F5", "KP1"). Ctrl of a letter is lower case: C-B is C-b, as in tmux.

    A NamedTuple, not a frozen dataclass: `nono attach` and every run with a config.toml
    make this class at start-up, and a dataclass takes 0.4 ms to make (measured)."""

    name: str
    ctrl: bool = False
    meta: bool = False
    shift: bool = False


_NAMED = (
    "Enter", "Tab", "BTab", "Escape", "BSpace", "Up", "Down", "Left", "Right", "Home",
    "End", "Insert", "Delete", "PageUp", "PageDown", "KPEnter",
)  # fmt: skip
_NAMES: dict[str, str] = {
    **{name.lower(): name for name in _NAMED},
    **{f"f{n}": f"F{n}" for n in range(1, 25)},
    **{f"kp{c}": f"KP{c}" for c in "0123456789/*-+."},
    # tmux's and terminfo's other spellings, and the everyday ones.
    "return": "Enter",
    "esc": "Escape",
    "backspace": "BSpace",
    "ic": "Insert",
    "dc": "Delete",
    "del": "Delete",
    "ppage": "PageUp",
    "pgup": "PageUp",
    "npage": "PageDown",
    "pgdn": "PageDown",
    "space": " ",
}
_MODIFIERS = {
    **dict.fromkeys(("c", "ctrl", "control"), "ctrl"),
    **dict.fromkeys(("m", "meta", "alt"), "meta"),
    **dict.fromkeys(("s", "shift"), "shift"),
}
_HEX = re.compile(r"0x[0-9a-fA-F]+")
VALID_KEY_FORMS = (
    "ctrl-a..ctrl-z, a name (Enter Tab BTab Escape/Esc Space BSpace/Backspace Up Down Left "
    "Right Home End PageUp/PPage PageDown/NPage Insert Delete F1-F24 KP0-KP9), either after "
    "any of ctrl-/C-/^, alt-/M-, shift-/S- (ctrl-b, C-b, M-Up, S-Left), a code point such as "
    "0x1d, or one printable character"
)


def _unknown(token: str) -> NonoError:
    return NonoError(f"unknown key {token!r}", f"valid keys: {VALID_KEY_FORMS}")


def parse_key(token: str) -> Key:
    """The key one token names, in any spelling: `C-b`, `ctrl-b`, `^B` and `0x2` are one key.

    Modifiers and names are case-insensitive, a single character is not ("D" is not "d").
    A code point (0x..) takes no modifiers, as in tmux; a control character is read as its
    ctrl key (0x1d is C-]). Whitespace and control characters must be written by name.
    """
    if _HEX.fullmatch(token):
        point = int(token, 16)
        if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
            raise _unknown(token)
        if point == 0x7F:
            return Key("BSpace")
        if point < 0x20:
            return Key(chr(point + 0x40).lower(), ctrl=True)
        return Key(chr(point))
    mods: set[str] = set()
    rest = token
    if rest.startswith("^") and len(rest) > 1:  # tmux's ^b
        mods.add("ctrl")
        rest = rest[1:]
    while True:
        head, dash, tail = rest.partition("-")
        # ASCII only, so that no exotic letter lower-cases into a modifier or a name.
        modifier = _MODIFIERS.get(head.lower()) if head.isascii() else None
        if not dash or not tail or modifier is None:
            break
        mods.add(modifier)
        rest = tail
    if len(rest) == 1 and rest.isprintable() and not rest.isspace():
        name = rest
    elif rest.isascii() and rest.lower() in _NAMES:
        name = _NAMES[rest.lower()]
    else:
        raise _unknown(token)
    ctrl = "ctrl" in mods
    if ctrl and len(name) == 1 and "A" <= name <= "Z":
        name = name.lower()
    return Key(name, ctrl, "meta" in mods, "shift" in mods)


def format_key(key: Key) -> str:
    """How tmux writes a key ("C-b", "M-Up", "C-Space"); parse_key reads it back."""
    name = key.name
    if name == " ":
        name = "Space"
    elif len(name) == 1 and (not name.isprintable() or name.isspace()):
        name = f"0x{ord(name):x}"  # only parse_key's code points come here, and take no mods
    mods = ("C-" if key.ctrl else "") + ("M-" if key.meta else "") + ("S-" if key.shift else "")
    return mods + name


# ---------------------------------------------------------------- a key's bytes

_CSI = "\x1b["

# Keys that have an xterm modifier form: (unmodified bytes, CSI number, final character).
# A modified key is CSI number ; 1+modifiers final, e.g. S-Up = CSI 1;2A, C-F5 = CSI 15;5~.
_XTERM_KEYS: dict[str, tuple[str, str, str]] = {
    "Up": (_CSI + "A", "1", "A"),
    "Down": (_CSI + "B", "1", "B"),
    "Right": (_CSI + "C", "1", "C"),
    "Left": (_CSI + "D", "1", "D"),
    # tmux sends the VT220 forms for Home/End, as its default input-keys table does.
    "Home": (_CSI + "1~", "1", "H"),
    "End": (_CSI + "4~", "1", "F"),
    "Insert": (_CSI + "2~", "2", "~"),
    "Delete": (_CSI + "3~", "3", "~"),
    "PageUp": (_CSI + "5~", "5", "~"),
    "PageDown": (_CSI + "6~", "6", "~"),
    "F1": ("\x1bOP", "1", "P"),
    "F2": ("\x1bOQ", "1", "Q"),
    "F3": ("\x1bOR", "1", "R"),
    "F4": ("\x1bOS", "1", "S"),
    **{
        f"F{n}": (f"{_CSI}{code}~", str(code), "~")
        for n, code in zip(range(5, 13), (15, 17, 18, 19, 20, 21, 23, 24), strict=True)
    },
}
_APP_CURSOR = {"Up": "\x1bOA", "Down": "\x1bOB", "Right": "\x1bOC", "Left": "\x1bOD"}

# Keys with one fixed encoding: meta adds ESC, ctrl has no code, shift has no form.
_FIXED_KEYS: dict[str, str] = {
    "Enter": "\r",
    "Tab": "\t",
    "BTab": _CSI + "Z",
    "BSpace": "\x7f",
    "Escape": "\x1b",
    # The numeric keypad outside application keypad mode sends plain characters.
    **{f"KP{c}": c for c in "0123456789/*-+."},
    "KPEnter": "\n",
}

# Ctrl of these characters has a code beyond the @..._ and a..z rows (as in tmux and xterm).
_CTRL_EXTRA = {" ": 0x00, "2": 0x00, "6": 0x1E, "-": 0x1F, "/": 0x1F, "?": 0x7F}


class KeyCodeError(NonoError):
    """A key a terminal has no bytes for: S-a, S-Tab, F13 (tmux sends such a word as text)."""


class NoControlCode(KeyCodeError):
    """Ctrl of a key without a control code (C-Enter, C-1): a typo, never sent as text."""


def _ctrl_code(char: str) -> str | None:
    if "a" <= char <= "z" or "@" <= char <= "_":
        return chr(ord(char.upper()) & 0x1F)
    if char in _CTRL_EXTRA:
        return chr(_CTRL_EXTRA[char])
    return None


def encode_key(key: Key, *, app_cursor: bool = False) -> bytes:
    """The bytes a terminal (xterm, as tmux sends them) writes for `key`, e.g. C-] -> 0x1d,
    M-x -> ESC x, S-Up -> ESC [1;2A. With `app_cursor` (the pane asked for application cursor
    keys) plain arrows are ESC O A. Raises KeyCodeError for a key no terminal sends."""
    name = key.name
    if name in _XTERM_KEYS:
        plain, number, final = _XTERM_KEYS[name]
        if not (key.ctrl or key.meta or key.shift):
            chars = _APP_CURSOR[name] if app_cursor and name in _APP_CURSOR else plain
            return chars.encode()
        param = 1 + key.shift + 2 * key.meta + 4 * key.ctrl
        return f"{_CSI}{number};{param}{final}".encode()
    # Shift only exists in the xterm forms; tmux treats e.g. S-a or S-Tab as an unknown word.
    if key.shift:
        raise KeyCodeError(f"a terminal has no key {format_key(key)}")
    meta = "\x1b" if key.meta else ""
    if name in _FIXED_KEYS:
        if key.ctrl:
            raise NoControlCode(f"a terminal has no control code for {name}")
        return (meta + _FIXED_KEYS[name]).encode()
    if len(name) != 1:
        raise KeyCodeError(f"a terminal has no key {name}")  # F13-F24: xterm has no own bytes
    if key.ctrl:
        code = _ctrl_code(name)
        if code is None:
            shown = "Space" if name == " " else repr(name)
            raise NoControlCode(f"a terminal has no control code for {shown}")
        return (meta + code).encode()
    return (meta + name).encode()


def key_bytes(token: str) -> bytes:
    """The bytes of one key as written in config.toml (`ctrl-]`, `C-]`, `^]` -> b"\\x1d"),
    where a key must be one a terminal can type."""
    try:
        return encode_key(parse_key(token))
    except KeyCodeError:
        raise _unknown(token) from None


def sequence_bytes(text: str) -> tuple[bytes, ...]:
    """The keys of a whitespace-separated sequence ("ctrl-] d"), one bytes per key."""
    tokens = text.split()
    if not tokens:
        raise NonoError("empty key sequence", 'write keys separated by spaces, e.g. "ctrl-] d"')
    return tuple(key_bytes(token) for token in tokens)


def send_keys_bytes(
    keys: Iterable[str], *, literal: bool = False, app_cursor: bool = False
) -> bytes:
    """The bytes tmux's `send-keys` would write for these arguments.

    Each word is a key in parse_key's grammar (Enter, C-c, M-x, S-Up, ctrl-c, 0x1b, one
    character, ...) or text. Modified cursor, editing and function keys use xterm's form
    (S-Up = ESC [1;2A); with `app_cursor` plain arrows use ESC O A. A word that is not a key
    a terminal has (hello, S-a, F13) is sent as its characters, as tmux does; with `literal`
    every word is. Ctrl of a key that has no control code (C-Enter, C-Tab, C-1, C-{, ...)
    raises NonoError, where tmux 3.3 sends nothing or the word itself: a typo never vanishes.
    """
    out: list[bytes] = []
    for word in keys:
        if not literal:
            try:
                out.append(encode_key(parse_key(word), app_cursor=app_cursor))
                continue
            except NoControlCode as exc:
                raise NonoError(
                    f"cannot send {word!r}: {exc.message}",
                    "C- takes a letter or one of @ [ \\ ] ^ _ ? Space 2 6 - /; "
                    "send text as is with -l",
                ) from None
            except NonoError:
                pass  # not a key: text, as tmux sends it
        # surrogateescape lets a word from undecodable argv bytes go out unchanged.
        out.append(word.encode("utf-8", "surrogateescape"))
    return b"".join(out)


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
