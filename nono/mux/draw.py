"""Drawing the dashboard: one prompt_toolkit container that puts each pane's rows, its header
and the status bar on the screen as segments (render.py: one pre-rendered string each, made
again only when it changes), and the separators and overlays as cells.

Going through prompt_toolkit's Window/UIControl path would re-fragment every cell of every pane
on every frame (12-16 ms for four 200x50 panes, measured; docs/design.md). Rows of cells copied
into the screen cost ~4 ms a frame with a pane flooding; segments, well under one.

Where segments cannot be used (an overlay is drawn over the panes, or this prompt_toolkit's
renderer is not the one render.py was written for), the rows go in as cells.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from prompt_toolkit.data_structures import Point
from prompt_toolkit.layout.containers import Container, Window
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.layout.mouse_handlers import MouseHandlers
from prompt_toolkit.layout.screen import _CHAR_CACHE, Char, Screen, WritePosition
from prompt_toolkit.mouse_events import MouseEvent
from prompt_toolkit.output.color_depth import ColorDepth

from nono.mux import layout, render
from nono.mux.paint import PaintedRow, blit, fill, placed_row, put
from nono.mux.pane import Cells, Pane, row_cells, style_string
from nono.mux.prompts import Overlay, Prompt, overlay_box, text_width
from nono.mux.styles import (
    ACTIVITY_BORDER,
    BORDER,
    BORDER_FOCUS,
    BORDER_SYNC,
    DENIED_BORDER,
    EXITED_STYLE,
    MESSAGE,
    OVERLAY,
    OVERLAY_SELECTED,
    STATUS,
    STATUS_ALERT,
)
from nono.term.style import Style

if TYPE_CHECKING:
    from nono.mux.copymode import CopyMode


class View(Protocol):
    """What the Dashboard draws, read and never changed (the Mux's model.Model is one). The
    panes are placed before a frame (Model.relayout), never while it is drawn."""

    @property
    def panes(self) -> Mapping[str, Pane]: ...
    @property
    def tree(self) -> layout.Node | None: ...
    @property
    def rects(self) -> dict[str, layout.Rect] | None: ...  # None: too small for the layout
    @property
    def too_small(self) -> tuple[int, int]: ...  # the area the layout needs
    @property
    def focus(self) -> str | None: ...
    @property
    def zoomed(self) -> bool: ...
    @property
    def sync(self) -> bool: ...
    @property
    def copy_modes(self) -> Mapping[str, CopyMode]: ...
    @property
    def overlay(self) -> Overlay | None: ...
    @property
    def prompt(self) -> Prompt | None: ...
    @property
    def message(self) -> str: ...
    @property
    def message_alert(self) -> bool: ...
    def number(self, pane_id: str) -> int: ...
    def denied(self, session_id: str) -> int: ...  # connections its egress proxy refused
    def status_items(self) -> list[tuple[tuple[str, str], ...]]: ...  # each: styled runs
    def status_right(self) -> tuple[str, str] | None: ...


class Dashboard(Container):
    """Everything on screen, drawn from a View it only reads."""

    def __init__(
        self,
        view: View,
        focus_window: Window,
        on_mouse: Callable[[MouseEvent], object],
        color_depth: Callable[[], ColorDepth],
    ) -> None:
        self.view = view
        self.focus_window = focus_window
        self.on_mouse = on_mouse  # every cell's mouse handler
        self.color_depth = color_depth
        # pane id -> row -> ((row generation, x, width), the row's segment), and the same for
        # rows placed as cells (copied into the screen with dict.update, not cell by cell).
        self.segments: dict[str, dict[int, tuple[tuple[int, int, int], render.Segment]]] = {}
        self.placed: dict[str, dict[int, tuple[tuple[int, int, int], dict[int, Char]]]] = {}
        # (x, y) -> what a header or the status bar there shows, and its segment
        self.lines: dict[tuple[int, int], tuple[object, render.Segment]] = {}
        self.sgr: render.Sgr | None = None
        self._separators: tuple[object, list[layout.Separator]] = (None, [])
        self.badges: dict[str, tuple[object, str]] = {}  # pane id -> (its record, its badge)

    def reset(self) -> None:
        pass

    def preferred_width(self, max_available_width: int) -> Dimension:
        return Dimension()

    def preferred_height(self, width: int, max_available_height: int) -> Dimension:
        return Dimension()

    def get_children(self) -> list[Container]:
        # Never drawn: the window prompt_toolkit keeps focused (and places the cursor by).
        return [self.focus_window]

    def separators(self, tree: layout.Node, width: int, height: int) -> list[layout.Separator]:
        key = (tree, width, height)
        if self._separators[0] != key:
            self._separators = (key, layout.separators(tree, width, height))
        return self._separators[1]

    def write_to_screen(
        self,
        screen: Screen,
        mouse_handlers: MouseHandlers,
        write_position: WritePosition,
        parent_style: str,
        erase_bg: bool,
        z_index: int | None,
    ) -> None:
        view = self.view
        width, height = write_position.width, write_position.height
        # The renderer only diffs rows within screen.height; Windows grow it as they write.
        screen.width = max(screen.width, write_position.xpos + width)
        screen.height = max(screen.height, write_position.ypos + height)
        area_h = max(height - 1, 0)
        # Every cell's mouse handler is the dashboard's: set as the default, not cell by cell
        # (set_mouse_handler_for_range costs a millisecond a frame at 200x50).
        handler = self.on_mouse
        mouse_handlers.mouse_handlers = defaultdict(lambda: defaultdict(lambda: handler))
        screen.show_cursor = False
        rects = view.rects
        segments: dict[int, list[render.Segment]] | None = None
        if render.active() and view.overlay is None:
            depth = self.color_depth()
            if self.sgr is None or self.sgr.depth != depth:
                self.sgr = render.Sgr(depth)
                self.segments.clear()
                self.lines.clear()
            segments = screen.segments = defaultdict(list)  # type: ignore[attr-defined]
        if rects is None:
            need = view.too_small
            message = (f"too small for this layout: it needs {need[0]}x{need[1] + 1}; "
                       "zoom a pane, close panes or enlarge the terminal")  # fmt: skip
            for dy, line in enumerate(textwrap.wrap(message, max(width, 1))[:area_h]):
                put(screen, 0, dy, line, EXITED_STYLE, width)
        else:
            for pane_id, rect in rects.items():
                self.draw_pane(screen, segments, view.panes[pane_id], rect)
            for cache in (self.segments, self.placed):
                for gone in set(cache) - set(rects):
                    del cache[gone]
            if not view.zoomed and view.tree is not None:
                bar = _CHAR_CACHE["│", BORDER_SYNC if view.sync else BORDER]
                data = screen.data_buffer
                for sep in self.separators(view.tree, width, area_h):
                    if sep.x < width:
                        for dy in range(sep.length):
                            data[sep.y + dy][sep.x] = bar
        if view.overlay is not None:
            self.draw_overlay(screen, width, area_h)
        self.draw_status(screen, segments, width, height - 1)

    # ------------------------------------------------------------ panes

    def draw_pane(
        self,
        screen: Screen,
        segments: dict[int, list[render.Segment]] | None,
        pane: Pane,
        rect: layout.Rect,
    ) -> None:
        view = self.view
        content = rect.content
        copy = view.copy_modes.get(pane.id)
        if copy is not None:
            lines = [[(text, _pt_style(style)) for text, style in line] for line in copy.view()]
            if segments is not None and self.sgr is not None:
                x, w = content.x, content.width
                for dy in range(content.height):
                    runs = lines[dy] if dy < len(lines) else []
                    text, end = render.row_text(runs, [], w, self.sgr)
                    segments[content.y + dy].append((x, w, text, x + end))
            else:
                blit(screen, [row_cells(line, [], content.width) for line in lines], content)
        elif segments is not None:
            self.segment_pane(segments, pane, content)
        else:
            self.blit_pane(screen, pane, content)
        self.draw_header(screen, segments, pane, rect, copy)
        if pane.id != view.focus or view.overlay is not None or view.prompt is not None:
            return
        if copy is not None:
            x, y = copy.cursor
            visible = True
        else:
            x, y = pane.cursor
            visible = pane.cursor_visible and pane.state in ("running", "watching")
        if visible and x < content.width and y < content.height:
            screen.cursor_positions[self.focus_window] = Point(content.x + x, content.y + y)
            screen.show_cursor = True

    def badge(self, pane: Pane) -> str:
        """badge(), made again only when the pane's record is replaced (not every frame)."""
        hit = self.badges.get(pane.id)
        if hit is None or hit[0] is not pane.record:
            hit = self.badges[pane.id] = (pane.record, badge(pane))
        return hit[1]

    def segment_pane(
        self, segments: dict[int, list[render.Segment]], pane: Pane, rect: layout.Rect
    ) -> None:
        cache = self.segments.setdefault(pane.id, {})
        sgr = self.sgr
        assert sgr is not None
        x, width = rect.x, rect.width
        rows = len(pane.lines)
        for dy in range(rect.height):
            inside = dy < rows
            key = (pane.row_gen[dy] if inside else -1, x, width)
            hit = cache.get(dy)
            if hit is None or hit[0] != key:
                runs, styles = pane.lines[dy] if inside else ([], [])
                text, end = render.row_text(runs, styles, width, sgr)
                hit = cache[dy] = (key, (x, width, text, x + end))
            segments[rect.y + dy].append(hit[1])

    def blit_pane(self, screen: Screen, pane: Pane, rect: layout.Rect) -> None:
        cache = self.placed.setdefault(pane.id, {})
        data = screen.data_buffer
        blank_row: Cells = []
        rows = len(pane.lines)
        for dy in range(rect.height):
            inside = dy < rows
            key = (pane.row_gen[dy] if inside else -1, rect.x, rect.width)
            hit = cache.get(dy)
            if hit is None or hit[0] != key:
                cells = pane.cells(dy) if inside else blank_row
                hit = cache[dy] = (key, placed_row(cells, rect.x, rect.width))
            data[rect.y + dy].update(hit[1])

    def draw_header(
        self,
        screen: Screen,
        segments: dict[int, list[render.Segment]] | None,
        pane: Pane,
        rect: layout.Rect,
        copy: CopyMode | None,
    ) -> None:
        view = self.view
        focused = pane.id == view.focus
        style = BORDER_SYNC if view.sync else (BORDER_FOCUS if focused else BORDER)
        marks = ("!" if pane.bell else "") + ("#" if pane.activity and not pane.bell else "")
        label = f"{view.number(pane.id)}:{pane.record.name}{marks}"
        word = pane.status_word()
        denied = view.denied(pane.id)
        position = copy.position if copy is not None else None
        badge = self.badge(pane)

        def build() -> PaintedRow:
            line = PaintedRow(rect.width)
            line.add("─ ", style)
            line.add(label, style + (" reverse" if focused else ""))
            if word in ACTIVITY_BORDER:
                line.add(" ", style)
                line.add(f" {word} " if word == "waiting" else word, ACTIVITY_BORDER[word])
            elif word != "running":
                line.add(f" {word}", EXITED_STYLE)
                if pane.problem:
                    line.add(f": {pane.problem}", EXITED_STYLE)
            if denied:  # kept as short as the state word: the egress view has the rest
                line.add(" ", style)
                line.add(f"net✗{denied}", DENIED_BORDER)
            if view.zoomed:
                line.add(" [zoom]", style)
            if view.sync:
                line.add(" [sync]", BORDER_SYNC)
            line.add(" ─ " + badge, style)
            if pane.shown_title:
                line.add(f" ─ {pane.shown_title}", style)
            if position is not None:
                tag = f" [{position[0]}/{position[1]}] "
                line.pad(max(rect.width - text_width(tag) - 1, line.x), "─", style)
                line.add(tag, MESSAGE)
            line.pad(rect.width, "─", style)
            return line

        key = (style, focused, label, word, pane.problem, denied, view.zoomed, view.sync, badge,
               pane.shown_title, position)  # fmt: skip
        self.put_line(screen, segments, rect.x, rect.y, rect.width, key, build)

    def put_line(
        self,
        screen: Screen,
        segments: dict[int, list[render.Segment]] | None,
        x: int,
        y: int,
        width: int,
        key: object,
        build: Callable[[], PaintedRow],
    ) -> None:
        """A composed line as a segment, composed again only when `key` (what it shows)
        changes; or as cells."""
        if segments is None or self.sgr is None:
            limit = x + width
            for text, style in build().runs:
                x = put(screen, x, y, text, style, limit)
            return
        full_key = (width, key)
        hit = self.lines.get((x, y))
        if hit is None or hit[0] != full_key:
            if len(self.lines) > 512:
                self.lines.clear()  # places left behind by layouts gone
            text, end = render.row_text(build().runs, [], width, self.sgr)
            hit = self.lines[x, y] = (full_key, (x, width, text, x + end))
        segments[y].append(hit[1])

    # ------------------------------------------------------------ overlay, status

    def draw_overlay(self, screen: Screen, width: int, height: int) -> None:
        overlay = self.view.overlay
        assert overlay is not None
        lines = overlay.lines
        box = overlay_box(overlay, width, height)
        if box is None:
            return
        x0, y0, box_w, box_h = box
        heading = overlay.heading
        inner = box_h - 2 - bool(heading)
        top = overlay.top
        for dy in range(box_h):
            fill(screen, x0, y0 + dy, box_w, " ", OVERLAY)
        put(screen, x0 + 1, y0, f" {overlay.title} ", OVERLAY + " bold", x0 + box_w)
        if heading:
            put(screen, x0 + 2, y0 + 1, heading, OVERLAY + " underline", x0 + box_w - 1)
        y1 = y0 + 1 + bool(heading)
        for i in range(inner):
            index = top + i
            if index >= len(lines):
                break
            if index == overlay.selected:
                style = OVERLAY_SELECTED
            else:
                style = overlay.line_style(index) or OVERLAY
            fill(screen, x0 + 1, y1 + i, box_w - 2, " ", style)
            put(screen, x0 + 2, y1 + i, lines[index], style, x0 + box_w - 1)
        foot = overlay.footer
        put(screen, x0 + 1, y0 + box_h - 1, foot, OVERLAY, x0 + box_w)

    def draw_status(
        self, screen: Screen, segments: dict[int, list[render.Segment]] | None, width: int, y: int
    ) -> None:
        view = self.view
        if y < 0:
            return
        prompt = view.prompt
        if prompt is not None:
            label, text = prompt.label, prompt.text
            x = min(text_width(label) + text_width(text), width - 1)
            screen.cursor_positions[self.focus_window] = Point(x, y)
            screen.show_cursor = True
            key: object = ("prompt", label, text, prompt.problem)
        elif view.message:
            key = ("message", view.message, view.message_alert)
        else:
            items = view.status_items()
            right = view.status_right()
            key = ("status", tuple(items), right)

        def build() -> PaintedRow:
            line = PaintedRow(width)
            if prompt is not None:
                line.add(prompt.label, STATUS + " bold")
                line.add(prompt.text, STATUS)
                if prompt.problem:
                    line.add("  ", STATUS)
                    line.add(prompt.problem, STATUS_ALERT)
                line.pad(width, " ", STATUS)
            elif view.message:
                # Like tmux's display-message: the message takes the whole line for a while.
                style = STATUS_ALERT if view.message_alert else MESSAGE
                line.add(view.message, style)
                line.pad(width, " ", style)
            else:
                line.add("[nono] ", STATUS + " bold")
                for runs in items:
                    if line.x + sum(text_width(text) for text, _ in runs) + 1 > width:
                        line.add("…", STATUS)
                        break
                    for text, style in runs:
                        line.add(text, style)
                    line.add(" ", STATUS)
                if right:
                    text, style = right
                    line.pad(max(line.x + 1, width - text_width(text)), " ", STATUS)
                    line.add(text, style)
                line.pad(width, " ", STATUS)
            return line

        self.put_line(screen, segments, 0, y, width, key, build)


@lru_cache(maxsize=4096)
def _pt_style(style: Style) -> str:
    return style_string(style)


def badge(pane: Pane) -> str:
    """The pane's sandbox at a glance: command, profile, writable roots, network."""
    record = pane.record
    command = command_label(record.command)
    # The baseline's scratch places (/tmp, /dev/shm, ...) are every session's; not worth a badge.
    writable = [w for w in record.sandbox.get("writable") or [] if not _scratch(w)]
    home = _home()
    roots = ",".join(_short(w, home) for w in writable[:2]) + ("…" if len(writable) > 2 else "")
    net = "off" if record.network == "blocked" else "on"
    return f"{command} · {record.profile or 'default'} · rw:{roots or '-'} · net:{net}"


def command_label(command: Sequence[str], width: int = 24) -> str:
    """A command as tmux's pane_current_command names it (the program's file name, not the
    path it was found at: `claude`, not `…/node_modules/.bin/claude`), with its arguments as
    far as they fit in `width`."""
    if not command:
        return "?"
    name = command[0].rstrip("/").rpartition("/")[2] or command[0]
    text = " ".join((name, *command[1:]))
    if len(text) <= width:
        return text
    return text[: max(width - 1, len(name) + 1)] + "…"


def _scratch(path: str) -> bool:
    return path in ("/tmp", "/var/tmp") or path.startswith(("/dev", "/proc", "/run", "/sys"))


def _home() -> str:
    import os

    return os.path.expanduser("~")


def _short(path: str, home: str) -> str:
    if path == home or path.startswith(home + "/"):
        return "~" + path[len(home) :]
    return path


__all__ = ["Dashboard", "badge", "command_label", "style_string"]
