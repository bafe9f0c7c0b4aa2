"""Text another party wrote (an agent, another host), shown with what would act on a terminal
escaped rather than sent: kept light, since one-shot commands print through it."""

from __future__ import annotations

import re
import unicodedata

# C0 (but tab), DEL, and anything outside ASCII: checked one by one in _escape.
_CANDIDATES = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\x7f]")
# Controls (C1 too), format characters (bidi overrides, zero-width), surrogates, line and
# paragraph separators: none of them print as themselves.
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code >= 0x80 and unicodedata.category(char) not in _UNSAFE:
        return char
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escaped(text: str) -> str:
    """`text` on one line with tabs kept and every other control character, bidi override
    and zero-width character written as an escape (`\\x1b`, `\\u202e`)."""
    return _CANDIDATES.sub(_escape, text)
