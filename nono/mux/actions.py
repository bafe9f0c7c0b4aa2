"""Every action of the dashboard, once: its name, the table a keymap may bind it in, its help
line and what it does. Keymaps check names against this registry, the help overlay reads its
help, and the dashboard runs an action only through it (as prompt_toolkit's `named_commands`).

An action added is one `_register` call here; a keymap file can bind it as soon as it exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from nono.keys import Key, KeyCodeError, encode_key
from nono.mux import presets, waiting

if TYPE_CHECKING:
    from prompt_toolkit.application import Application

    from nono.mux.copying import Copying
    from nono.mux.model import Model
    from nono.mux.sessions import Sessions

PANES = "panes"  # the actions of `bindings:` and `root:` in a keymap
COPY = "copy-mode"  # the actions of `copy-mode:`


class Keys(Protocol):
    """What actions need of the keymap (keymap.Keymap; named here because a keymap's loading
    checks its action names against this module)."""

    @property
    def name(self) -> str: ...
    @property
    def prefix_key(self) -> Key: ...
    @property
    def prefix_label(self) -> str: ...
    def describe(self) -> list[tuple[str, str, str, str]]: ...


@dataclass(frozen=True)
class Parts:
    """What an action works on: the dashboard's state and the objects that act on it."""

    model: Model
    sessions: Sessions
    copying: Copying
    app: Application[None]
    keymap: Keys


@dataclass(frozen=True)
class Action:
    name: str
    vocabulary: str  # PANES or COPY: which keymap tables may bind it
    help: str
    handler: Callable[[Parts, str], None]  # called with the parts and `arg`
    arg: str = ""  # what a family of actions (focus-*, resize-*, layout-*) passes its handler


_REGISTRY: dict[str, Action] = {}
ACTIONS = MappingProxyType(_REGISTRY)
"""name -> Action, in the order the help overlay lists them."""


def _register(
    name: str, vocabulary: str, help: str, handler: Callable[[Parts, str], None], arg: str = ""
) -> None:
    assert name not in _REGISTRY or name == "none", name
    _REGISTRY[name] = Action(name, vocabulary, help, handler, arg)


def names(vocabulary: str) -> dict[str, str]:
    """name -> help of every action a table of this vocabulary may bind ("none" included)."""
    found = {a.name: a.help for a in _REGISTRY.values() if a.vocabulary == vocabulary}
    found["none"] = NONE_HELP
    return found


def run(parts: Parts, name: str) -> None:
    """Do action `name`. Every name a keymap holds is registered (the keymap checks it)."""
    action = _REGISTRY.get(name)
    if action is None:
        parts.model.say(f"{name} is not available", alert=True)
        return
    action.handler(parts, action.arg)


def all_actions() -> Iterator[Action]:
    return iter(_REGISTRY.values())


# ---------------------------------------------------------------- handlers


def _detach(p: Parts, _: str) -> None:
    p.model.detaching = True
    p.model.save()
    p.app.exit()


def _send_prefix(p: Parts, _: str) -> None:
    try:
        data = encode_key(p.keymap.prefix_key)
    except KeyCodeError as exc:
        p.model.say(f"the prefix cannot be sent: {exc.message}", alert=True)
        return
    p.model.type_text(data.decode())


def _redraw(p: Parts, _: str) -> None:
    p.app.renderer.clear()
    p.model.invalidate()


def _help(p: Parts, _: str) -> None:
    from nono.mux.prompts import Overlay

    keymap = p.keymap
    lines = []
    where = {"bindings": keymap.prefix_label + " ", "root": "", "copy-mode": "copy: "}
    for table, label, action, description in keymap.describe():
        lines.append(f"{where[table]}{label:<10} {action:<24} {description}")
    p.model.overlay = Overlay(f"keys ({keymap.name})", lines, on_choose=None,
                              footer=" q/Esc close, arrows scroll ")  # fmt: skip


def _synchronize(p: Parts, _: str) -> None:
    model = p.model
    model.sync = not model.sync
    model.say("typing goes to every pane" if model.sync else "synchronize off", alert=model.sync)


def _choose_session(p: Parts, _: str) -> None:
    from nono.mux import chooser  # imported on first use, as the overlay it opens

    chooser.choose(p.model, p.sessions)


def _review_turn(p: Parts, _: str) -> None:
    from nono.mux import review

    review.open_review(p.model)


def _egress_view(p: Parts, _: str) -> None:
    from nono.mux import egress_view

    egress_view.open_egress(p.model)


def _none(p: Parts, _: str) -> None:
    pass


NONE_HELP = "Unbound: removes a binding in an override file"

# fmt: off
_register("detach", PANES, "Leave the multiplexer; every session keeps running", _detach)
_register("split-right", PANES, "Split: a new pane beside the focused one",
          lambda p, _: p.sessions.split(horizontal=True))
_register("split-down", PANES, "Split: a new pane below the focused one",
          lambda p, _: p.sessions.split(horizontal=False))
_register("attach-session", PANES, "Put an existing session into a new pane",
          lambda p, _: p.sessions.attach())
_register("choose-session", PANES,
          "Choose a session (waiting ones first): open it in a pane or swap it in",
          _choose_session)
_register("review-turn", PANES,
          "Review the focused session's changes: diffs; restore a file, the last turn, or all",
          _review_turn)
_register("egress-view", PANES,
          "The focused session's connections, denials first: allow a host, or add it to the "
          "profile", _egress_view)
for _where, _help_text in (
    ("left", "Focus the pane on the left"), ("right", "Focus the pane on the right"),
    ("up", "Focus the pane above"), ("down", "Focus the pane below"),
    ("next", "Focus the next pane"), ("prev", "Focus the previous pane"),
    ("last", "Focus the pane focused before this one"),
):
    _register(f"focus-{_where}", PANES, _help_text, lambda p, arg: p.model.focus_to(arg), _where)
_register("zoom", PANES, "Zoom the focused pane to the whole screen, or back",
          lambda p, _: p.model.toggle_zoom())
for _cells in (1, 5):
    for _direction in ("left", "right", "up", "down"):
        _arg = _direction if _cells == 1 else f"{_direction}-{_cells}"
        _register(f"resize-{_arg}", PANES,
                  f"Move the pane's edge {_direction} by {_cells} cell{'s' * (_cells > 1)}",
                  lambda p, arg: p.model.resize_to(arg), _arg)
_register("next-layout", PANES, "Arrange the panes in the next layout",
          lambda p, _: p.model.layout_to(presets.next_preset(p.model.preset)))
for _name, _help_text in (
    ("tiled", "Layout: panes tiled in a grid"),
    ("even-horizontal", "Layout: panes side by side, equal widths"),
    ("even-vertical", "Layout: panes stacked, equal heights"),
    ("main-vertical", "Layout: a big pane on the left, the others stacked beside it"),
    ("main-horizontal", "Layout: a big pane on top, the others side by side below"),
):
    _register(f"layout-{_name}", PANES, _help_text, lambda p, arg: p.model.layout_to(arg), _name)
_register("close-pane", PANES, "Close the pane; its session keeps running, detached",
          lambda p, _: p.sessions.close_pane())
_register("stop-session", PANES, "Stop the focused pane's session (asks first)",
          lambda p, _: p.sessions.stop())
_register("restart-session", PANES, "Restart the focused pane's session",
          lambda p, _: p.sessions.restart())
_register("copy-mode", PANES, "Copy mode: scroll back, search, select and copy",
          lambda p, _: p.copying.enter(from_wheel=False))
_register("paste-buffer", PANES, "Paste the last copied text into the focused pane",
          lambda p, _: p.copying.paste_buffer())
_register("help", PANES, "Show the key bindings", _help)
_register("synchronize", PANES, "Type into every pane at once, or stop doing so", _synchronize)
_register("send-prefix", PANES, "Send the prefix key to the focused pane", _send_prefix)
_register("redraw", PANES, "Redraw the screen", _redraw)
_register("next-session", PANES, "Show the next session not on screen in the focused pane",
          lambda p, _: p.sessions.next_session())
_register("next-waiting", PANES, "Focus the session waiting longest for you; again: the next",
          lambda p, _: waiting.next_waiting(p.model, p.sessions))

# Copy mode's commands: CopyMode.act (copymode.py) does each, by this name.
for _name, _help_text in (
    ("copy-cancel", "Leave copy mode"),
    ("copy-up", "Cursor up"),
    ("copy-down", "Cursor down"),
    ("copy-left", "Cursor left"),
    ("copy-right", "Cursor right"),
    ("copy-page-up", "Scroll up a page"),
    ("copy-page-down", "Scroll down a page"),
    ("copy-half-page-up", "Scroll up half a page"),
    ("copy-half-page-down", "Scroll down half a page"),
    ("copy-top", "Go to the oldest line of the history"),
    ("copy-bottom", "Go to the newest line"),
    ("copy-line-start", "Go to the start of the line"),
    ("copy-line-end", "Go to the end of the line"),
    ("copy-word-next", "Go to the next word"),
    ("copy-word-prev", "Go to the previous word"),
    ("copy-word-end", "Go to the end of the word"),
    ("copy-search-backward", "Search up (older lines)"),
    ("copy-search-forward", "Search down (newer lines)"),
    ("copy-search-next", "Repeat the search"),
    ("copy-search-prev", "Repeat the search the other way"),
    ("copy-begin-selection", "Start selecting at the cursor"),
    ("copy-clear-selection", "Drop the selection"),
    ("copy-select-line", "Select whole lines"),
    ("copy-copy", "Copy the selection and leave copy mode"),
):
    _register(_name, COPY, _help_text, lambda p, arg: p.copying.act(arg), _name)
# fmt: on

# "none" unbinds a key in an override file; it is in every vocabulary and does nothing.
_register("none", PANES, NONE_HELP, _none)
del _where, _help_text, _cells, _direction, _arg, _name
