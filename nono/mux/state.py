"""The dashboard's saved state: the layout a person left, restored by the next `nono mux`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nono import paths
from nono.mux import layout, presets
from nono.mux.layout import Node


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
        tree = layout.from_json(data["tree"]) if data.get("tree") is not None else None
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
        "tree": layout.to_json(saved.tree) if saved.tree is not None else None,
        "focus": saved.focus,
        "zoomed": saved.zoomed,
        "preset": saved.preset,
    }
    paths.write_atomic(path or layout_path(), json.dumps(data, indent=1).encode())
