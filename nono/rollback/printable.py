"""Agent-chosen text made safe to print: control characters shown as escapes, never sent.

A file name, a symlink target or a line of a diff is whatever the agent wrote, and a terminal
obeys control sequences wherever they come from (OSC 52 sets the clipboard, others retitle,
move the cursor, or hide what follows). Everything `nono rollback` prints for a person goes
through here; JSON output is exact instead (json escapes these itself)."""

from __future__ import annotations

import re
import unicodedata

# Candidates, checked one by one below: C0 controls, DEL, and anything outside ASCII.
_NAME = re.compile(r"[\x00-\x1f\x7f\\]|[^\x00-\x7f]")
_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|[^\x00-\x7f]")  # keeps \t and \n
# Controls, format characters (bidi overrides, zero-width), surrogates (undecodable bytes
# of a name) and line/paragraph separators: none of them print as themselves.
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\\":
        return "\\\\"
    if code < 0x80:
        return f"\\x{code:02x}"
    if unicodedata.category(char) not in _UNSAFE:
        return char
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def name(value: str) -> str:
    """A path or symlink target, one line, unambiguous (a backslash is shown doubled)."""
    return _NAME.sub(_escape, value)


def text(value: str) -> str:
    """Free text (a diff, a message): tabs and line breaks kept, other controls escaped."""
    return _TEXT.sub(_escape, value)
