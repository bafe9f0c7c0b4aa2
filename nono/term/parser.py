"""The byte parser: pyte's ByteStream, its state machine widened to what agents actually send."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from typing import Any, ClassVar

from pyte import control as ctrl
from pyte.streams import ByteStream

from .style import Params

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


class Parser(ByteStream):
    """Feeds a VTScreen; `feed(bytes)` may split UTF-8 and escape sequences anywhere.

    pyte's own machine misreads several common sequences as text or as the wrong command:
    `CSI > 4;1 m` (modifyOtherKeys) as bold+underline, `38:2::r:g:b` as text, DCS and APC
    payloads (XTGETTCAP, sixel, kitty graphics) as text, `CSI ? u` as a cursor restore, and
    `ESC ( 0` not at all under UTF-8. This keeps pyte's design (a generator fed one character
    at a time, plain text handed to `draw` in runs by `Stream.feed`) and pyte's screen events.
    """

    escape: ClassVar[dict[str, str]] = {
        **ByteStream.escape,
        "=": "keypad_application",
        ">": "keypad_numeric",
    }

    def select_other_charset(self, code: str) -> None:
        # ESC % @ would switch pyte to Latin-1 for good; a stray one in binary output must not.
        pass

    def _parser_fsm(self) -> _Fsm:
        screen = self.listener
        assert screen is not None
        draw = screen.draw
        basic = {char: getattr(screen, name) for char, name in self.basic.items()}
        escape = {char: getattr(screen, name) for char, name in self.escape.items()}
        csi = self._csi_handlers(screen)
        redo: str | None = None
        while True:
            if redo is None:
                char = yield True  # True: Stream.feed may hand plain text straight to draw
            else:
                char, redo = redo, None
            if char == ctrl.ESC:
                redo = yield from self._escape(screen, escape, csi, basic, None)
            elif char == ctrl.CSI_C1:
                redo = yield from self._csi(csi, basic)
            elif char == ctrl.OSC_C1:
                redo = yield from self._osc(screen, escape, csi, basic)
            elif char in basic:
                basic[char]()
            elif char not in (ctrl.NUL, ctrl.DEL):
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
        elif char == ctrl.ESC or char < " ":
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
            elif char == ctrl.ESC or char in (ctrl.CSI_C1, ctrl.OSC_C1):
                return char
            elif char in (ctrl.CAN, ctrl.SUB):
                return None
            elif char in basic:
                basic[char]()  # C0 controls inside a sequence are executed, as on a VT

    def _osc(self, screen: Any, escape: dict, csi: dict, basic: dict) -> _Sub:
        text: list[str] = []
        while True:
            char = yield None
            if char in (ctrl.BEL, ctrl.ST_C1):
                break
            if char == ctrl.ESC:
                char = yield None
                if char == "\\":
                    break
                # ESC aborts the string and starts a new sequence.
                return (yield from self._escape(screen, escape, csi, basic, char))
            if char in (ctrl.CAN, ctrl.SUB):
                return None
            if len(text) < _MAX_OSC:
                text.append(char)
        code, _, payload = "".join(text).partition(";")
        if code in ("0", "2"):
            screen.set_title(payload)
        if code in ("0", "1"):
            screen.set_icon_name(payload)
        return None

    def _string(self, screen: Any, escape: dict, csi: dict, basic: dict) -> _Sub:
        while True:
            char = yield None
            if char == ctrl.ST_C1 or char in (ctrl.CAN, ctrl.SUB):
                return None
            if char == ctrl.ESC:
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
