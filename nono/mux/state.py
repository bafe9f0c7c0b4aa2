"""The dashboard's saved state: the layout a person left, restored by the next `nono mux`, and
the layout tree's JSON form."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nono import paths
from nono.mux import presets
from nono.mux.layout import Leaf, Node, Split


@dataclass(frozen=True)
class Saved:
    tree: Node | None
    focus: str | None = None
    zoomed: bool = False
    preset: str | None = None


def layout_path() -> Path:
    return paths.ensure_private_dir(paths.state_dir()) / "mux-layout.json"


def load(path: Path | None = None) -> tuple[Saved | None, str | None]:
    """The saved layout, or None; and a problem to show. A file that cannot be read is moved
    aside (kept, never deleted) so the next save does not overwrite what the person had."""
    path = path or layout_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read the saved layout {path}: {exc.strerror}"
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("not a version 1 layout")
        tree = from_json(data["tree"]) if data.get("tree") is not None else None
        focus = data.get("focus")
        if focus is not None and not isinstance(focus, str):
            raise ValueError("focus must be a session id")
        preset = data.get("preset")
        if preset is not None and preset not in presets.PRESETS:
            raise ValueError(f"unknown preset {preset!r}")
        return Saved(tree, focus, bool(data.get("zoomed")), preset), None
    except (ValueError, KeyError, TypeError) as exc:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            path.rename(aside)
        except OSError:
            aside = path
        return None, f"the saved layout {path} is corrupt ({exc}); kept as {aside}, tiling instead"


def save(saved: Saved, path: Path | None = None) -> None:
    data: dict[str, Any] = {
        "version": 1,
        "tree": to_json(saved.tree) if saved.tree is not None else None,
        "focus": saved.focus,
        "zoomed": saved.zoomed,
        "preset": saved.preset,
    }
    paths.write_atomic(path or layout_path(), json.dumps(data, indent=1).encode())


# ---------------------------------------------------------------- the tree as JSON


def to_json(tree: Node) -> dict[str, Any]:
    """{"pane": id} or {"horizontal": bool, "children": [...], "weights": [int, ...]}."""
    if isinstance(tree, Leaf):
        return {"pane": tree.pane}
    return {
        "horizontal": tree.horizontal,
        "children": [to_json(child) for child in tree.children],
        "weights": list(tree.weights),
    }


_SPLIT_KEYS = {"horizontal", "children", "weights"}


def from_json(data: Any) -> Node:
    """The tree `to_json` wrote; ValueError naming the first malformed place."""
    seen: set[str] = set()
    return _parse(data, "layout", seen)


def _parse(data: Any, where: str, seen: set[str]) -> Node:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    expected = {"pane"} if "pane" in data else _SPLIT_KEYS
    if unknown := sorted(set(data) - expected, key=str):
        raise ValueError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    if missing := sorted(expected - set(data)):
        raise ValueError(f"{where}: missing key(s) {', '.join(map(repr, missing))}")
    if expected == {"pane"}:
        pane = data["pane"]
        if not isinstance(pane, str) or not pane:
            raise ValueError(f"{where}.pane: expected a non-empty string, got {pane!r}")
        if pane in seen:
            raise ValueError(f"{where}.pane: pane {pane!r} appears twice")
        seen.add(pane)
        return Leaf(pane)
    horizontal, children, weights = data["horizontal"], data["children"], data["weights"]
    if not isinstance(horizontal, bool):
        raise ValueError(f"{where}.horizontal: expected true or false, got {horizontal!r}")
    if not isinstance(children, list) or len(children) < 2:
        raise ValueError(f"{where}.children: expected a list of at least 2 nodes")
    if not isinstance(weights, list) or len(weights) != len(children):
        raise ValueError(f"{where}.weights: expected a list of {len(children)} integers")
    for i, weight in enumerate(weights):
        if type(weight) is not int or weight <= 0:
            raise ValueError(f"{where}.weights[{i}]: expected a positive integer, got {weight!r}")
    kids = tuple(_parse(c, f"{where}.children[{i}]", seen) for i, c in enumerate(children))
    return Split(horizontal, kids, tuple(weights))
