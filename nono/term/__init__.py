"""The terminal model (pyte screen, scrollback, changed rows, text and ANSI output, modes): pure,
bytes in and screen out, knowing nothing of processes."""

from .model import TerminalModel
from .modes import Modes
from .style import Color, Style

__all__ = ["Color", "Modes", "Style", "TerminalModel"]
