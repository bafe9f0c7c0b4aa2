"""prompt_toolkit's names for a key (keys.Key -> ("c-b",), ("escape", "up")), and back, for the
labels of the help overlay and the status line. The grammar itself is nono/keys.py's."""

from __future__ import annotations

from nono.errors import NonoError
from nono.keys import VALID_KEY_FORMS, Key, format_key, parse_key

Keys = tuple[str, ...]
"""One key as prompt_toolkit's KeyPress.key values: ("c-b",), or ("escape", "x") for M-x."""

# Keys prompt_toolkit knows with c-, s- and c-s- in front.
_EDIT_KEYS = {name: name.lower() for name in ("Up", "Down", "Left", "Right", "Home", "End")}
_EDIT_KEYS |= {"Insert": "insert", "Delete": "delete", "PageUp": "pageup", "PageDown": "pagedown"}
_FUNCTION_KEYS = {f"F{n}": f"f{n}" for n in range(1, 25)}
# prompt_toolkit cannot tell these from their control keys: the terminal sends the same byte.
_PLAIN = {"Enter": "c-m", "Tab": "c-i", "BSpace": "c-h", "Escape": "escape", "BTab": "s-tab"}
_SHIFTED = {"Tab": "s-tab", "Escape": "s-escape", "BTab": "s-tab"}


def _refused(why: str) -> NonoError:
    return NonoError(why, f"valid keys: {VALID_KEY_FORMS}")


def _ctrl(char: str) -> str:
    # ASCII only: the Kelvin sign lower-cases to "k" but is no ctrl-k.
    if "a" <= char <= "z" or "A" <= char <= "Z" or char in "\\]^_" or "0" <= char <= "9":
        return f"c-{char.lower()}"
    if char in "@ ":
        return "c-@"
    if char == "[":
        return "escape"  # C-[ is the ESC byte itself
    raise _refused(f"a terminal sends nothing for ctrl-{char}")


def presses(key: Key) -> Keys:
    """The prompt_toolkit keys a terminal's bytes for `key` are read as: C-b -> ("c-b",),
    M-Up -> ("escape", "up"). Raises NonoError for a key prompt_toolkit cannot tell apart."""
    name = key.name
    if len(name) == 1:
        if key.shift:
            raise _refused("write the shifted character itself (A, not S-a)")
        if not name.isprintable():
            raise _refused("a keymap binds printable characters and named keys")
        press = _ctrl(name) if key.ctrl else name
    elif name in _EDIT_KEYS:
        press = ("c-" if key.ctrl else "") + ("s-" if key.shift else "") + _EDIT_KEYS[name]
    elif name in _FUNCTION_KEYS and not key.shift:
        press = ("c-" if key.ctrl else "") + _FUNCTION_KEYS[name]
    elif name in _PLAIN and not key.ctrl and not key.shift:
        press = _PLAIN[name]
    elif name in _SHIFTED and not key.ctrl:
        press = _SHIFTED[name]
    elif name in _PLAIN or name in _FUNCTION_KEYS:
        raise _refused("a terminal sends nothing different for that modifier")
    else:
        raise _refused("the dashboard cannot tell the keypad's keys from the others")
    return ("escape", press) if key.meta else (press,)


def token_presses(token: str) -> Keys:
    """The prompt_toolkit keys of one key as written in a keymap, e.g. `ctrl-b`, `C-b` or `^b`
    -> ("c-b",). Every failure is an "unknown key" error naming the token."""
    key = parse_key(token)
    try:
        return presses(key)
    except NonoError as exc:
        raise NonoError(f"unknown key {token!r}: {exc.message}", exc.hint) from None


# The inverse of presses(), for labels: the key a person most likely pressed.
_FROM_PRESS: dict[str, Key] = {
    **{press: Key(name) for name, press in (*_EDIT_KEYS.items(), *_FUNCTION_KEYS.items())},
    **{press: Key(name) for name, press in _PLAIN.items()},
    "s-escape": Key("Escape", shift=True),
    "c-@": Key(" ", ctrl=True),
}


def key_of(keys: Keys) -> Key:
    """The key that prompt_toolkit's `keys` stand for: ("escape", "up") -> M-Up."""
    if len(keys) == 2 and keys[0] == "escape":
        return key_of(keys[1:])._replace(meta=True)
    press = " ".join(keys)  # never more than one key once valid; kept whole otherwise
    if press in _FROM_PRESS or len(press) == 1:
        return _FROM_PRESS.get(press) or Key(press)
    ctrl, shift = press.startswith("c-"), press.startswith(("s-", "c-s-"))
    base = press.removeprefix("c-").removeprefix("s-")
    if base in _FROM_PRESS:
        return _FROM_PRESS[base]._replace(ctrl=ctrl, shift=shift)
    return Key(base, ctrl=ctrl, shift=shift)


def key_label(keys: Keys) -> str:
    """How the help overlay shows a key, tmux-style: "C-b", "M-Up", "%", "Enter"."""
    return format_key(key_of(keys))
