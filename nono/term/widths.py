"""Character widths in bulk: the classes of characters the bulk paths draw (one column, two
columns), and a table that gives the widths of a whole string in one call."""

from __future__ import annotations

import re

from .style import char_width

NARROW_BLOCKS = ((0xA0, 0x24F), (0x370, 0x4FF), (0x2010, 0x205E), (0x2190, 0x23FF),
                 (0x2500, 0x25FF))  # fmt: skip
"""Where tools' output finds its one-column characters beyond ASCII: Latin letters, Greek,
Cyrillic, punctuation, arrows, maths, box drawing, blocks, shapes."""
WIDE_BLOCKS = ((0x1100, 0x115F), (0x2E80, 0x303E), (0x3041, 0x33FF), (0x3400, 0x4DBF),
               (0x4E00, 0x9FFF), (0xA000, 0xA4CF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF),
               (0xFE30, 0xFE4F), (0xFF00, 0xFF60), (0xFFE0, 0xFFE6))  # fmt: skip
"""And its two-column ones: CJK, kana, Hangul, fullwidth forms."""


def width_class(blocks: tuple[tuple[int, int], ...], width: int) -> str:
    """Regex class ranges of the characters in `blocks` that are `width` columns wide and are
    not a mark, a control or a line or paragraph separator. Text made of such characters is
    drawn in bulk (its columns counted, not looked up a character at a time) instead of being
    cut into a token at each of them."""
    import unicodedata

    codes = [
        c
        for start, stop in blocks
        for c in range(start, stop + 1)
        if char_width(chr(c)) == width
        and not unicodedata.category(chr(c)).startswith(("C", "M", "Zl", "Zp"))
    ]
    spans: list[list[int]] = []
    for c in codes:
        if spans and c == spans[-1][1] + 1:
            spans[-1][1] = c
        else:
            spans.append([c, c])
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in spans)


# width_class(NARROW_BLOCKS, 1) and width_class(WIDE_BLOCKS, 2), written out: working them out
# costs ~10 ms at every start (tests/test_term_fast.py checks they agree).
NARROW_BEYOND_ASCII = (
    "\xa0-\xac\xae-\u024f\u0370-\u0377\u037a-\u037f\u0384-\u038a\u038c\u038e-\u03a1\u03a3-"
    "\u0482\u048a-\u04ff\u2010-\u2027\u202f-\u205e\u2190-\u2319\u231c-\u2328\u232b-\u23e8"
    "\u23ed-\u23ef\u23f1-\u23f2\u23f4-\u23ff\u2500-\u25fc\u25ff"
)
NARROW = "\x20-\x7e" + NARROW_BEYOND_ASCII  # one column a character
WIDE_CLASS = (
    "\u1100-\u115f\u2e80-\u2e99\u2e9b-\u2ef3\u2f00-\u2fd5\u2ff0-\u2ffb\u3000-\u3029\u3030-"
    "\u303e\u3041-\u3096\u309b-\u30ff\u3105-\u312f\u3131-\u3163\u3165-\u318e\u3190-\u31e3"
    "\u31f0-\u321e\u3220-\u3247\u3250-\u4dbf\u4e00-\ua48c\ua490-\ua4c6\uac00-\ud7a3\uf900-"
    "\ufa6d\ufa70-\ufad9\ufe30-\ufe4f\uff01-\uff60\uffe0-\uffe6"
)
wide_chars = re.compile(f"[{WIDE_CLASS}]").findall
wide_split = re.compile(f"([{WIDE_CLASS}]+)").split  # narrow, wide, narrow, ... pieces


class _WidthDigits(dict[int, str]):
    """A str.translate table from a code point to its width as a digit ("x": unprintable), so
    the widths of a run of text are found in one call rather than one call a character."""

    def __missing__(self, code: int) -> str:
        width = char_width(chr(code))
        digit = str(width) if 0 <= width <= 2 else "x"
        if len(self) < 1 << 16:
            self[code] = digit
        return digit


WIDTH_DIGITS = _WidthDigits()
