"""The dashboard's state (panes, layout tree, focus, modes, status) and the operations every
part of it shares: placing the panes when the layout or the terminal changes, moving the
focus, typing into panes, the status bar's message. It draws nothing and reads no keys.

Data flows one way: keys and mouse (input.py) -> actions (actions.py) -> this state ->
the Dashboard (draw.py), which only reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from nono.mux import layout, presets
from nono.mux import state as saved_state
from nono.mux.pane import BACKGROUND_FPS, Pane, Remote
from nono.mux.prompts import Overlay, Prompt
from nono.mux.styles import ACTIVITY_STATUS, STATUS, STATUS_ALERT, STATUS_FOCUS
from nono.session import registry
from nono.session.activity import Activity
from nono.session.registry import EXITED, Record

if TYPE_CHECKING:
    from nono.mux.copymode import CopyMode  # imported on first use: a tenth of the start

MESSAGE_TIME = 4.0
DRAW_FPS = 20  # the most a pane that is not focused is drawn


class Model:
    def __init__(
        self,
        prefix_label: str,
        problems: list[str] | None,
        invalidate: Callable[[], None],
        terminal_size: Callable[[], tuple[int, int]],
    ) -> None:
        self.prefix_label = prefix_label  # the keymap's prefix, as the status bar shows it
        self.invalidate = invalidate  # ask for a frame
        self.terminal_size = terminal_size  # the terminal's columns and rows, now
        self.panes: dict[str, Pane] = {}
        self.tree: layout.Node | None = None
        self.focus: str | None = None
        self.last_focus: str | None = None
        self.zoomed = False
        self.preset: str | None = None
        self.sync = False
        self.copy_modes: dict[str, CopyMode] = {}
        self.overlay: Overlay | None = None
        self.prompt: Prompt | None = None
        self.buffers: list[str] = []
        self.prefix_armed = False
        self.repeating = False  # a repeatable binding waits for its key again (input.py)
        self.message = ""
        self.message_alert = False
        self.message_timer: asyncio.TimerHandle | None = None
        self.startup_problems = list(problems or [])
        self.drag: layout.Border | None = None
        self.detaching = False
        self.tasks: set[asyncio.Task] = set()
        self.outgoing: dict[str, list[str]] = {}
        self.flush_scheduled = False
        self.background_timer: asyncio.TimerHandle | None = None
        self.all_records: list[Record] = []
        self.numbers: dict[str, int] = {}  # session id -> its number, from all_records
        self.denials: dict[str, int] = {}  # session id -> connections its proxy refused
        # What relayout() made of the layout at the last size: each shown pane's rectangle
        # (None: the screen is too small; too_small says what it needs), and each pane's
        # content size as its supervisor was told.
        self.placed_for: object = None
        self.rects: dict[str, layout.Rect] | None = {}
        self.too_small = (0, 0)
        self.sizes: dict[str, tuple[int, int]] = {}
        # A pane's agent changed activity state (the Mux notifies): called once per change.
        self.on_activity: Callable[[Pane], None] = lambda pane: None
        self.waiting_jump: str | None = None  # the session next-waiting went to last
        # Remote hosts (mux/hosts.py, set by the Mux when it has any): their sessions' records,
        # the host a record's pane reaches its session through, and why hosts are down.
        self.remote_records: Callable[[], list[Record]] = list
        self.remote_of: Callable[[Record], Remote | None] = lambda record: None
        self.hosts_down: Callable[[], list[str]] = list
        self.host_names: list[str] = []  # the hosts a new session may be started on
        self.find_remote: Callable[[str, str], Awaitable[Record | None]] = _none_found

    # ------------------------------------------------------------ running beside the dashboard

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine beside the dashboard; a bug in it is shown, not lost."""

        async def guarded() -> None:
            try:
                await work
            except Exception as exc:  # a bug: say it where the person is looking
                self.say(f"internal error: {type(exc).__name__}: {exc}", alert=True)

        self.tasks.add(task := asyncio.get_running_loop().create_task(guarded()))
        task.add_done_callback(self.tasks.discard)

    def pane_changed(self, pane: Pane) -> None:
        """Focused pane first: its changes (an echo) are drawn at once; the others' are
        gathered and drawn at most DRAW_FPS times a second, so a flooding pane never
        keeps the renderer busy when a key is typed elsewhere. A change of activity state is
        drawn at once too: it is what the person waits for."""
        if pane.doing_news:
            pane.doing_news = False
            self.on_activity(pane)
            self.invalidate()
        elif pane.id == self.focus:
            self.invalidate()
        elif self.background_timer is None:
            self.background_timer = asyncio.get_running_loop().call_later(
                1 / DRAW_FPS, self._background_draw
            )

    def _background_draw(self) -> None:
        self.background_timer = None
        self.invalidate()

    # ------------------------------------------------------------ geometry

    def area(self) -> tuple[int, int]:
        """The panes' area: the terminal less the status bar."""
        width, height = self.terminal_size()
        return width, max(height - 1, 1)

    def relayout(self) -> None:
        """Place the panes for the current layout and terminal size, and tell each supervisor
        its pane's size when that changed. Run before each frame, so a layout operation, a
        pane added or removed and a resized terminal are all seen; the work is done only when
        one of them changed. The Dashboard draws what this placed and changes nothing."""
        width, height = self.terminal_size()
        height = max(height - 1, 0)
        zoomed = self.zoomed and self.focus in self.panes
        key = (self.tree, width, height, self.focus if zoomed else None)
        if key == self.placed_for:
            return
        self.placed_for = key
        if self.tree is None:
            self.rects = {}
            return
        if zoomed:
            assert self.focus is not None
            self.rects = {self.focus: layout.Rect(0, 0, width, height)}
        else:
            try:
                self.rects = layout.place(self.tree, width, height)
            except layout.LayoutTooSmall as exc:
                self.too_small = (exc.needed_width, exc.needed_height)
                self.rects = None
                return
        sizes = {pid: (r.content.width, r.content.height) for pid, r in self.rects.items()}
        if sizes != self.sizes:
            self.sizes = sizes
            # Tell the supervisors after this frame is drawn: each PTY gets its pane's size.
            asyncio.get_running_loop().call_soon(self._send_sizes)

    def _send_sizes(self) -> None:
        for pane_id, (cols, rows) in self.sizes.items():
            pane = self.panes.get(pane_id)
            if pane is not None:
                pane.resize(cols, rows)
                copy = self.copy_modes.get(pane_id)
                if copy is not None:
                    copy.resize(cols, rows)

    def content_sizes(self) -> dict[str, tuple[int, int]]:
        width, height = self.area()
        if self.tree is None:
            return {}
        if self.zoomed and self.focus:
            return {self.focus: (width, height - 1)}
        try:
            return {p: (r.content.width, r.content.height)
                    for p, r in layout.place(self.tree, width, height).items()}  # fmt: skip
        except layout.LayoutTooSmall:
            return {}

    def split_tree(
        self, tree: layout.Node | None, target: str | None, new: str, horizontal: bool
    ) -> layout.Node:
        """Split as tmux does at this size; by weight when the screen is too small for it."""
        try:
            return layout.split(tree, target, new, horizontal, area=self.area())
        except layout.LayoutTooSmall:
            return layout.split(tree, target, new, horizontal)

    def room_to_split(self, horizontal: bool) -> bool:
        if self.tree is None:
            return True
        try:
            layout.split(self.tree, self.focus, "\0new", horizontal, area=self.area())
        except layout.LayoutTooSmall:
            return False
        return True

    def largest(self, tree: layout.Node) -> str:
        width, height = self.area()
        try:
            rects = layout.place(tree, width, height)
        except layout.LayoutTooSmall:
            return layout.panes(tree)[-1]
        return max(rects, key=lambda p: rects[p].width * rects[p].height)

    # ------------------------------------------------------------ layout and focus

    def layout_to(self, name: str) -> None:
        if self.tree is None:
            return
        width, height = self.area()
        self.tree = presets.preset(name, layout.panes(self.tree), self.focus, width, height)
        self.preset = name
        self.zoomed = False
        self.save()
        self.say(name)

    def toggle_zoom(self) -> None:
        if self.focus is not None:
            self.zoomed = not self.zoomed
            self.save()

    def resize_to(self, how: str) -> None:
        direction, _, amount = how.partition("-")
        if self.tree is None or self.focus is None or self.zoomed:
            return
        width, height = self.area()
        self.tree = layout.resize(self.tree, self.focus, direction, int(amount or 1), width, height)
        self.save()

    def focus_to(self, where: str) -> None:
        ids = layout.panes(self.tree)
        if not ids or self.focus is None or self.tree is None:
            return
        target: str | None
        if where == "next" or where == "prev":
            step = 1 if where == "next" else -1
            target = ids[(ids.index(self.focus) + step) % len(ids)]
        elif where == "last":
            target = self.last_focus if self.last_focus in ids else None
        else:
            width, height = self.area()
            target = layout.neighbour(self.tree, self.focus, where, width, height)
        if target is not None:
            self.set_focus(target)

    def set_focus(self, pane_id: str) -> None:
        if pane_id == self.focus:
            return
        old = self.panes.get(self.focus or "")
        if old is not None and old.modes.focus_events:
            self.queue(old, "\x1b[O")
        self.last_focus, self.focus = self.focus, pane_id
        # As in tmux, moving the focus leaves zoom: the zoomed pane is no longer focused.
        self.zoomed = False
        self.mark_focus()
        new = self.panes.get(pane_id)
        if new is not None and new.modes.focus_events:
            self.queue(new, "\x1b[I")
        self.save()

    def mark_focus(self) -> None:
        for pane in self.panes.values():
            focused = pane.id == self.focus
            if focused != pane.focused:
                # Focused pane first: the others are sent fewer frames while they flood.
                pane.frame_rate(30 if focused else BACKGROUND_FPS)
            pane.focused = focused
            if pane.focused:
                pane.bell = pane.activity = False

    # ------------------------------------------------------------ typing into panes

    def type_text(self, data: str) -> None:
        """Queue keys for the target panes. The keys of one read from the terminal are sent
        in one write, as a terminal would: an agent must not see Esc alone and then `[13;2u`
        as typing."""
        if not data:
            return
        targets = self.targets()
        if not any(p.state == "running" and not p.read_only for p in targets) and targets:
            pane = targets[0]
            why = pane.problem or pane.status_word()
            self.say(f"{pane.record.name} takes no input: {why}", alert=True)
            return
        for pane in targets:
            self.queue(pane, data)

    def queue(self, pane: Pane, data: str) -> None:
        """Input for one pane, written once the current batch of keys is handled."""
        self.outgoing.setdefault(pane.id, []).append(data)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_outgoing)

    def _flush_outgoing(self) -> None:
        self.flush_scheduled = False
        outgoing, self.outgoing = self.outgoing, {}
        for pane_id, parts in outgoing.items():
            pane = self.panes.get(pane_id)
            if pane is not None:
                pane.send("".join(parts).encode("utf-8", "surrogateescape"))

    def targets(self) -> list[Pane]:
        if self.sync:
            return [self.panes[p] for p in layout.panes(self.tree) if p in self.panes]
        pane = self.panes.get(self.focus or "")
        return [pane] if pane is not None else []

    def paste(self, text: str) -> None:
        if self.prompt is not None:
            self.prompt.text += text.replace("\n", " ").replace("\r", " ")
            self.invalidate()
            return
        for pane in self.targets():
            if pane.modes.bracketed_paste:
                self.queue(pane, "\x1b[200~" + text + "\x1b[201~")
            else:
                self.queue(pane, text)

    def ask(
        self,
        label: str,
        done: Callable[[str], None],
        initial: str = "",
        single_key: bool = False,
        check: Callable[[str], str | None] | None = None,
        problem: str = "",
    ) -> None:
        """A prompt in the status bar; `check` refuses an answer naming its problem, and the
        prompt stays (prompts.Prompt)."""
        self.prompt = Prompt(label, initial, done, single_key, check, problem)
        self.invalidate()

    # ------------------------------------------------------------ status

    def number(self, pane_id: str) -> int:
        """A session's number in the status bar (creation order, as tmux numbers windows)."""
        return self.numbers.get(pane_id, len(self.numbers))

    def new_pane(self, record: Record) -> Pane:
        """A pane for `record`'s session, here or on its host."""
        return Pane(record, self.pane_changed, self.remote_of(record))

    def every_record(self) -> list[Record]:
        """Every session (exited ones too): this machine's, newest first, then the hosts'."""
        records, _ = registry.list_records()
        return records + self.remote_records()

    def reconcile(self, record: Record) -> Record:
        """registry.reconcile for this machine's sessions; a host's say what their host says."""
        return record if self.remote_of(record) is not None else registry.reconcile(record)

    def refresh_records(self) -> None:
        records, _ = registry.list_records()
        # This machine's in the order they started, then each host's (each host's own order:
        # clocks of two machines do not compare).
        records = sorted(records, key=lambda r: r.created) + self.remote_records()
        shown = set(self.panes)
        keep = [r for r in records if r.status != EXITED or r.id in shown]
        self.all_records = keep
        self.numbers = {r.id: n for n, r in enumerate(self.all_records)}
        self.denials = {r.id: r.egress["denied"] for r in keep
                        if r.egress is not None and r.egress.get("denied")}  # fmt: skip

    def denied(self, session_id: str) -> int:
        """How many connections the session's proxy refused, as its record last said (the
        supervisor rewrites it at most once a second; a host's, as its listing said)."""
        return self.denials.get(session_id, 0)

    def status_items(self) -> list[tuple[tuple[str, str], ...]]:
        """Each session as styled runs: its number, name and marks, then its state's word."""
        items: list[tuple[tuple[str, str], ...]] = []
        on_screen = set(layout.panes(self.tree))
        for number, record in enumerate(self.all_records):
            pane = self.panes.get(record.id)
            if pane is not None:
                word = pane.status_word()
                marks = "!" if pane.bell else ("#" if pane.activity else "")
            else:
                word, marks = _record_word(record), ""
            shown = "" if record.id in on_screen else "-"
            focus = "*" if record.id == self.focus else ""
            zoom = "Z" if focus and self.zoomed else ""  # tmux's window_zoomed_flag
            text = f"{number}:{record.name}{focus}{zoom}{marks}{shown} "
            style = STATUS_FOCUS if focus else (STATUS_ALERT if marks == "!" else STATUS)
            items.append(((text, style), (word, ACTIVITY_STATUS.get(word, style))))
        return items

    def status_right(self) -> tuple[str, str] | None:
        parts = []
        if self.prefix_armed or self.repeating:
            parts.append(f"{self.prefix_label} …")
        if self.sync:
            parts.append("SYNC")
        if self.focus in self.copy_modes:
            parts.append("COPY")
        down = self.hosts_down()
        parts.extend(down)
        hint = f"{self.prefix_label} ? help"
        style = STATUS_ALERT if self.sync or down else STATUS
        return " ".join([*parts, hint]), style

    def say(self, message: str, alert: bool = False) -> None:
        """A message in the status bar for a few seconds (one timer, no polling)."""
        self.message, self.message_alert = message, alert
        if self.message_timer is not None:
            self.message_timer.cancel()
        loop = asyncio.get_running_loop()
        self.message_timer = loop.call_later(MESSAGE_TIME * (2 if alert else 1), self._unsay)
        self.invalidate()

    def _unsay(self) -> None:
        self.message = ""
        self.message_timer = None
        self.invalidate()

    # ------------------------------------------------------------ saving

    def save(self) -> None:
        try:
            saved_state.save(saved_state.Saved(self.tree, self.focus, self.zoomed, self.preset))
        except OSError as exc:
            with contextlib.suppress(RuntimeError):
                self.say(f"cannot save the layout: {exc.strerror}", alert=True)


async def _none_found(host: str, remote_id: str) -> Record | None:
    return None


def _record_word(record: Record) -> str:
    """A session not on screen: its activity from its record while it runs, else its status."""
    doing = Activity.from_json(record.activity) if record.status != EXITED else None
    return doing.state if doing is not None and doing.state != "exited" else record.state
