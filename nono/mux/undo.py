"""What the dashboard's review (review.py) reads from a session's rollback and does to it: the
changes of the last turn and since the start, a file's diff, and restores cut to one file, the
last turn or everything. None overwrites what the person changed since nono last left it unless
forced: the CLI's rule (`nono rollback restore` refuses without --force; a turn's undo leaves
the paths changed after it), applied path by path so the rest of a restore still happens.

The functions here block (they walk the tree and read the store): the review runs them off the
event loop. The plans they cut are pure (`narrow`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from nono.rollback.changes import RefChange, runs_outside_first
from nono.rollback.model import Change, RestorePlan, Turn
from nono.rollback.restore import REMOVALS

if TYPE_CHECKING:
    from nono.rollback.handle import Rollback


@dataclass(frozen=True)
class Turns:
    """A rollback as the review shows it."""

    rollback_id: str
    roots: tuple[str, ...]
    turn: Turn | None  # the last turn; None: none has changed anything yet
    last: tuple[Change, ...]  # changed in the last turn
    since: tuple[Change, ...]  # changed since the start (baseline to latest snapshot)
    refs: tuple[RefChange, ...]  # git refs moved since the start
    runs: dict[str, str]  # paths git runs code from (changes.git_area)
    note: str | None  # about the latest snapshot (taken late, ...), from the CLI's words


@dataclass(frozen=True)
class Outcome:
    """What a restore did, to show."""

    to: int
    restored: int
    removed: int
    skipped: tuple[str, ...]
    conflicts: tuple[str, ...]  # the person's later changes: kept, or overwritten when forced
    forced: bool
    existed: tuple[str, ...]  # never removed: there (ignored) before the session


def last_turn(rb: Rollback) -> Turn | None:
    """The last turn that changed something (a turn snapshot's, or the whole session's once
    its final snapshot is taken when no turn was snapshotted)."""
    found = rb.turns()
    return found[-1] if found else None


def load(rollback_id: str) -> Turns:
    """Read the rollback; an exited session's missing final snapshot is taken first, as the
    CLI does (commands/rollback.py settle)."""
    from nono.commands.rollback import settle
    from nono.rollback import Rollback

    rb = Rollback.open(rollback_id)
    note = settle(rb)
    turn = last_turn(rb)
    runs = rb.runs_outside()
    if turn is None:
        return Turns(rb.id, rb.roots, None, (), (), (), runs, note)
    last = runs_outside_first(rb.changes(turn.since, turn.until), runs)
    since = runs_outside_first(rb.changes(), runs)
    return Turns(rb.id, rb.roots, turn, tuple(last), tuple(since), tuple(rb.ref_changes()), runs,
                 note)  # fmt: skip


def diff(rollback_id: str, change: Change) -> str:
    from nono.rollback import Rollback

    return Rollback.open(rollback_id).diff(change)


def _touches(action_path: str, op: str, path: str) -> bool:
    """Whether doing `op` on `action_path` changes `path`: the path itself, or a removal of a
    directory it is in."""
    return action_path == path or (
        op in REMOVALS and path.startswith(action_path.rstrip("/") + "/")
    )


def _wanted(action_path: str, op: str, paths: tuple[str, ...]) -> bool:
    """Part of restoring `paths`: the path or what is below it, or a directory to make first."""
    for p in paths:
        if action_path == p or action_path.startswith(p.rstrip("/") + "/"):
            return True
        if op == "mkdir" and p.startswith(action_path.rstrip("/") + "/"):
            return True
    return False


def narrow(
    plan: RestorePlan, paths: tuple[str, ...] | None, force: bool
) -> tuple[RestorePlan, tuple[str, ...]]:
    """The plan cut to `paths` (None: all of it, git refs included), and the conflicts it
    would touch: the person's later changes. Without `force` the actions touching them go,
    so the conflicts are kept as they are and the rest is restored."""
    actions = [
        a
        for a in plan.actions
        if paths is None or (a.op != "gitrefs" and _wanted(a.path, a.op, paths))
    ]
    touched = tuple(c for c in plan.conflicts if any(_touches(a.path, a.op, c) for a in actions))
    if force:
        return replace(plan, actions=tuple(actions), force=True), touched
    spared = [a for a in actions if not any(_touches(a.path, a.op, c) for c in touched)]
    # The conflicts left in the plan touch none of its actions: cleared, restore() runs it.
    return replace(plan, actions=tuple(spared), conflicts=()), touched


def plan(
    rb: Rollback, to: int, turn: int | None, paths: tuple[str, ...] | None, force: bool
) -> tuple[RestorePlan, tuple[str, ...]]:
    """The plan for `paths` (None: all), back to snapshot `to` or, with `turn`, that turn
    undone; and the person's later changes it keeps (or, forced, overwrites)."""
    if turn is None:
        return narrow(rb.plan_restore(to, force=force), paths, force)
    # The rollback undoes a turn itself: only the turn's paths move, and the ones changed after
    # it (`newer`) are left unless forced; the forced plan does not name them.
    kept = rb.plan_turn_restore(turn, force=False)
    chosen = rb.plan_turn_restore(turn, force=True) if force else kept
    narrowed, _ = narrow(chosen, paths, force)
    return narrowed, tuple(p for p in kept.newer if paths is None or _wanted(p, "", paths))


def restore(
    rollback_id: str, to: int, turn: int | None, paths: tuple[str, ...] | None, force: bool
) -> Outcome:
    """Plan from the disk as it is now (a person may have edited since the question was asked)
    and restore: see `plan`."""
    from nono.rollback import Rollback

    rb = Rollback.open(rollback_id)
    planned, conflicts = plan(rb, to, turn, paths, force)
    existed = tuple(k for k in planned.kept if paths is None or _wanted(k, "", paths))
    if not planned.actions:
        return Outcome(to, 0, 0, (), conflicts, force, existed)
    result = rb.restore(planned)
    return Outcome(to, result.restored, result.removed, tuple(result.skipped), conflicts, force,
                   existed)  # fmt: skip


def preview(
    rollback_id: str, to: int, turn: int | None, paths: tuple[str, ...] | None
) -> tuple[int, tuple[str, ...]]:
    """How many actions a restore would take, and the later changes it would keep."""
    from nono.rollback import Rollback

    planned, conflicts = plan(Rollback.open(rollback_id), to, turn, paths, force=False)
    return len(planned.actions), conflicts
