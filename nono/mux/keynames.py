"""Key tokens in keymap files (ctrl-b, C-b, M-Up, %) and the prompt_toolkit keys they stand for."""

from __future__ import annotations

import re

from nono.errors import NonoError

Keys = tuple[str, ...]
"""One key as prompt_toolkit's KeyPress.key values: ("c-b",), or ("escape", "x") for M-x."""

_NAMES: dict[str, str] = {
    **{name: name for name in ("up", "down", "left", "right", "home", "end")},
    **{name: name for name in ("insert", "delete", "pageup", "pagedown")},
    "ic": "insert",
    "dc": "delete",
    "del": "delete",
    "pgup": "pageup",
    "ppage": "pageup",
    "pgdn": "pagedown",
    "npage": "pagedown",
    "escape": "escape",
    "esc": "escape",
    # prompt_toolkit cannot tell these from their control keys: the terminal sends the same byte.
    "enter": "c-m",
    "return": "c-m",
    "tab": "c-i",
    "btab": "s-tab",
    "backspace": "c-h",
    "bspace": "c-h",
    "space": " ",
    **{f"f{n}": f"f{n}" for n in range(1, 25)},
}
# Keys prompt_toolkit knows with c-, s- and c-s- in front.
_EDIT_KEYS = frozenset(("up", "down", "left", "right", "home", "end", "insert", "delete"))
_EDIT_KEYS |= {"pageup", "pagedown"}
_MODIFIER = re.compile(r"(ctrl|control|alt|meta|shift|c|m|s)-(.+)", re.IGNORECASE | re.DOTALL)
_MODIFIERS = {"ctrl": "C", "control": "C", "c": "C", "alt": "M", "meta": "M", "m": "M"}
VALID_KEY_FORMS = (
    "one character (d, %, D), or a name: Up Down Left Right Home End PageUp/PPage "
    "PageDown/NPage Insert Delete Enter Tab BTab Escape/Esc Space BSpace/Backspace F1-F24; "
    "optionally after ctrl-/C-, alt-/M- or shift-/S-, e.g. ctrl-b, C-b, M-Up, S-Left"
)


def _bad_key(token: str, why: str = "") -> NonoError:
    return NonoError(f"unknown key {token!r}{why}", f"valid keys: {VALID_KEY_FORMS}")


def _ctrl(char: str, token: str) -> str:
    lower = char.lower()
    if "a" <= lower <= "z" or char in "\\]^_" or char.isdigit():
        return f"c-{lower}"
    if char in "@ ":
        return "c-@"
    if char == "[":
        return "escape"  # C-[ is the ESC byte itself
    raise _bad_key(token, f": a terminal sends nothing for ctrl-{char}")


def parse_key(token: str) -> Keys:
    """The prompt_toolkit keys for one key token, e.g. `ctrl-b` -> ("c-b",), `M-Up` ->
    ("escape", "up"). Names and modifiers are case-insensitive, a single character is not."""
    mods: set[str] = set()
    base = token
    if base.startswith("^") and len(base) > 1:  # tmux's ^b
        mods.add("C")
        base = base[1:]
    while (match := _MODIFIER.fullmatch(base)) is not None:
        mods.add(_MODIFIERS.get(match[1].lower(), "S"))
        base = match[2]
    if len(base) == 1 and base.isprintable():
        key = base
    elif base.isascii() and base.lower() in _NAMES:
        key = _NAMES[base.lower()]
    else:
        raise _bad_key(token)
    ctrl, shift = "C" in mods, "S" in mods
    if len(key) == 1:
        if shift:
            raise _bad_key(token, ": write the shifted character itself (A, not S-a)")
        key = _ctrl(key, token) if ctrl else key
    elif key in _EDIT_KEYS:
        key = ("c-" if ctrl else "") + ("s-" if shift else "") + key
    elif key.startswith("f") and not shift:
        key = f"c-{key}" if ctrl else key
    elif key in ("c-i", "escape", "s-tab") and not ctrl:
        key = {"c-i": "s-tab", "escape": "s-escape"}.get(key, key) if shift else key
    elif mods - {"M"}:
        raise _bad_key(token, ": a terminal sends nothing different for that modifier")
    return ("escape", key) if "M" in mods else (key,)


_LABELS = {
    **{name: name.capitalize() for name in ("up", "down", "left", "right", "home", "end")},
    **{name: name.capitalize() for name in ("insert", "delete", "escape")},
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "c-m": "Enter",
    "c-i": "Tab",
    "s-tab": "BTab",
    "c-h": "BSpace",
    " ": "Space",
    "c-@": "C-Space",
}


def _label(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    if len(key) == 1:
        return key
    for prefix, shown in (("c-s-", "C-S-"), ("c-", "C-"), ("s-", "S-")):
        if key.startswith(prefix):
            return shown + _label(key[len(prefix) :])
    return key.upper()  # f1..f24


def key_label(keys: Keys) -> str:
    """How the help overlay shows a key, tmux-style: "C-b", "M-Up", "%", "Enter"."""
    if len(keys) == 2 and keys[0] == "escape":
        return "M-" + _label(keys[1])
    return " ".join(_label(key) for key in keys)
