"""The dashboard's two small interactions: a one-line prompt in the status bar (tmux's
command prompt) and a list overlay (help, choosing a session)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from wcwidth import wcswidth

OVERLAY_PAGE = 10  # lines a PageUp moves when the overlay has no room to show


class Prompt:
    """A line editor in the status bar. `key` returns None while editing, the text on Enter
    (or on any key for a single-key question), False when cancelled.

    With `check`, Enter first asks it about the text: a problem it names stays on the line
    beside the text, which stays for a new answer (nothing typed is lost)."""

    def __init__(
        self,
        label: str,
        initial: str,
        done: Callable[[str], Any],
        single_key: bool = False,
        check: Callable[[str], str | None] | None = None,
        problem: str = "",
    ) -> None:
        self.label = label
        self.text = initial
        self.done = done
        self.single_key = single_key
        self.check = check
        self.problem = problem  # what is wrong with the last answer given, if anything

    def key(self, key: str, data: str) -> str | Literal[False] | None:
        if key in ("escape", "c-c", "c-g"):
            return False
        if self.single_key:
            return data
        if key in ("c-m", "c-j"):
            problem = self.check(self.text) if self.check is not None else None
            if problem:
                self.problem = problem
                return None
            return self.text
        if key == "c-h":
            self.text = self.text[:-1]
        elif key == "c-u":
            self.text = ""
        elif key == "c-w":
            self.text = self.text.rstrip()
            cut = self.text.rfind(" ")
            self.text = self.text[: cut + 1] if cut >= 0 else ""
        elif len(data) == 1 and data.isprintable():
            self.text += data
        return None


class Overlay:
    """A list over the panes: scrolls, and with `on_choose`, picks one line.

    A subclass may fill the whole area (`full_screen`), keep a line of column names above the
    list (`heading`) and colour single lines (`line_style`): the chooser and the review do."""

    full_screen = False
    heading = ""

    def __init__(
        self,
        title: str,
        lines: list[str],
        on_choose: Callable[[int], Any] | None,
        footer: str = "",
    ) -> None:
        self.title = title
        self.lines = lines
        self.on_choose = on_choose
        self.footer = footer
        self.selected = 0 if on_choose is not None else -1
        self.top = 0
        self.chosen: int | None = None

    def key(self, key: str, page: int) -> bool:
        """Handle a key, `page` lines being shown; True when the overlay is done."""
        if key in ("escape", "q", "c-c", "c-g"):
            return True
        if key in ("c-m", "c-j") and self.on_choose is not None:
            self.chosen = self.selected
            return True
        step = {"up": -1, "k": -1, "down": 1, "j": 1, "pageup": -page,
                "pagedown": page, "home": -len(self.lines),
                "end": len(self.lines)}.get(key)  # fmt: skip
        if step is None:
            return False
        last = max(len(self.lines) - 1, 0)
        if self.on_choose is not None:
            self.selected = min(max(self.selected + step, 0), last)
            if self.selected < self.top:
                self.top = self.selected
            elif self.selected >= self.top + page:
                self.top = self.selected - page + 1
        else:
            self.top = min(max(self.top + step, 0), max(len(self.lines) - page, 0))
        return False

    def registry_changed(self) -> None:
        """A session started, changed state or ended while the overlay is up."""

    def line_style(self, index: int) -> str | None:
        """The style of line `index` when it is not the selected one (None: the overlay's)."""
        return None


def text_width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def overlay_box(overlay: Overlay, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Where the overlay goes in a `width` x `height` area: (x, y, width, height) of its box,
    its lines shown in all but the top and bottom rows; None when there is no room for it."""
    if overlay.full_screen:
        return (0, 0, width, height) if width >= 4 and height >= 3 + bool(overlay.heading) else None
    widest = max([text_width(overlay.title)] + [text_width(s) for s in overlay.lines])
    box_w = min(width - 2, widest + 4)
    box_h = min(height - 2, len(overlay.lines) + 2)
    if box_w < 4 or box_h < 3:
        return None
    return (width - box_w) // 2, (height - box_h) // 2, box_w, box_h


def overlay_page(overlay: Overlay, width: int, height: int) -> int:
    """How many of the overlay's lines show at once (what PageUp and PageDown move by)."""
    box = overlay_box(overlay, width, height)
    return box[3] - 2 - bool(overlay.heading) if box is not None else OVERLAY_PAGE
