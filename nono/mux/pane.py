"""A Pane: one session as the dashboard sees it, kept current by its supervisor's screen frames.

The dashboard never parses the agent's output: the supervisor sends changed rows as styled runs
(docs/design.md, "The session protocol"). A pane keeps each row as it came, with a generation
number that changes with it; the drawing renders a row once per generation (render.row_text),
or as prompt_toolkit cells where it must (row_cells).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any, Protocol

from prompt_toolkit.layout.screen import _CHAR_CACHE, Char

from nono.errors import NonoError
from nono.mux.remote_screen import clean_history, clean_screen
from nono.mux.render import cell_style_string
from nono.mux.render import style_string as style_string  # where draw.py has imported it from
from nono.session import protocol as wire
from nono.session import registry
from nono.session.activity import EXITED as ACTIVITY_EXITED
from nono.session.activity import Activity, clean_text
from nono.session.connection import Connection
from nono.session.protocol import Frame, Kind, ProtocolError, Reason
from nono.session.registry import EXITED, Record
from nono.term.modeset import Modes
from nono.term.style import Style, char_width, encode_style

Cells = list[Char | None]
"""One row: a Char per column; None where a wide character's right half is."""
WireRow = tuple[list[Any], list[str]]
"""One row as its supervisor sent it: runs of [text, style] (a style is an index into the
frame's table of cell styles in the protocol's form, or a prompt_toolkit style string itself),
and that table."""
BLANK_LINE: WireRow = ([], [])

_GENERATIONS = itertools.count(1)  # row generations, unique across panes and their lifetimes
BACKGROUND_FPS = 10  # frames a second a flooding pane that is not focused is sent
TITLE_EVERY = 1.0
QUIET_AFTER_RESIZE = 1.0  # a churning window title is shown at most this often


def row_cells(runs: list[Any], styles: list[str], cols: int) -> Cells:
    """Runs of (text, style index) as one cell per column, exactly `cols` wide."""
    cells: Cells = []
    cache = _CHAR_CACHE
    for text, index in runs:
        style = cell_style_string(styles[index]) if isinstance(index, int) else index
        if text.isascii():
            cells.extend([cache[ch, style] for ch in text])
            continue
        for ch in text:
            width = char_width(ch)
            if width == 2:
                cells.append(cache[ch, style])
                cells.append(None)
            elif width <= 0:
                # A combining mark joins the character before it (past a wide one's stub); with
                # none before it in the row, it has nothing to join and is dropped.
                if cells:
                    at = len(cells) - 1 if cells[-1] is not None else len(cells) - 2
                    base = cells[at]
                    if base is not None:
                        cells[at] = cache[base.char + ch, base.style]
            else:
                cells.append(cache[ch, style])
    if len(cells) < cols:
        cells.extend([cache[" ", ""]] * (cols - len(cells)))
    elif len(cells) > cols:
        del cells[cols:]
        if cells and cells[-1] is not None and char_width(cells[-1].char[:1]) == 2:
            cells[-1] = cache[" ", cells[-1].style]
    return cells


class Remote(Protocol):
    """The host of a remote pane's session (mux/hosts.py HostLink): how to reach it, and its
    words made safe."""

    @property
    def lost(self) -> str | None: ...
    async def channel(self, remote_id: str) -> Connection: ...
    def adopt(self, data: dict[str, Any], record: Record) -> Record: ...
    def current(self, record: Record) -> Record | None: ...


class Pane:
    """A session on screen: its connection, its last screen, and what the dashboard shows
    about it (state, title, attention)."""

    def __init__(
        self, record: Record, on_change: Callable[[Pane], None], remote: Remote | None = None
    ) -> None:
        self.record = record
        self.remote = remote  # None: a session of this machine
        self.on_change = on_change
        cols, rows = record.size
        self.cols, self.rows = cols, rows
        self.lines: list[WireRow] = [BLANK_LINE] * rows
        # A row's generation changes with the row, so the drawing can keep per-row caches.
        self.row_gen: list[int] = [next(_GENERATIONS)] * rows
        self.cursor = (0, 0)
        self.cursor_visible = True
        self.modes = Modes()
        self.alternate = False
        self.title = ""
        self.shown_title = ""
        self.title_at = 0.0
        self.bells = -1  # unknown until the first frame
        self.exit_code: int | None = None
        # connecting, running, exited, lost, watching, refused; disconnected: its host's link
        self.state = "connecting"
        self.problem = ""  # why the pane is not live, for its border
        self.bell = False  # a bell while not focused
        self.activity = False  # output while not focused
        # What the agent is doing, as its supervisor says (session/activity.py); None from a
        # supervisor that says nothing of it: the pane then shows running / exited only.
        self.doing: Activity | None = None
        self.doing_before: Activity | None = None  # what it was doing before that
        self.doing_news = False  # doing changed state; the model has not looked yet
        self.focused = False
        self.last_output = 0.0
        # A resize makes most programs redraw: that is not news worth marking the pane for.
        self.quiet_until = 0.0
        self.version = 0  # bumped on every change the dashboard must draw
        self.read_only = False
        self._conn: Connection | None = None
        self._task: asyncio.Task | None = None
        self._title_timer: asyncio.TimerHandle | None = None
        self._want_size: tuple[int, int] | None = None
        # Detached because another client took the session over: watch it instead.
        self._taken_over = False

    @property
    def id(self) -> str:
        return self.record.id

    def status_word(self) -> str:
        """The agent's activity (starting / working / waiting / idle) while it runs, or
        running / exited(code) / lost / watching, as the status bar shows it."""
        if self.state == "exited":
            return "exited" if self.exit_code is None else f"exited({self.exit_code})"
        doing = self.doing
        if self.state == "running" and doing is not None and doing.state != ACTIVITY_EXITED:
            return doing.state
        return self.state

    def set_doing(self, doing: Activity | None) -> None:
        """The supervisor's word on the agent's activity (WELCOME's record, ACTIVITY frames)."""
        if doing is None:
            return  # garbled or from an older supervisor: keep what was known
        old = self.doing
        self.doing = doing
        if old is None or old.state != doing.state:
            self.doing_before = old
            self.doing_news = old is not None  # the first word on connecting is no change
            self._changed()

    # ------------------------------------------------------------ connection

    async def connect(self, cols: int, rows: int) -> None:
        """Attach in screen mode; a session attached elsewhere is watched read-only."""
        self._want_size = (cols, rows)
        if self.remote is not None:
            if self._remote_gone():
                return
        else:
            self.record = registry.reconcile(self.record)
            if self.record.status == EXITED:
                self.show_final()
                return
        try:
            await self._open(read_only=False)
        except wire.Refusal as exc:
            if exc.reason is not Reason.ATTACHED_ELSEWHERE:
                self._fail("refused", exc.message)
                return
            try:
                await self._open(read_only=True)
            except (NonoError, OSError) as again:
                self._fail("refused", _why(again))
                return
        except (OSError, ProtocolError, TimeoutError, NonoError) as exc:
            if not self._remote_gone():
                self._lost(f"cannot reach the supervisor: {_why(exc)}")

    async def reconnect(self) -> None:
        """Open the session again (its host's link is back): the first frame redraws it."""
        await self.connect(*(self._want_size or self.record.size))

    def _remote_gone(self) -> bool:
        """A remote pane that cannot be shown live: its host's link is down (disconnected),
        or the host lists its session as exited. False for a local pane."""
        if self.remote is None:
            return False
        why = self.remote.lost
        if why is not None:
            self._fail("disconnected", why)
            return True
        current = self.remote.current(self.record)
        if current is not None and current.status == EXITED:
            self.exit_code, self.state, self.problem = current.exit_code, "exited", ""
            self._changed()
            return True
        return False

    async def _dial(self) -> Connection:
        """A connection to the supervisor: its socket here, or a channel of its host's link."""
        if self.remote is not None:
            try:
                return await self.remote.channel(str(self.record.extra.get("remote_id", "")))
            except NonoError as exc:  # the host said no: as a socket that refuses
                raise OSError(exc.message) from None
        return await Connection.open("\0" + self.record.socket)

    async def _open(self, read_only: bool) -> None:
        cols, rows = self._want_size or self.record.size
        conn = await self._dial()
        try:
            welcome = await conn.ahandshake(
                wire.Hello("screen", cols, rows, read_only=read_only, activity=True)
            )
        except BaseException:
            conn.close()
            raise
        self.record = (Record.from_json(welcome.record) if self.remote is None
                       else self.remote.adopt(welcome.record, self.record))  # fmt: skip
        self.set_doing(Activity.from_json(self.record.activity))
        self._conn = conn
        self._taken_over = False
        self.quiet_until = time.monotonic() + QUIET_AFTER_RESIZE
        self.read_only = read_only
        self.state = "watching" if read_only else "running"
        self.problem = "attached elsewhere: watching" if read_only else ""
        for frame in conn.take_queued():
            self._handle(frame)
        if not self.focused:
            self.frame_rate(BACKGROUND_FPS)
        self._task = asyncio.get_running_loop().create_task(self._read(conn))
        self._changed()

    async def _read(self, conn: Connection) -> None:
        try:
            while (frame := await conn.aread()) is not None:
                self._handle(frame)
        except (OSError, ProtocolError) as exc:
            if conn is self._conn:
                self.problem = f"connection lost: {exc}"
                self._taken_over = False
        finally:
            if conn is self._conn:
                self._closed()
            else:
                conn.close()  # replaced by a connection that took the session back

    def _handle(self, frame: Frame) -> None:
        if frame.kind == Kind.SCREEN:
            screen = wire.Screen.decode(frame, self.cols, self.rows)
            self.apply(screen if self.remote is None else clean_screen(screen))
        elif frame.kind == Kind.EXIT:
            self.exit_code = wire.Exit.decode(frame).code
            self.state = "exited"
            if self.doing is not None and self.doing.state != ACTIVITY_EXITED:
                # The agent's end is its last activity, whether or not an ACTIVITY frame said so.
                reason = f"exit code {self.exit_code}" if self.exit_code is not None else ""
                self.set_doing(Activity(ACTIVITY_EXITED, time.time(), reason, ""))
            self._changed()
        elif frame.kind == Kind.ACTIVITY:
            self.set_doing(Activity.from_json(wire.ActivityChanged.decode(frame).activity))
        elif frame.kind == Kind.RELEASED:
            if self.read_only and self.state == "watching":
                asyncio.get_running_loop().create_task(self._reclaim())
        elif frame.kind == Kind.DETACHED:
            detached = wire.Detached.decode(frame)
            self.problem = clean_text(detached.text)
            self._taken_over = detached.reason is Reason.TAKEN_OVER
            if self._taken_over:
                self.state = "watching"
        # WELCOME/RESPONSE and the rest are not for a screen client; ignoring them is safe.

    def _closed(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if self.state == "exited":
            return
        if self.state == "watching" and self._taken_over:
            # Another terminal took the session: keep showing it, read-only.
            asyncio.get_running_loop().create_task(self._rewatch())
            return
        if self.remote is not None:
            if not self._remote_gone() and self.state != "closed":
                self._lost(self.problem or "the supervisor hung up")
            return
        current = registry.reconcile(self.record)
        self.record = current
        if current.status == EXITED:
            self.exit_code = current.exit_code
            self.state = "exited"
            if current.note:
                self.problem = current.note
                self.state = "lost" if registry.supervisor_died(current) else "exited"
        elif self.state != "closed":
            self._lost(self.problem or "the supervisor hung up")
        self._changed()

    async def _reclaim(self) -> None:
        """The client that held the session left: take it back (input, sizes), as the pane
        had it before. The watching connection goes once the new one is in."""
        old = self._conn
        try:
            await self._open(read_only=False)
        except wire.Refusal:
            return  # another client was quicker: keep watching
        except (NonoError, OSError, TimeoutError, ProtocolError):
            return  # the watching connection says what happens next
        if old is not None:
            old.close()

    async def _rewatch(self) -> None:
        try:
            await self._open(read_only=True)
            self.problem = "taken over by another client: watching"
            self._taken_over = True
        except (NonoError, OSError, TimeoutError) as exc:
            self._lost(_why(exc))

    def _lost(self, why: str) -> None:
        self._taken_over = False
        self.state = "lost"
        self.problem = why
        self._changed()

    def _fail(self, state: str, why: str) -> None:
        self._taken_over = False
        self.state = state
        self.problem = why
        self._changed()

    def show_final(self) -> None:
        """An exited session's last screen, from the file its supervisor left."""
        from nono.term import TerminalModel

        self.state = "exited"
        self.exit_code = self.record.exit_code
        self.problem = self.record.note or ""
        final = registry.read_final(self.record, wait=0.5) or {}
        cols, rows = self.record.size
        model = TerminalModel(cols, rows, history=0)
        model.feed(str(final.get("replay", "")).encode())
        self.cols, self.rows = cols, rows
        self.lines = []
        for y in range(rows):
            runs = model.row_runs(y)
            self.lines.append(([(t, i) for i, (t, _) in enumerate(runs)],
                               [encode_style(s) for _, s in runs]))  # fmt: skip
        self._all_rows_new(rows)
        self.cursor_visible = False
        self._changed()

    def close(self) -> None:
        """Stop showing the session (it keeps running)."""
        self.state = "closed" if self.state not in ("exited", "lost") else self.state
        if self._task is not None:
            self._task.cancel()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._title_timer is not None:
            self._title_timer.cancel()

    # ------------------------------------------------------------ frames

    def apply(self, frame: wire.Screen) -> None:
        cols, rows = frame.size
        if (cols, rows) != (self.cols, self.rows):
            self.cols, self.rows = cols, rows
            self.lines = [BLANK_LINE] * rows
            self._all_rows_new(rows)
        styles = frame.styles
        changed = frame.rows
        for key, runs in changed.items():
            y = int(key)
            if 0 <= y < rows:
                # Kept as sent: a row changed by several frames between two draws (a flood
                # drawn 20 times a second, 30 frames) is rendered once, when drawn.
                self.lines[y] = (runs, styles)
                self.row_gen[y] = next(_GENERATIONS)
        x, y = frame.cursor
        self.cursor = (x, y)
        self.cursor_visible = frame.cursor_visible
        self.modes = frame.modes
        self.alternate = frame.alternate
        bells = frame.bells
        if self.bells >= 0 and bells > self.bells and not self.focused:
            self.bell = True
        self.bells = bells
        title = frame.title
        now = time.monotonic()
        if title != self.title:
            self.title = title
            if now - self.title_at >= TITLE_EVERY:
                self.shown_title, self.title_at = title, now
            elif self._title_timer is None:
                # Churning titles are shown once a second, the last one winning: no flicker.
                wait = self.title_at + TITLE_EVERY - now
                self._title_timer = asyncio.get_running_loop().call_later(wait, self._late_title)
        if changed and not frame.full:
            self.last_output = now
            if not self.focused and now >= self.quiet_until:
                self.activity = True
        elif frame.full and not self.last_output:
            self.last_output = now
        self._changed()

    def cells(self, y: int) -> Cells:
        """Row y as prompt_toolkit cells (the drawing keeps what it places, per row version)."""
        runs, styles = self.lines[y]
        return row_cells(runs, styles, self.cols)

    def materialize(self) -> list[Cells]:
        """Every row as cells."""
        return [self.cells(y) for y in range(len(self.lines))]

    def _all_rows_new(self, rows: int) -> None:
        self.row_gen = [next(_GENERATIONS)] * rows

    def _late_title(self) -> None:
        self._title_timer = None
        if self.shown_title != self.title:
            self.shown_title, self.title_at = self.title, time.monotonic()
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        self.on_change(self)

    # ------------------------------------------------------------ to the agent

    def send(self, data: bytes) -> bool:
        """Type into the agent; False when this pane cannot (exited, read-only)."""
        if self._conn is None or self.read_only or self.state != "running" or not data:
            return False
        self._conn.send(wire.encode_input(data))
        return True

    def frame_rate(self, fps: int) -> None:
        """How many frames a second this pane wants while its agent floods."""
        if self._conn is not None:
            self._conn.send(wire.Request("rate", {"fps": fps}))

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = max(2, cols), max(2, rows)
        self._want_size = (cols, rows)
        if self._conn is None or self.read_only or (cols, rows) == (self.cols, self.rows):
            return
        self.quiet_until = time.monotonic() + QUIET_AFTER_RESIZE
        self._conn.send(wire.Resize(cols, rows))

    async def request(self, op: str, timeout: float = 30, **args: Any) -> dict[str, Any]:
        """A control request (history, stop) on a connection of its own."""
        conn = await self._dial()
        try:
            conn.send(wire.Hello("control"), wire.Request(op, args))
            deadline = asyncio.get_running_loop().time() + timeout
            while True:
                left = deadline - asyncio.get_running_loop().time()
                frame = await conn.aread(max(left, 0.01))
                if frame is None:
                    raise OSError("the supervisor hung up")
                try:
                    response = wire.read_response(frame, op)
                except NonoError as exc:  # callers handle a failed request as an OSError
                    raise OSError(exc.message) from None
                if response is not None:
                    if self.remote is not None and op == "history":
                        return clean_history(response)  # the host's words: made safe
                    return response
        finally:
            conn.close()


def _why(exc: BaseException) -> str:
    """What to show for a failure: a NonoError's message without its hint, as before."""
    return exc.message if isinstance(exc, NonoError) else str(exc)


def decode_history(response: dict[str, Any]) -> tuple[list[list[tuple[str, Style]]], int]:
    """A history response as lines of (text, Style) runs (history then screen), and how many
    of them are history."""
    history, screen = wire.History.from_fields(response).styled()
    return history + screen, len(history)
