"""The terminal model (pyte screen, scrollback, changed rows, text and ANSI output, modes): pure,
bytes in and screen out, knowing nothing of processes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import TerminalModel
    from .modes import Modes
    from .style import Color, Style

__all__ = ["Color", "Modes", "Style", "TerminalModel"]
_HOMES = {"TerminalModel": "model", "Modes": "modes", "Color": "style", "Style": "style"}


def __getattr__(name: str) -> Any:
    # Imported on first use: the dashboard needs nono.term.style, not the model and pyte
    # (~30 ms of `nono mux`'s start).
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
