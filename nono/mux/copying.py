"""Copy mode as the dashboard uses it: entering it over a pane's history (fetched from its
supervisor), passing it copy-mode actions, and where copied text goes (the paste buffer, and
the outer terminal's clipboard through OSC 52). The mode itself is copymode.py's."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from typing import Any

from nono.mux.model import Model
from nono.mux.pane import Pane, decode_history
from nono.term.style import DEFAULT

HISTORY_LINES = 10_000


class Copying:
    def __init__(self, model: Model, write_raw: Callable[[str], None]) -> None:
        self.model = model
        self.write_raw = write_raw  # bytes for the outer terminal, written now

    def enter(self, from_wheel: bool, scroll: int = 0) -> None:
        model = self.model
        pane = model.panes.get(model.focus or "")
        if pane is None or pane.id in model.copy_modes:
            return
        cols, rows = model.sizes.get(pane.id, (pane.cols, pane.rows))
        if pane.state not in ("running", "watching"):
            # The supervisor is gone: copy mode over what the pane shows.
            lines = [
                [(c.char, DEFAULT) for c in row if c is not None] for row in pane.materialize()
            ]
            self._open(pane, lines, cols, rows, from_wheel, scroll)
            return

        async def fetch() -> None:
            try:
                response = await pane.request("history", lines=HISTORY_LINES)
            except (OSError, TimeoutError) as exc:
                model.say(f"copy mode: {exc}", alert=True)
                return
            lines, _ = decode_history(response)
            self._open(pane, lines, cols, rows, from_wheel, scroll)

        model.spawn(fetch())

    def _open(
        self, pane: Pane, lines: list[Any], cols: int, rows: int, from_wheel: bool, scroll: int
    ) -> None:
        from nono.mux.copymode import CopyMode  # on first use: a tenth of the dashboard's start

        x, y = pane.cursor
        copy = CopyMode(lines, cols, rows, cursor=(x, y), from_wheel=from_wheel)
        self.model.copy_modes[pane.id] = copy
        if scroll:
            copy.act("scroll-up", scroll)
        self.model.invalidate()

    def act(self, action: str, count: int = 1) -> None:
        model = self.model
        copy = model.copy_modes.get(model.focus or "")
        if copy is None:
            return
        result = copy.act(action, count)
        if result.prompt:
            backward = result.prompt == "search-backward"

            def search(text: str) -> None:
                if text and not copy.search(text, backward):
                    model.say(f"not found: {text}", alert=True)

            model.ask("search up: " if backward else "search down: ", search)
        if result.copied:
            self.copy_text(result.copied)
        if result.exit:
            model.copy_modes.pop(model.focus or "", None)

    def copy_text(self, text: str) -> None:
        """Into the paste buffer, and the system clipboard through OSC 52."""
        buffers = self.model.buffers
        buffers.append(text)
        del buffers[:-50]
        encoded = base64.b64encode(text.encode()).decode()
        with contextlib.suppress(Exception):
            self.write_raw(f"\x1b]52;c;{encoded}\x07")
        self.model.say(f"copied {len(text)} characters")

    def paste_buffer(self) -> None:
        if not self.model.buffers:
            self.model.say("the paste buffer is empty", alert=True)
            return
        self.model.paste(self.model.buffers[-1])
