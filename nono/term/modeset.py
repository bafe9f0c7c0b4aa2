"""The modes a client must mirror to behave like the program's terminal, and their wire form.

Apart from modes.py, which keeps them up to date inside the model, so that a client (the
dashboard) reads a SCREEN frame's mode set without importing pyte."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MOUSE_MODES = (1000, 1002, 1003)


@dataclass(frozen=True, slots=True)
class Modes:
    """The modes a client must mirror to behave like the program's terminal."""

    bracketed_paste: bool = False  # ?2004
    app_cursor: bool = False  # DECCKM, ?1
    app_keypad: bool = False  # DECKPAM (ESC =) / DECNKM (?66)
    mouse: int | None = None  # 1000 (clicks), 1002 (drags) or 1003 (all motion)
    mouse_sgr: bool = False  # ?1006
    focus_events: bool = False  # ?1004
    sync_output: bool = False  # ?2026
    autowrap: bool = True  # DECAWM, ?7
    origin: bool = False  # DECOM, ?6


# ------------------------------------------------------------------ the wire form
# The mode set crosses the session protocol (SCREEN frames) as the DEC private mode numbers
# that are set, as a program would have set them with `CSI ? n h`: "7;2004" is autowrap and
# bracketed paste. Short, a string (cached on, compared as is), and every field is one number.

_FLAG_NUMBERS = (
    (1, "app_cursor"),
    (6, "origin"),
    (7, "autowrap"),
    (66, "app_keypad"),
    (1004, "focus_events"),
    (1006, "mouse_sgr"),
    (2004, "bracketed_paste"),
    (2026, "sync_output"),
)
_BY_NUMBER = dict(_FLAG_NUMBERS)


@lru_cache(maxsize=256)
def encode_modes(modes: Modes) -> str:
    """The DEC private mode numbers set in `modes`, in ascending order, `;`-separated."""
    numbers = [number for number, name in _FLAG_NUMBERS if getattr(modes, name)]
    if modes.mouse is not None:
        numbers.append(modes.mouse)
    return ";".join(str(number) for number in sorted(numbers))


@lru_cache(maxsize=256)
def decode_modes(text: str) -> Modes:
    """The Modes `text` (encode_modes's form) stands for. A number this version does not
    mirror is skipped (a newer peer's); anything but numbers raises ValueError naming it."""
    flags: dict[str, Any] = {"autowrap": False}
    for part in text.split(";") if text else ():
        try:
            number = int(part)
        except ValueError:
            raise ValueError(f"not a terminal mode set: {text!r}") from None
        if number in _BY_NUMBER:
            flags[_BY_NUMBER[number]] = True
        elif number in MOUSE_MODES:
            flags["mouse"] = number
    return Modes(**flags)
