"""The byte parser: a state machine fed one character at a time, as pyte's is, widened to what
agents actually send, with plain text handed to the screen in runs."""

from __future__ import annotations

import codecs
import inspect
import re
from collections.abc import Callable, Generator
from typing import Any

from .style import Params

# The controls the machine tells apart (ECMA-48 C0 and C1).
NUL, BEL, BS, HT, LF, VT, FF, CR, SO, SI = "\x00\x07\x08\t\n\x0b\x0c\r\x0e\x0f"
CAN, SUB, ESC, DEL = "\x18\x1a\x1b\x7f"
CSI_C1, ST_C1, OSC_C1 = "\x9b\x9c\x9d"

_Fsm = Generator[bool | None, str, None]
_Sub = Generator[bool | None, str, str | None]  # returns a character to process again, if any

# CSI final byte, prefixed by its private marker and intermediates, to the screen event.
CSI_EVENTS = {
    "@": "insert_characters",
    "A": "cursor_up",
    "B": "cursor_down",
    "C": "cursor_forward",
    "D": "cursor_back",
    "E": "cursor_down1",
    "F": "cursor_up1",
    "G": "cursor_to_column",
    "H": "cursor_position",
    "I": "tab_forward",
    "J": "erase_in_display",
    "?J": "erase_in_display",  # selective erase: no protected cells here, so a plain erase
    "K": "erase_in_line",
    "?K": "erase_in_line",
    "L": "insert_lines",
    "M": "delete_lines",
    "P": "delete_characters",
    "S": "scroll_up",
    "T": "scroll_down",
    "X": "erase_characters",
    "Z": "tab_back",
    "`": "cursor_to_column",
    "a": "cursor_forward",
    "b": "repeat_last",
    "c": "report_device_attributes",
    ">c": "report_secondary_attributes",
    "d": "cursor_to_line",
    "e": "cursor_down",
    "f": "cursor_position",
    "g": "clear_tab_stop",
    "h": "set_mode",
    "l": "reset_mode",
    "n": "report_device_status",
    "r": "set_margins",
    " q": "set_cursor_style",
    "$p": "request_mode",
}
PRIVATE_EVENTS = {
    "?h": "set_mode",
    "?l": "reset_mode",
    "?n": "report_device_status",
    "?$p": "request_mode",
}
# Longer parameter lists are hostile or broken and are dropped (tmux keeps at most 24).
MAX_PARAM_CHARS = 256
MAX_PARAMS = 32
_MAX_OSC = 4096  # characters of an OSC payload kept (a title); the rest is read and dropped


# Controls without parameters, and escape sequences of one character after ESC, to the
# screen event each is (VT100; `=` and `>` switch the keypad).
BASIC_EVENTS = {
    BEL: "bell",
    BS: "backspace",
    HT: "tab",
    LF: "linefeed",
    VT: "linefeed",
    FF: "linefeed",
    CR: "carriage_return",
    SO: "shift_out",
    SI: "shift_in",
}
ESCAPE_EVENTS = {
    "c": "reset",  # RIS
    "D": "index",  # IND
    "E": "linefeed",  # NEL
    "M": "reverse_index",  # RI
    "H": "set_tab_stop",  # HTS
    "7": "save_cursor",  # DECSC
    "8": "restore_cursor",  # DECRC
    "=": "keypad_application",  # DECKPAM
    ">": "keypad_numeric",  # DECKPNM
}
# A run of what the machine, between sequences, would only hand to `draw`: anything but the
# controls above and those that start a sequence or are dropped.
_PLAIN = re.compile(f"[^{re.escape(ESC + CSI_C1 + OSC_C1 + NUL + DEL + ''.join(BASIC_EVENTS))}]+")


class Parser:
    """Feeds a VTScreen; `feed(bytes)` may split UTF-8 and escape sequences anywhere.

    pyte's own machine misreads several common sequences as text or as the wrong command:
    `CSI > 4;1 m` (modifyOtherKeys) as bold+underline, `38:2::r:g:b` as text, DCS and APC
    payloads (XTGETTCAP, sixel, kitty graphics) as text, `CSI ? u` as a cursor restore, and
    `ESC ( 0` not at all under UTF-8. This keeps pyte's design (a generator fed one character
    at a time, plain text handed to `draw` in runs) and pyte's screen events, but none of
    pyte's stream: the machine and the loop that feeds it are nono's, so a pyte release cannot
    change them.
    """

    def __init__(self, screen: Any) -> None:
        self.screen = screen
        # Invalid UTF-8 shows as U+FFFD; a character split between feeds waits for its end.
        self.utf8_decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._start()

    def _start(self) -> None:
        self._fsm = self._parser_fsm()
        # True while the machine is between sequences: plain text may then go straight to
        # `draw` in runs instead of one character at a time through the machine.
        self._taking_plain_text: bool | None = next(self._fsm)

    def _send_to_parser(self, char: str) -> bool | None:
        """One character through the machine; whether it is then between sequences."""
        try:
            return self._fsm.send(char)
        except Exception:
            self._start()  # a screen event that raised must not leave the machine stuck
            raise

    def feed(self, data: bytes) -> None:
        self._feed_text(self.utf8_decoder.decode(data))

    def _feed_text(self, text: str) -> None:
        send = self._send_to_parser
        draw = self.screen.draw
        plain = _PLAIN.match
        taking = self._taking_plain_text
        pos, end = 0, len(text)
        while pos < end:
            if taking:
                match = plain(text, pos)
                if match:
                    start, pos = match.span()
                    draw(text[start:pos])
                else:
                    taking = False
            else:
                taking = send(text[pos])
                pos += 1
        self._taking_plain_text = taking

    def _parser_fsm(self) -> _Fsm:
        screen = self.screen
        draw = screen.draw
        basic = {char: getattr(screen, name) for char, name in BASIC_EVENTS.items()}
        escape = {char: getattr(screen, name) for char, name in ESCAPE_EVENTS.items()}
        csi = self._csi_handlers(screen)
        redo: str | None = None
        while True:
            if redo is None:
                char = yield True  # True: _feed_text may hand plain text straight to draw
            else:
                char, redo = redo, None
            if char == ESC:
                redo = yield from self._escape(screen, escape, csi, basic, None)
            elif char == CSI_C1:
                redo = yield from self._csi(csi, basic)
            elif char == OSC_C1:
                redo = yield from self._osc(screen, escape, csi, basic)
            elif char in basic:
                basic[char]()
            elif char not in (NUL, DEL):
                draw(char)

    def _csi_handlers(self, screen: Any) -> dict[str, Callable[[Params], None]]:
        def plain(name: str, **kwargs: Any) -> Callable[[Params], None]:
            method = getattr(screen, name)
            # pyte's events take a fixed number of parameters; extra ones must not raise.
            arity = _arity(method)
            return lambda params: method(*[p[0] or 0 for p in params[:arity]], **kwargs)

        def bare(method: Callable[[], None]) -> Callable[[Params], None]:
            return lambda params: method() if params == [[None]] else None

        handlers = {key: plain(name) for key, name in CSI_EVENTS.items()}
        handlers.update({key: plain(name, private=True) for key, name in PRIVATE_EVENTS.items()})
        handlers["m"] = screen.set_pen
        # SCOSC / SCORC: only without parameters (CSI Pl;Pr s is DECSLRM).
        handlers["s"] = bare(screen.save_cursor)
        handlers["u"] = bare(screen.restore_cursor)
        return handlers

    def _escape(self, screen: Any, escape: dict, csi: dict, basic: dict, char: str | None) -> _Sub:
        if char is None:
            char = yield None
        if char == "[":
            return (yield from self._csi(csi, basic))
        if char == "]":
            return (yield from self._osc(screen, escape, csi, basic))
        if char in "P_^X":  # DCS, APC, PM, SOS: strings nobody here draws (sixel, kitty, ...)
            return (yield from self._string(screen, escape, csi, basic))
        if char in "()*+-./":  # designate G0..G3; only G0/G1 are used
            code = yield None
            if char in "()":
                screen.define_charset(code, char)
        elif char == "#":
            if (yield None) == "8":
                screen.alignment_display()
        elif char in "% ":
            yield None  # ESC % x (UTF-8 switch), ESC SP x (7/8-bit controls): nothing to do
        elif char == ESC or char < " ":
            return char  # a control aborts the sequence and is then processed itself
        elif char in escape:
            escape[char]()
        return None

    def _csi(self, csi: dict, basic: dict) -> _Sub:
        params = marker = inter = ""
        valid = True
        while True:
            char = yield None
            if "0" <= char <= "9" or char == ";" or char == ":":
                valid = valid and not inter
                params += char
            elif char in "<=>?":
                valid = valid and not (params or marker or inter)
                marker = char
            elif " " <= char <= "/":
                inter += char
            elif "@" <= char <= "~":
                handler = csi.get(marker + inter + char)
                if handler is not None and valid and len(params) <= MAX_PARAM_CHARS:
                    split = split_params(params)
                    if len(split) <= MAX_PARAMS:
                        handler(split)
                return None
            elif char == ESC or char in (CSI_C1, OSC_C1):
                return char
            elif char in (CAN, SUB):
                return None
            elif char in basic:
                basic[char]()  # C0 controls inside a sequence are executed, as on a VT

    def _osc(self, screen: Any, escape: dict, csi: dict, basic: dict) -> _Sub:
        text: list[str] = []
        while True:
            char = yield None
            if char in (BEL, ST_C1):
                break
            if char == ESC:
                char = yield None
                if char == "\\":
                    break
                # ESC aborts the string and starts a new sequence.
                return (yield from self._escape(screen, escape, csi, basic, char))
            if char in (CAN, SUB):
                return None
            if len(text) < _MAX_OSC:
                text.append(char)
        code, _, payload = "".join(text).partition(";")
        if code in ("0", "2"):
            screen.set_title(payload)
        if code in ("0", "1"):
            screen.set_icon_name(payload)
        elif code in ("9", "99", "777"):
            screen.notify(code, payload)
        return None

    def _string(self, screen: Any, escape: dict, csi: dict, basic: dict) -> _Sub:
        while True:
            char = yield None
            if char == ST_C1 or char in (CAN, SUB):
                return None
            if char == ESC:
                char = yield None
                if char == "\\":
                    return None
                return (yield from self._escape(screen, escape, csi, basic, char))


def _arity(method: Callable[..., Any]) -> int:
    kinds = [p.kind for p in inspect.signature(method).parameters.values()]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return MAX_PARAMS
    return sum(kind == inspect.Parameter.POSITIONAL_OR_KEYWORD for kind in kinds)


def split_params(params: str) -> Params:
    return [
        [min(int(part), 9999) if part else None for part in param.split(":")]
        for param in params.split(";")
    ]
