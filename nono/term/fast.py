"""The parser's bulk paths: text runs, CR/LF/BS/TAB and plain SGR found in the output in bulk,
by one regular expression, instead of a character at a time by the machine in parser.py, which
gets the rest. This only finds them; bulk.py writes them to the screen, exactly as the machine's
events would (the differential test in tests/test_term_fast.py holds it to that)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .bulk import BulkWriter
from .parser import Parser
from .widths import NARROW as _NARROW
from .widths import NARROW_BEYOND_ASCII as _NARROW_BEYOND_ASCII
from .widths import NARROW_BLOCKS, WIDE_BLOCKS, wide_chars, width_class
from .widths import WIDE_CLASS as _WIDE_CLASS

if TYPE_CHECKING:
    from .screen import VTScreen

__all__ = ["NARROW_BLOCKS", "WIDE_BLOCKS", "FastParser", "width_class"]

# Tried at each point where the machine is between sequences. Anything else (other escapes
# and controls, a sequence cut by the end of a feed) goes to the machine one character at a
# time, which is also what keeps the split between the paths invisible.
# The third takes a line's worth of colour changes with the text after each (two or more), and
# the last what most other output is made of: a colour change, the text in it, and the end of
# the line. The last also matches the empty string, which means "none of these".
_TOKEN = re.compile(
    "([\r\n\b\t]+)"  # 1: cursor-only controls (and LF, which may scroll)
    f"|([^\x00-\x9f{_NARROW_BEYOND_ASCII}{_WIDE_CLASS}]+)"  # 2: other text; widths checked
    f"|((?:\x1b\\[[0-9;:]*+m[{_NARROW}]*+){{2,}}+)"  # 3: SGRs, each with the text after it
    "(\r\n)?"  # 4: CR LF
    "|(?:\x1b\\[([0-9;:]*)m)?"  # 5: SGR with no private marker or intermediates
    f"([{_NARROW}{_WIDE_CLASS}]*)"  # 6: text of one- and two-column characters
    "(\r\n)?"  # 7: CR LF
)
_MOVES, _OTHER, _RUNS, _RUNS_CRLF, _SGR, _TEXT, _CRLF = range(1, 8)
# What a feed may end with that could still become an SGR. Held back for the next feed, whose
# first token it becomes, rather than going to the machine, which would then take the rest
# of it one character at a time. Nothing shows the difference: until its final byte an SGR
# changes nothing either way.
_SGR_SO_FAR = re.compile("\x1b(?:\\[[0-9;:]{0,64})?\\Z").match


class FastParser(Parser):
    """The Parser with the bulk paths in front of its machine."""

    def __init__(self, screen: VTScreen) -> None:
        self._held = ""  # the start of an SGR that ended the last feed (see _SGR_SO_FAR)
        super().__init__(screen)
        self._write = BulkWriter(screen)

    def feed(self, data: bytes) -> None:
        text = self.utf8_decoder.decode(data)
        if self._held:
            text, self._held = self._held + text, ""
        self._write.start_feed()
        self._feed_text(text)
        self._write.end_feed()

    def _feed_text(self, text: str) -> None:
        send = self._send_to_parser
        tokens = _TOKEN.finditer
        write = self._write
        line = write.line
        taking = self._taking_plain_text  # True: the machine is between sequences
        pos, end = 0, len(text)
        while pos < end:
            if not taking:
                taking = send(text[pos])
                pos += 1
                continue
            write.begin()  # the machine may have changed the screen since
            for token in tokens(text, pos):
                stop = token.end()
                if stop == pos:  # the empty match: none of these, so the machine's turn
                    break
                pos = stop
                kind = token.lastindex
                assert kind is not None  # group 6 takes part in every match of the last branch
                if kind >= _SGR:  # most of it
                    params, run, newline = token.group(_SGR, _TEXT, _CRLF)
                    wide = 0 if run.isascii() else len(wide_chars(run))
                    line(params, run, wide, newline)
                elif kind == _MOVES:
                    write.moves(token.group(_MOVES))
                elif kind == _OTHER:
                    write.other(token.group(_OTHER))
                else:
                    pieces = token.group(_RUNS).split("\x1b[")
                    del pieces[0]  # empty: the token starts with an SGR
                    write.runs(pieces)
                    if kind == _RUNS_CRLF:
                        line(None, "", 0, "\r\n")
            if pos < end:
                if text[pos] == "\x1b" and _SGR_SO_FAR(text, pos):
                    self._held = text[pos:]
                    break
                taking = send(text[pos])
                pos += 1
        self._taking_plain_text = taking
