"""What an attached client lets through to the user's own terminal: the agent's output with the
escape sequences that would act outside the sandbox taken out. Pure: bytes in, bytes out,
incremental across chunk boundaries.

`nono attach` (and an attached `nono run`) write the agent's bytes to the user's terminal as
they come, which is what keeps an attached flood faster than tmux. That terminal is outside the
sandbox: anything it does on the agent's say-so, the agent has done outside. What a terminal
can be made to do, and what this filter decides:

- Answers. A query's answer is typed into the terminal's input. While attached, nono reads that
  input and hands it to the agent: an answer made only of the terminal's own fixed words (DA,
  DSR cursor position, DECRQM, XTVERSION) tells the agent nothing it could misuse, and agents
  need them (a TUI waits for the cursor report), so they pass. What is dropped is an answer
  that carries something else: text the agent chose (the title and icon reports, CSI 20 t /
  21 t, echo the title the agent set: the classic way to type a command; an answer landing
  after a detach or the agent's exit is read by the user's shell), or contents of the user's
  own: the clipboard (OSC 52 with `?`), the screen (DECRQCRA checksums, CSI ... * y, read
  what was on the screen before the attach a cell at a time), colours and fonts (OSC 4/10-19
  and 50 queries, `?`). The supervisor's model answers none of these either, so an agent sees
  the same terminal attached, detached or in the dashboard.
- Actions. Every DCS is dropped: tmux's and screen's passthrough (`ESC P tmux; ...`) hand the
  inner sequence to the terminal outside the multiplexer, past its own filtering; DECUDK
  programs function keys to type agent-chosen text after the agent is gone; DECRQSS and
  XTGETTCAP are queries (above). Sixel goes too: it is only pictures, but the terminals'
  sixel decoders have had memory-safety bugs (xterm's CVE-2022-24130), the session's own
  screen never shows them, and an agent's work does not need them. APC, PM and SOS are dropped
  (kitty's graphics protocol, an APC, makes the terminal read any file it names). Window
  operations (CSI ... t) move, resize and iconify the user's window: dropped, except the title
  stack (22/23) that full-screen programs use. Media copy (CSI ... i) starts a printer
  controller: dropped. So is what changes how the terminal reads what follows, since the
  filter could no longer follow it: leaving UTF-8 (ESC % x), VT52 mode (CSI ? 2 l), the
  conformance level (CSI ... " p), and confidence tests (CSI ... y).
- OSC by allow-list: titles (0, 1, 2), hyperlinks (8), prompt marks (133), notifications
  (9, 777;notify), colour settings and resets (4, 10-19, 104, 110-119) without `?`; clipboard
  writes (52 with data) when `[ui] clipboard = "write"`, the default. Anything else (OSC 7,
  50, 1337 file transfers, 777 extensions, ...) is dropped. A forwarded OSC loses any control
  character inside it and is closed with the terminator it came with, so the terminal's idea
  of where it ends is the filter's.
- C1 controls written as UTF-8 (U+0080-U+009F, e.g. U+009D, an OSC) are dropped: no program
  prints them as text, and a terminal may act on them. A raw 8-bit C1 byte is invalid UTF-8,
  which a UTF-8 terminal shows as a replacement character; the agent cannot take the terminal
  out of UTF-8 (ESC % is dropped).

A sequence with a control or a non-ASCII byte inside it (a VT parser executes the first and
may map the second onto ASCII, and still finishes the sequence) is dropped whole, as is a CSI
longer than SEQUENCE_LIMIT. A UTF-8 character cut short by a sequence goes with it, so the
bytes on either side of a dropped sequence cannot meet as a C1 control. What a chunk ends
inside of is carried to the next one, bounded: a sequence up to SEQUENCE_LIMIT, a character
up to 3 bytes, an OSC until it ends up to OSC_LIMIT (then dropped, and the rest of it
skipped); a dropped string is skipped without being kept.

Leaving (`restore`): the modes a shell does not expect are reset (insert mode, autowrap,
origin mode and the scroll region when the agent set them, charsets, mouse, bracketed paste,
keypad, focus events, left/right margins, cursor, SGR), the alternate screen is left, kitty
keyboard modes and modifyOtherKeys the agent set are undone, and the user's title, saved on
the title stack before the agent's first byte (`enter`), is taken back.

The fast path: plain ASCII without ESC is returned as it came (two scans in C); otherwise one
regex search finds the next sequence that needs a look, and text and ordinary CSI (SGR, cursor
movement, erasing) between them are copied as one slice: ~900 MB/s on bench/mixed.py's
output, ~580 MB/s on its dense workload.
"""

from __future__ import annotations

import re

SEQUENCE_LIMIT = 256  # a CSI or ESC sequence cut by a chunk end is carried up to this long
# An OSC is judged whole, so it is kept until it ends: a clipboard write of ~750 KB of text
# fits; an unterminated one costs at most this much before it is dropped.
OSC_LIMIT = 1 << 20

# Controls a VT parser executes (or ignores) inside a sequence without ending it: not CAN,
# SUB (which cancel it) nor ESC (which starts another).
_INSIDE = frozenset({*range(0x18), 0x19, *range(0x1C, 0x20), 0x7F})
# Where the fast path stops: an ESC that does not start an ordinary CSI (no <=> prefix, a
# final byte none of t i y p h l r) or a plain two- or three-byte escape (charsets, ESC 7,
# ESC =); a C1 control as UTF-8, an overlong form a lax decoder might read as a control; or a
# chunk ending inside one of those. Every branch starts with one byte, so the regex engine
# skips to the next candidate in a tight loop (~300 MB/s on mixed output; with a character
# class first, ~60 MB/s).
_ESCAPE = rb"\x1b(?!\[(?![<=>])[0-?]*[ -/]*[@-gjkm-oqsu-xz-~])(?![0-OQ-WYZ\\`-~]|[ -$&-/][0-~])"
_STOP = re.compile(
    _ESCAPE
    + rb"|\xc2(?:[\x80-\x9f]|\Z)|\xc0(?:[\x80-\xbf]|\Z)|\xc1(?:[\x80-\xbf]|\Z)"
    + rb"|\xe0(?:[\x80-\x9f]|\Z)"
)
# The same for a chunk without any of those lead bytes (most output): ESC is then the only
# candidate, which the regex engine finds three times faster (~1 GB/s on mixed output).
_STOP_ESCAPE = re.compile(_ESCAPE)
_LEADS = (b"\xc2", b"\xc0", b"\xc1", b"\xe0")
# The end of a string (OSC, DCS, APC, PM, SOS): BEL (OSC only, but harmless to stop at for
# the others, which are dropped), CAN/SUB, ESC, ST as UTF-8 C1, or a chunk end inside that.
_STRING_END = re.compile(rb"[\x07\x18\x1a\x1b]|\xc2(?:\x9c|\Z)")
_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_TITLES_ETC = frozenset({0, 1, 2, 8, 133})
_COLOURS = frozenset({4, *range(10, 20), 104, *range(110, 120)})
_CONEMU = re.compile(rb"\d+(?:;|$)")


def osc_allowed(body: bytes, clipboard_write: bool) -> bool:
    """Whether an OSC (the bytes between `ESC ]` and its terminator) may reach the terminal."""
    number, _, rest = body.partition(b";")
    if not number.isdigit() or len(number) > 4:
        return False
    n = int(number)
    if n in _TITLES_ETC:
        return True
    if n in _COLOURS:
        return b"?" not in rest  # a query, whatever else is set with it
    if n == 52:
        # 52;selection;data. `?` is never base64: a read, in any terminal's reading of it.
        _, sep, data = rest.partition(b";")
        return clipboard_write and bool(sep) and b"?" not in data
    if n == 9:
        # iTerm2's notification, and ConEmu's progress (9;4); ConEmu's other 9;N commands
        # (one of which runs a program) are not notifications.
        return rest.startswith(b"4;") or not _CONEMU.match(rest)
    if n == 777:
        return rest.startswith(b"notify;")  # rxvt passes 777 to its extension of that name
    return False


def clean_osc(body: bytes) -> bytes:
    """An allowed OSC's body without control characters (C0, DEL, C1), as UTF-8."""
    if body.isascii():
        return _CONTROL_BYTES.sub(b"", body)
    return _CONTROLS.sub("", body.decode("utf-8", "replace")).encode("utf-8")


class Passthrough:
    """The filter for one attached client: `feed` each chunk of the agent's output, write what
    it returns. It also tracks what a leaving client must undo (`restore()`)."""

    def __init__(self, clipboard_write: bool = True) -> None:
        self.clipboard_write = clipboard_write
        self.carry = b""  # the start of a sequence a chunk ended inside of
        self.osc: bytearray | None = None  # inside an OSC: its body so far
        self.skipping = False  # inside a string that is dropped
        self.alternate = False  # the agent's last alternate-screen toggle was on
        self.confined = False  # a scroll region or origin mode was set (see restore())
        self.keys_pushed = 0  # kitty keyboard modes pushed on the main screen, not popped
        self.keys_set = False  # kitty keyboard flags set in place on the main screen
        self.modify_keys = False  # xterm's modifyOtherKeys (and the like) set
        self.titles_pushed = 0  # titles the agent pushed on the title stack, not popped

    def feed(self, data: bytes) -> bytes:
        if self.carry:
            data, self.carry = self.carry + data, b""
        elif self.osc is None and not self.skipping and data.isascii() and b"\x1b" not in data:
            return data  # plain ASCII text: two scans in C at memory speed
        stop = _STOP if any(lead in data for lead in _LEADS) else _STOP_ESCAPE
        out: list[bytes] = []
        pos = 0
        if self.osc is not None or self.skipping:
            pos = self._string(data, 0, out)
        while pos >= 0:
            found = stop.search(data, pos)
            if found is None:
                end = len(data)
                if data[-1] >= 0x80:  # a character the next chunk finishes waits for it
                    end = _whole_characters(data, pos, end)
                    self.carry = data[end:]
                if pos == 0 and end == len(data) and not out:
                    return data  # the fast path: nothing to look at, nothing copied
                out.append(data[pos:end])
                break
            start = found.start()
            # A character cut short by what stops here goes (or is carried) with it: left in
            # front of a sequence that is dropped, it would join the bytes after it (see
            # _whole_characters).
            cut = _whole_characters(data, pos, start) if start > pos else start
            if cut > pos:
                out.append(data[pos:cut])
            if data[start] != 0x1B:  # a C1 control or overlong form, or a chunk ending in one
                if found.end() == len(data) and found.end() - start == 1:
                    self.carry = data[cut:]
                    break
                pos = found.end()
                continue
            mark = len(out)
            pos = self._escape(data, start, out)
            if pos < 0:
                if self.carry:
                    self.carry = data[cut:start] + self.carry
                break
            if len(out) > mark and cut < start:
                out.insert(mark, data[cut:start])  # the sequence went out, and so does it
            if self.osc is not None or self.skipping:
                pos = self._string(data, pos, out)
        return b"".join(out)

    # ------------------------------------------------------------ sequences

    def _escape(self, data: bytes, start: int, out: list[bytes]) -> int:
        """The sequence at `start` (an ESC): returns where what follows it begins, or -1 when
        the chunk ends inside it (the rest is carried)."""
        end = len(data)
        i = start + 1
        while i < end and data[i] in _INSIDE:
            i += 1  # a control between ESC and the rest: the terminal runs it and goes on
        if i == end:
            return self._carry(data, start)
        intro = data[i]
        if intro in b"]P_^X":
            if intro == 0x5D:
                self.osc = bytearray()
            else:
                self.skipping = True
            return i + 1
        if intro == 0x5B:
            return self._csi(data, start, i + 1, out, plain=i == start + 1)
        if intro == 0x25:  # ESC % x: leave (or enter) UTF-8; dropped up to its final byte
            j = i + 1
            while j < end and (0x20 <= data[j] <= 0x2F or data[j] in _INSIDE):
                j += 1
            if j == end:
                return self._carry(data, start)
            return j + 1 if 0x30 <= data[j] <= 0x7E else j
        if 0x20 <= intro <= 0x7E:
            # Another escape (charsets, ESC 7, ...) with controls between: passed without them.
            out.append(b"\x1b")
        # ESC and then a byte >= 0x80 loses the ESC: a parser that maps such a byte onto ASCII
        # would read ESC 0xDD as ESC ] (an OSC); what follows is text.
        return i

    def _csi(self, data: bytes, start: int, i: int, out: list[bytes], plain: bool) -> int:
        end = len(data)
        j = i
        while j < end and not 0x40 <= data[j] <= 0x7E:
            byte = data[j]
            if byte in (0x18, 0x1A):
                return j + 1  # cancelled: the terminal drops it, and so do we
            if byte == 0x1B:
                return j  # another sequence starts: this one is abandoned
            if not 0x20 <= byte <= 0x3F:
                plain = False  # a control or a high byte inside: dropped whole
            j += 1
        if j == end:
            return self._carry(data, start)
        if plain and self._csi_allowed(data[i:j], data[j]):
            out.append(data[start : j + 1])
        return j + 1

    def _csi_allowed(self, body: bytes, final: int) -> bool:
        """Whether a CSI with this body (parameters, intermediates) and final byte passes; notes
        what a leaving client must undo."""
        params = body.rstrip(b" !\"#$%&'()*+,-./")
        between = body[len(params) :]
        private = params[:1] in (b"?", b"<", b"=", b">")
        numbers = params[1:] if private else params
        if final == 0x74:  # t: window operations; only the title stack is harmless
            op = numbers.split(b";")[0]
            if private or between or op not in (b"22", b"23"):
                return False
            self.titles_pushed = max(self.titles_pushed + (1 if op == b"22" else -1), 0)
            return True
        if final in b"iy":
            return False
        if final == 0x70:  # p: DECSCL changes the conformance level; DECRQM, DECSTR pass
            return between != b'"'
        modes = numbers.split(b";")
        if final == 0x75 and private and not self.alternate:  # u: kitty's keyboard modes
            # (the alternate screen has its own stack, which goes when the screen is left)
            if params[:1] == b">":
                self.keys_pushed += 1
            elif params[:1] == b"<":
                count = int(modes[0]) if modes[0].isdigit() else 1
                self.keys_pushed = max(self.keys_pushed - count, 0)
            elif params[:1] == b"=":
                self.keys_set = True
        if final == 0x6D and params[:1] == b">":  # m: xterm's modifyOtherKeys and the like
            self.modify_keys = True
        if final == 0x72:  # r: DECSTBM, or (private) XTRESTORE of saved modes
            if (private and b"6" in modes) or (not private and numbers and not between):
                self.confined = True
            return True
        if params[:1] == b"?" and not between and final in b"hl":
            if final == 0x6C and b"2" in modes:
                return False  # VT52 mode: the terminal would read escapes another way
            on = final == 0x68
            if on and b"6" in modes:
                self.confined = True
            if b"1049" in modes or b"1047" in modes or b"47" in modes:
                self.alternate = on
        return True

    def _string(self, data: bytes, pos: int, out: list[bytes]) -> int:
        """Inside an OSC (kept) or a dropped string: find its end. Returns where what follows
        it begins, or -1 when the chunk ends first."""
        found = _STRING_END.search(data, pos)
        if found is None:
            self._keep(data[pos:])
            return -1
        stop = found.start()
        self._keep(data[pos:stop])
        byte = data[stop]
        if stop + 1 == len(data) and byte in (0x1B, 0xC2):
            self.carry = data[stop:]  # ESC or 0xC2 last: ST, or not, in the next chunk
            return -1
        after = found.end()
        if byte == 0x1B:  # ESC \ ends it; another ESC ends it and starts a sequence of its own
            after = stop + 2 if data[stop + 1] == 0x5C else stop
        body, self.osc, self.skipping = self.osc, None, False
        if body is not None and byte not in (0x18, 0x1A):
            osc = bytes(body)
            if osc_allowed(osc, self.clipboard_write):
                ending = b"\x07" if byte == 0x07 else b"\x1b\\"
                out.append(b"\x1b]" + clean_osc(osc) + ending)
        return after

    def _keep(self, part: bytes) -> None:
        if self.osc is None:
            return
        if len(self.osc) + len(part) > OSC_LIMIT:
            self.osc, self.skipping = None, True  # too long to judge: dropped, rest skipped
        else:
            self.osc += part

    def _carry(self, data: bytes, start: int) -> int:
        # Longer than any real sequence: dropped with the rest of the chunk.
        self.carry = data[start:] if len(data) - start <= SEQUENCE_LIMIT else b""
        return -1

    # ------------------------------------------------------------ leaving

    def enter(self) -> bytes:
        """What a client writes before the agent's first byte: the user's title saved on the
        terminal's title stack, for `restore` to take back."""
        return ENTER

    def restore(self) -> bytes:
        """What puts the user's terminal back when the client leaves: the modes an agent can
        set and a shell does not expect (insert mode, no autowrap, charsets, mouse, keys, ...),
        the agent's alternate screen left, and the user's title back."""
        out = [RESTORE]
        if self.confined:
            # Resetting the scroll region and origin mode moves the cursor home. Done on the
            # alternate screen that is harmless (leaving it puts the cursor back); on the main
            # screen the cursor goes to the bottom line instead, below the agent's output.
            out.append(b"\x1b[r\x1b[?6l")
            if not self.alternate:
                out.append(b"\x1b[9999;1H")
        if self.alternate:
            out.append(b"\x1b[?1049l")
        # Keys the way the agent asked for them would reach the shell as escape sequences.
        if self.keys_pushed:
            out.append(b"\x1b[<%du" % self.keys_pushed)
        if self.keys_set:
            out.append(b"\x1b[=0u")
        if self.modify_keys:
            out.append(b"\x1b[>4m\x1b[0m")  # (a terminal reading it as SGR 4 is reset too)
        out.append(b"\x1b[23;0t" * (self.titles_pushed + 1))
        return b"".join(out)


ENTER = b"\x1b[22;0t"
RESTORE = (
    b"\x1b[?2004l\x1b[?1l\x1b>\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1005l"
    b"\x1b[?1015l\x1b[?1004l\x1b[?69l\x1b[4l\x1b[?7h\x1b(B\x1b)B\x0f\x1b[?25h\x1b[0m\x1b[ q"
)


def _whole_characters(data: bytes, pos: int, end: int) -> int:
    """Where data[pos:end] stops holding whole UTF-8 characters. A character cut short by an
    escape sequence shows as U+FFFD (the ESC interrupts it); left in front of a sequence the
    filter drops, it would join the bytes after it: 0xC2, ESC [ 21 t, 0x9D would reach the
    terminal as U+009D, a C1 OSC. Every cut-short character at the end is left out (0xC2 0xE0
    is two of them)."""
    while end > pos and data[end - 1] >= 0x80:
        for i in range(end - 1, max(end - 4, pos - 1), -1):
            byte = data[i]
            if byte >= 0xC0:
                length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
                if i + length > end:
                    end = i  # cut short: left out, and look again before it
                    break
                return end
            if byte < 0x80:
                return end
        else:
            return end  # continuation bytes with no lead near: not a character to finish
    return end
