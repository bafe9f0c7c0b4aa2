"""What the dashboard's review (review.py) reads from a session's rollback and does to it: the
changes of the last turn and since the start, a file's diff, and restores cut to one file, the
last turn or everything, which never overwrite what the person changed after the latest
snapshot unless forced: the CLI's rule (`nono rollback restore` refuses without --force),
applied path by path so the rest of a restore still happens.

The functions here block (they walk the tree and read the store): the review runs them off the
event loop. The plans they cut are pure (`narrow`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nono.rollback.changes import RefChange, runs_outside_first
from nono.rollback.model import Change, RestorePlan
from nono.rollback.restore import REMOVALS


@dataclass(frozen=True)
class Turns:
    """A rollback as the review shows it."""

    rollback_id: str
    roots: tuple[str, ...]
    # The last turn: the snapshots before and after it. Until per-turn snapshots exist, each
    # snapshot after the baseline ends a turn (turn N: snapshot N-1 to N). None: no snapshot
    # since the baseline yet.
    turn: tuple[int, int] | None
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


def last_turn(indexes: list[int]) -> tuple[int, int] | None:
    return (indexes[-2], indexes[-1]) if len(indexes) >= 2 else None


def load(rollback_id: str) -> Turns:
    """Read the rollback; an exited session's missing final snapshot is taken first, as the
    CLI does (commands/rollback.py settle)."""
    from nono.commands.rollback import settle
    from nono.rollback import Rollback

    rb = Rollback.open(rollback_id)
    note = settle(rb)
    turn = last_turn([s.index for s in rb.snapshots()])
    runs = rb.runs_outside()
    if turn is None:
        return Turns(rb.id, rb.roots, None, (), (), (), runs, note)
    last = runs_outside_first(rb.changes(turn[0], turn[1]), runs)
    since = runs_outside_first(rb.changes(0, turn[1]), runs)
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


def restore(rollback_id: str, to: int, paths: tuple[str, ...] | None, force: bool) -> Outcome:
    """Plan from the disk as it is now (a person may have edited since the question was asked)
    and restore snapshot `to` for `paths` (None: everything)."""
    from nono.rollback import Rollback

    rb = Rollback.open(rollback_id)
    plan, conflicts = narrow(rb.plan_restore(to, force=force), paths, force)
    existed = tuple(k for k in plan.kept if paths is None or _wanted(k, "", paths))
    if not plan.actions:
        return Outcome(to, 0, 0, (), conflicts, force, existed)
    result = rb.restore(plan)
    return Outcome(to, result.restored, result.removed, tuple(result.skipped), conflicts, force,
                   existed)  # fmt: skip


def preview(
    rollback_id: str, to: int, paths: tuple[str, ...] | None
) -> tuple[int, tuple[str, ...]]:
    """How many actions a restore would take, and the later changes it would keep."""
    from nono.rollback import Rollback

    plan, conflicts = narrow(Rollback.open(rollback_id).plan_restore(to), paths, force=False)
    return len(plan.actions), conflicts
