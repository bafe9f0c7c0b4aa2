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
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from prompt_toolkit.data_structures import Point
from prompt_toolkit.layout.containers import Container, Window
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.layout.mouse_handlers import MouseHandlers
from prompt_toolkit.layout.screen import _CHAR_CACHE, Char, Screen, WritePosition
from wcwidth import wcswidth

from nono.mux import layout, render
from nono.mux.pane import Cells, Pane, row_cells, style_string
from nono.term.style import Style

if TYPE_CHECKING:
    from nono.mux.app import Mux

BORDER = "fg:ansibrightblack"
BORDER_FOCUS = "fg:ansigreen bold"
BORDER_SYNC = "fg:ansired bold"
STATUS = "bg:ansigreen fg:ansiblack"
STATUS_FOCUS = "bg:ansigreen fg:ansiblack bold reverse"
STATUS_ALERT = "bg:ansired fg:ansiwhite bold"
EXITED = "fg:ansired bold"
MESSAGE = "bg:ansiyellow fg:ansiblack"
OVERLAY = "bg:ansiblack fg:ansiwhite"
OVERLAY_SELECTED = "bg:ansiwhite fg:ansiblack"


def text_width(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def put(screen: Screen, x: int, y: int, text: str, style: str, limit: int) -> int:
    """Write `text` from column x, stopping before column `limit`; returns the next column."""
    row = screen.data_buffer[y]
    for ch in text:
        char = _CHAR_CACHE[ch, style]
        width = char.width
        if x + width > limit:
            break
        row[x] = char
        x += max(width, 1)
    return x


def fill(screen: Screen, x: int, y: int, width: int, char: str, style: str) -> None:
    row = screen.data_buffer[y]
    cell = _CHAR_CACHE[char, style]
    for col in range(x, x + width):
        row[col] = cell


def placed_row(cells: Cells, x0: int, width: int) -> dict[int, Char]:
    """One row's cells keyed by screen column, cut to `width`: what blit copies. Plain blanks
    are left out: the screen's default is a blank, and the renderer's diff walks every cell
    a row holds, so a mostly empty pane costs little to draw."""
    blank = _CHAR_CACHE[" ", ""]
    row = {
        x0 + dx: cell
        for dx, cell in enumerate(cells[:width])
        if cell is not blank and cell is not None
    }
    edge = row.get(x0 + width - 1)
    if edge is not None and edge.width == 2:
        del row[x0 + width - 1]  # a wide character cut by the pane's edge
    return row


def blit(screen: Screen, rows: list[Cells], rect: layout.Rect) -> None:
    """Copy cached rows into the rectangle (cut or padded to it)."""
    blank = _CHAR_CACHE[" ", ""]
    data = screen.data_buffer
    for dy in range(rect.height):
        row = data[rect.y + dy]
        cells = rows[dy] if dy < len(rows) else ()
        x = rect.x
        for dx in range(rect.width):
            cell = cells[dx] if dx < len(cells) else blank
            if cell is None:
                continue  # the right half of a wide character drawn just before
            if cell.width == 2 and dx + 1 >= rect.width:
                cell = blank  # a wide character cut by the pane's edge
            row[x + dx] = cell


class Dashboard(Container):
    """Everything on screen. The Mux owns the state; this only reads it."""

    def __init__(self, mux: Mux, focus_window: Window) -> None:
        self.mux = mux
        self.focus_window = focus_window
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
        mux = self.mux
        width, height = write_position.width, write_position.height
        mux.screen_size = (width, height)
        # The renderer only diffs rows within screen.height; Windows grow it as they write.
        screen.width = max(screen.width, write_position.xpos + width)
        screen.height = max(screen.height, write_position.ypos + height)
        area_h = max(height - 1, 0)
        # Every cell's mouse handler is the dashboard's: set as the default, not cell by cell
        # (set_mouse_handler_for_range costs a millisecond a frame at 200x50).
        handler = mux.on_mouse
        mouse_handlers.mouse_handlers = defaultdict(lambda: defaultdict(lambda: handler))
        screen.show_cursor = False
        rects = mux.geometry(width, area_h)
        segments: dict[int, list[render.Segment]] | None = None
        if render.active() and mux.overlay is None:
            depth = mux.app.color_depth
            if self.sgr is None or self.sgr.depth != depth:
                self.sgr = render.Sgr(depth)
                self.segments.clear()
                self.lines.clear()
            segments = screen.segments = defaultdict(list)  # type: ignore[attr-defined]
        if rects is None:
            need = mux.too_small
            message = (f"too small for this layout: it needs {need[0]}x{need[1] + 1}; "
                       "zoom a pane, close panes or enlarge the terminal")  # fmt: skip
            for dy, line in enumerate(textwrap.wrap(message, max(width, 1))[:area_h]):
                put(screen, 0, dy, line, EXITED, width)
        else:
            for pane_id, rect in rects.items():
                self.draw_pane(screen, segments, mux.panes[pane_id], rect)
            for cache in (self.segments, self.placed):
                for gone in set(cache) - set(rects):
                    del cache[gone]
            if not mux.zoomed and mux.tree is not None:
                bar = _CHAR_CACHE["│", BORDER_SYNC if mux.sync else BORDER]
                data = screen.data_buffer
                for sep in self.separators(mux.tree, width, area_h):
                    if sep.x < width:
                        for dy in range(sep.length):
                            data[sep.y + dy][sep.x] = bar
        if mux.overlay is not None:
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
        mux = self.mux
        content = rect.content
        copy = mux.copy_modes.get(pane.id)
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
        if pane.id != mux.focus or mux.overlay is not None or mux.prompt is not None:
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
        copy: object,
    ) -> None:
        mux = self.mux
        focused = pane.id == mux.focus
        style = BORDER_SYNC if mux.sync else (BORDER_FOCUS if focused else BORDER)
        marks = ("!" if pane.bell else "") + ("#" if pane.activity and not pane.bell else "")
        label = f"{mux.number(pane.id)}:{pane.record.name}{marks}"
        word = pane.status_word()
        position = copy.position if copy is not None else None  # type: ignore[attr-defined]
        badge = self.badge(pane)

        def build() -> Line:
            line = Line(rect.width)
            line.add("─ ", style)
            line.add(label, style + (" reverse" if focused else ""))
            if word not in ("running", "idle"):
                line.add(f" {word}", EXITED)
                if pane.problem:
                    line.add(f": {pane.problem}", EXITED)
            if mux.zoomed:
                line.add(" [zoom]", style)
            if mux.sync:
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

        key = (style, focused, label, word, pane.problem, mux.zoomed, mux.sync, badge,
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
        build: Callable[[], Line],
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
        overlay = self.mux.overlay
        assert overlay is not None
        lines = overlay.lines
        widest = max([text_width(overlay.title)] + [text_width(s) for s in lines])
        box_w = min(width - 2, widest + 4)
        box_h = min(height - 2, len(lines) + 2)
        if box_w < 4 or box_h < 3:
            return
        x0, y0 = (width - box_w) // 2, (height - box_h) // 2
        inner = box_h - 2
        overlay.page = inner
        top = overlay.top
        for dy in range(box_h):
            fill(screen, x0, y0 + dy, box_w, " ", OVERLAY)
        put(screen, x0 + 1, y0, f" {overlay.title} ", OVERLAY + " bold", x0 + box_w)
        for i in range(inner):
            index = top + i
            if index >= len(lines):
                break
            style = OVERLAY_SELECTED if index == overlay.selected else OVERLAY
            fill(screen, x0 + 1, y0 + 1 + i, box_w - 2, " ", style)
            put(screen, x0 + 2, y0 + 1 + i, lines[index], style, x0 + box_w - 1)
        foot = overlay.footer
        put(screen, x0 + 1, y0 + box_h - 1, foot, OVERLAY, x0 + box_w)

    def draw_status(
        self, screen: Screen, segments: dict[int, list[render.Segment]] | None, width: int, y: int
    ) -> None:
        mux = self.mux
        if y < 0:
            return
        prompt = mux.prompt
        if prompt is not None:
            label, text = prompt.label, prompt.text
            x = min(text_width(label) + text_width(text), width - 1)
            screen.cursor_positions[self.focus_window] = Point(x, y)
            screen.show_cursor = True
            key: object = ("prompt", label, text)
        elif mux.message:
            key = ("message", mux.message, mux.message_alert)
        else:
            items = mux.status_items()
            right = mux.status_right()
            key = ("status", tuple(items), right)

        def build() -> Line:
            line = Line(width)
            if prompt is not None:
                line.add(prompt.label, STATUS + " bold")
                line.add(prompt.text, STATUS)
                line.pad(width, " ", STATUS)
            elif mux.message:
                # Like tmux's display-message: the message takes the whole line for a while.
                style = STATUS_ALERT if mux.message_alert else MESSAGE
                line.add(mux.message, style)
                line.pad(width, " ", style)
            else:
                line.add("[nono] ", STATUS + " bold")
                for item, style in items:
                    if line.x + text_width(item) + 1 > width:
                        line.add("…", STATUS)
                        break
                    line.add(item, style)
                    line.add(" ", STATUS)
                if right:
                    text, style = right
                    line.pad(max(line.x + 1, width - text_width(text)), " ", STATUS)
                    line.add(text, style)
                line.pad(width, " ", STATUS)
            return line

        self.put_line(screen, segments, 0, y, width, key, build)


class Line:
    """One row composed left to right from styled text, cut at its width as put() cuts."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.x = 0
        self.runs: list[tuple[str, str]] = []

    def add(self, text: str, style: str) -> None:
        room = self.width - self.x
        if room <= 0 or not text:
            return
        if not text.isprintable():
            text = text.translate(render.CONTROLS)  # a title is the agent's text
        if text.isascii():
            text = text[:room]
            width = len(text)
        else:
            kept, width = [], 0
            for ch in text:
                w = _CHAR_CACHE[ch, style].width
                if width + w > room:
                    break
                kept.append(ch)
                width += max(w, 0)
            text = "".join(kept)
        if text:
            self.runs.append((text, style))
            self.x += width

    def pad(self, to: int, char: str, style: str) -> None:
        """`char` (one column wide) up to column `to`."""
        to = min(to, self.width)
        if to > self.x:
            self.runs.append((char * (to - self.x), style))
            self.x = to


@lru_cache(maxsize=4096)
def _pt_style(style: Style) -> str:
    return style_string(style)


def badge(pane: Pane) -> str:
    """The pane's sandbox at a glance: command, profile, writable roots, network."""
    record = pane.record
    command = " ".join(record.command)
    if len(command) > 24:
        command = command[:23] + "…"
    # The baseline's scratch places (/tmp, /dev/shm, ...) are every session's; not worth a badge.
    writable = [w for w in record.sandbox.get("writable") or [] if not _scratch(w)]
    home = _home()
    roots = ",".join(_short(w, home) for w in writable[:2]) + ("…" if len(writable) > 2 else "")
    net = "off" if record.network == "blocked" else "on"
    return f"{command} · {record.profile or 'default'} · rw:{roots or '-'} · net:{net}"


def _scratch(path: str) -> bool:
    return path in ("/tmp", "/var/tmp") or path.startswith(("/dev", "/proc", "/run", "/sys"))


def _home() -> str:
    import os

    return os.path.expanduser("~")


def _short(path: str, home: str) -> str:
    if path == home or path.startswith(home + "/"):
        return "~" + path[len(home) :]
    return path


__all__ = ["Dashboard", "badge", "style_string"]
