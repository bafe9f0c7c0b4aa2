"""The review of the focused pane's session (review-turn, prefix u): what it changed in its last
turn and since the start, the diff of a file, and restoring a file, the last turn or
everything, asked first and never over the person's own later edits unless they say so
(undo.py does the rollback's part, off the event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nono.errors import NonoError
from nono.mux import undo
from nono.mux.model import Model
from nono.mux.prompts import Overlay
from nono.rollback.changes import git_area
from nono.rollback.model import Change
from nono.rollback.printable import name, text
from nono.session.registry import Record

T = TypeVar("T")

ADDED = "bg:ansiblack fg:ansigreen"
REMOVED = "bg:ansiblack fg:ansired"
HUNK = "bg:ansiblack fg:ansicyan"
SECTION = "bg:ansiblack fg:ansiwhite bold"
ALERT = "bg:ansiblack fg:ansiyellow bold"
MARKS = {"created": "+", "deleted": "-", "modified": "~", "mode": "m", "xattr": "x", "type": "!"}
LIST_HELP = (" ↑↓ jk move · Enter/d diff · r restore file · t restore last turn · "
             "a restore all · q/Esc close ")  # fmt: skip
BUSY_HELP = " reading the rollback… (q closes; a restore under way still finishes) "
DIFF_HELP = " ↑↓ jk PgUp PgDn scroll · r restore this file · q/Esc back to the list "


@dataclass(frozen=True)
class Line:
    text: str
    style: str | None = None
    change: Change | None = None  # a file line: it can be chosen
    to: int = 0  # the snapshot restoring this line's file goes back to
    turn: int | None = None  # or the turn whose undo restores it
    where: str = ""  # how that snapshot is said: "as before the last turn", "as at the start"


def relative(path: str, roots: tuple[str, ...]) -> str:
    for root in roots:
        if path.startswith(root.rstrip("/") + "/"):
            return path[len(root.rstrip("/")) + 1 :]
    return path


def change_line(change: Change, turns: undo.Turns, to: int, turn: int | None, where: str) -> Line:
    area = git_area(change.path, turns.runs)
    tag = f"[{area}] " if area else ""
    shown = name(relative(change.path, turns.roots))
    mark = MARKS.get(change.kind, "?")
    return Line(f"  {mark} {change.kind:<9} {tag}{shown}", None, change, to, turn, where)


def lines_of(turns: undo.Turns) -> list[Line]:
    """The list: the last turn's files, then every file changed since the start."""
    out: list[Line] = []
    if turns.note:
        out.append(Line(f"note: {text(turns.note)}", ALERT))
    if turns.turn is None:
        out.append(Line("no snapshot since the start yet: the session's changes show here once "
                        "a turn ends or the session exits"))  # fmt: skip
        return out
    turn = turns.turn
    out.append(Line(f"last turn (turn {turn.number}, snapshot {turn.since} to {turn.until}): "
                    f"{len(turns.last)} path(s)", SECTION))  # fmt: skip
    out += [change_line(c, turns, turn.since, turn.number, "as before the last turn")
            for c in turns.last]  # fmt: skip
    out.append(Line(""))
    out.append(Line(f"since the start: {len(turns.since)} path(s)", SECTION))
    out += [change_line(c, turns, 0, None, "as at the start") for c in turns.since]
    for r in turns.refs:
        out.append(Line(f"  g {r.kind:<9} [git ref] {name(r.ref)} in {name(r.repo)}"))
    return out


def outcome_lines(done: undo.Outcome, roots: tuple[str, ...]) -> list[Line]:
    what = f"restored {done.restored}, removed {done.removed} (snapshot {done.to})"
    if not (done.restored or done.removed or done.skipped):
        what = f"nothing to restore: already as in snapshot {done.to}"
    out = [Line(what, SECTION)]
    out += [Line(f"skipped {text(why)}", ALERT) for why in done.skipped]
    for path in done.conflicts:
        shown = name(relative(path, roots))
        if done.forced:
            out.append(Line(f"overwrote {shown}: changed after the latest snapshot", ALERT))
        else:
            out.append(Line(f"kept {shown}: changed after the latest snapshot (answer F to "
                            "overwrite it)", ALERT))  # fmt: skip
    for path in done.existed:
        out.append(Line(f"kept {name(relative(path, roots))}: it was there before the session "
                        "(ignored), so never removed"))  # fmt: skip
    return out


def diff_lines(diff: str, label: str) -> list[Line]:
    if diff == "binary" or diff.startswith("binary"):
        return [Line(f"binary file {label} differs")]
    if not diff:
        return [Line(f"{label}: only its mode or attributes changed")]
    out = []
    for raw in text(diff).splitlines():
        raw = raw.expandtabs(8)
        style = (HUNK if raw.startswith("@@") else ADDED if raw.startswith("+")
                 else REMOVED if raw.startswith("-") else None)  # fmt: skip
        out.append(Line(raw, style))
    return out


class Review(Overlay):
    """The review over the whole dashboard: a list of files, or one file's diff."""

    full_screen = True

    def __init__(self, model: Model, record: Record) -> None:
        super().__init__(f"review · {record.name}", ["reading the rollback…"], None, LIST_HELP)
        assert record.rollback_id is not None
        self.model = model
        self.record = record
        self.rollback_id = record.rollback_id
        self.turns: undo.Turns | None = None
        self.items: list[Line] = []  # the list
        self.outcome: list[Line] = []  # what the last restore did, above the list
        self.shown: list[Line] = []  # what the lines are: outcome + list, or a diff
        self.diffing: Line | None = None  # the file whose diff is shown
        self.list_at = (0, 0)  # the list's selection and top, kept while a diff is shown
        self.busy = False

    # ------------------------------------------------------------ what is shown

    def show(self, lines: list[Line], selected: int, top: int = 0) -> None:
        self.shown = lines
        self.lines = [line.text for line in lines]
        self.selected, self.top = selected, top
        self.model.invalidate()

    def show_list(self) -> None:
        self.diffing = None
        self.footer = LIST_HELP
        self.title = f"review · {self.record.name} · rollback {self.rollback_id}"
        lines = self.outcome + ([Line("")] if self.outcome else []) + self.items
        selected, top = self.list_at
        choosable = [i for i, line in enumerate(lines) if line.change is not None]
        if selected not in choosable:
            selected = choosable[0] if choosable else -1
        self.show(lines, selected, top)

    def line_style(self, index: int) -> str | None:
        return self.shown[index].style if 0 <= index < len(self.shown) else None

    def selected_line(self) -> Line | None:
        if self.diffing is not None:
            return self.diffing
        if 0 <= self.selected < len(self.shown):
            line = self.shown[self.selected]
            return line if line.change is not None else None
        return None

    # ------------------------------------------------------------ keys

    def key(self, key: str, page: int) -> bool:
        if key in ("c-c", "c-g"):
            return True
        if key in ("escape", "q"):
            if self.diffing is None:
                return True
            self.show_list()
            return False
        if self.busy:
            return False
        if self.diffing is not None:
            return self._diff_key(key, page)
        steps = {"up": -1, "k": -1, "down": 1, "j": 1, "pageup": -page, "pagedown": page,
                 "home": -len(self.lines), "end": len(self.lines)}  # fmt: skip
        if key in steps:
            self._move(steps[key], page)
        elif key in ("c-m", "c-j", "d"):
            line = self.selected_line()
            if line is not None:
                self._run(undo.diff, (self.rollback_id, line.change), self._diffed(line))
        elif key == "r":
            self._restore_file()
        elif key == "t" and self.turns is not None and self.turns.turn is not None:
            turn = self.turns.turn
            self._ask(turn.since, turn.number, None, "the last turn")
        elif key == "a" and self.turns is not None and self.turns.turn is not None:
            self._ask(0, None, None, "everything, as at the start")
        return False

    def _diff_key(self, key: str, page: int) -> bool:
        steps = {"up": -1, "k": -1, "down": 1, "j": 1, "pageup": -page, "pagedown": page,
                 " ": page, "home": -len(self.lines), "end": len(self.lines)}  # fmt: skip
        if key in steps:
            self.top = min(max(self.top + steps[key], 0), max(len(self.lines) - page, 0))
        elif key == "r":
            self._restore_file()
        return False

    def _move(self, step: int, page: int) -> None:
        choosable = [i for i, line in enumerate(self.shown) if line.change is not None]
        if not choosable:
            self.top = min(max(self.top + step, 0), max(len(self.lines) - page, 0))
            return
        at = choosable.index(self.selected) if self.selected in choosable else 0
        if abs(step) == 1:
            at = min(max(at + step, 0), len(choosable) - 1)
            self.selected = choosable[at]
        else:  # a page: to the file nearest that many lines away
            goal = self.selected + step
            self.selected = min(choosable, key=lambda i: abs(i - goal))
        if self.selected < self.top:
            self.top = max(self.selected - 1, 0)  # the section's title with it, where it fits
        elif self.selected >= self.top + page:
            self.top = self.selected - page + 1
        self.list_at = (self.selected, self.top)

    # ------------------------------------------------------------ doing

    def _run(self, work: Callable[..., T], args: tuple[Any, ...],
             done: Callable[[T], None]) -> None:  # fmt: skip
        """`work(*args)` in a worker thread (it walks the tree and reads the rollback's store:
        blocking file I/O the event loop must not wait on), then `done` with its result."""
        self.busy = True
        footer, self.footer = self.footer, BUSY_HELP
        self.model.invalidate()

        async def go() -> None:
            try:
                result = await asyncio.get_running_loop().run_in_executor(None, work, *args)
            except (NonoError, OSError) as exc:
                self.busy, self.footer = False, footer
                why = exc.one_line() if isinstance(exc, NonoError) else str(exc)
                self.outcome = [Line(text(why), ALERT)]
                if self.model.overlay is self:
                    self.show_list()
                return
            self.busy, self.footer = False, footer
            if self.model.overlay is self:
                done(result)
            elif isinstance(result, undo.Outcome):  # closed meanwhile: said where it can be
                self.model.say(outcome_lines(result, self.rollback_roots())[0].text)

        self.model.spawn(go())

    def load(self) -> None:
        self._run(undo.load, (self.rollback_id,), self._loaded)

    def _loaded(self, turns: undo.Turns) -> None:
        self.turns = turns
        self.items = lines_of(turns)
        self.show_list()

    def _diffed(self, line: Line) -> Callable[[str], None]:
        def show(diff: str) -> None:
            assert line.change is not None
            label = name(relative(line.change.path, self.rollback_roots()))
            self.list_at = (self.selected, self.top)
            self.diffing = line
            self.title = f"diff · {label} · {line.change.kind}"
            self.footer = DIFF_HELP
            self.show(diff_lines(diff, label), -1)

        return show

    def rollback_roots(self) -> tuple[str, ...]:
        return self.turns.roots if self.turns is not None else ()

    def _restore_file(self) -> None:
        line = self.selected_line()
        if line is None or line.change is None:
            return
        label = name(relative(line.change.path, self.rollback_roots()))
        self._ask(line.to, line.turn, (line.change.path,), f"{label} {line.where}")

    def _ask(self, to: int, turn: int | None, paths: tuple[str, ...] | None, what: str) -> None:
        """Plan first, so the question can say what would be kept; ask; restore."""

        def planned(preview: tuple[int, tuple[str, ...]]) -> None:
            count, conflicts = preview
            if conflicts:
                # The question is one status line; the paths it is about go above the list.
                self.outcome = [Line(f"restoring {what}:", SECTION)] + [
                    Line(f"  {name(relative(c, self.rollback_roots()))} changed after the latest "
                         "snapshot: y keeps it as it is, F overwrites it", ALERT)
                    for c in conflicts
                ]  # fmt: skip
                self.show_list()
                question = (
                    f"restore {what}? y: keep your later changes · F: overwrite them · n: no "
                )
            elif count:
                question = f"restore {what}? (y/n) "
            else:
                self.outcome = [Line(f"nothing to restore: {what} is already so", SECTION)]
                self.show_list()
                return

            def answer(key: str) -> None:
                if key in ("y", "Y", "F"):
                    force = key == "F"
                    args = (self.rollback_id, to, turn, paths, force)
                    self._run(undo.restore, args, self._restored)
                elif conflicts:
                    self.outcome = []
                    self.show_list()

            self.model.ask(question, answer, single_key=True)

        self._run(undo.preview, (self.rollback_id, to, turn, paths), planned)

    def _restored(self, done: undo.Outcome) -> None:
        self.outcome = outcome_lines(done, self.rollback_roots())
        self.list_at = (0, 0)
        self.show_list()


def open_review(model: Model) -> None:
    """Open the review of the focused pane's session, or say why there is none."""
    pane = model.panes.get(model.focus or "")
    if pane is None:
        model.say("no pane is focused: nothing to review", alert=True)
        return
    record = pane.record
    if not record.rollback_id:
        model.say(f"{record.name} has no rollback, so no changes to review or undo (start a "
                  "session with --rollback for that)", alert=True)  # fmt: skip
        return
    review = Review(model, record)
    model.overlay = review
    review.load()
