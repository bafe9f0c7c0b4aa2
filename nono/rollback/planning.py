"""Restore plans, made from the disk as it is: back to a snapshot, or one turn undone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from nono.rollback import restore as restoring
from nono.rollback import turns
from nono.rollback.manifest import Manifest, paused_gc
from nono.rollback.model import Action, Options, RestorePlan, Row, Turn
from nono.rollback.snapshot import scan
from nono.rollback.store import Store
from nono.rollback.walk import Spec


class Rollback(Protocol):
    """What a plan needs of a rollback (handle.Rollback, which imports this module)."""

    id: str
    roots: tuple[str, ...]
    options: Options
    store: Store

    def manifest(self, index: int) -> Manifest: ...

    def rules(self) -> dict[str, Spec]: ...


def reference(
    latest: Manifest, done: list[dict[str, Any]], manifest: Callable[[int], Manifest]
) -> Manifest:
    """The state nono last left the tree in: the latest snapshot, with the paths of every
    restore finished since then (`done`: whole, partial or a turn's) at their restored state."""
    if not done:
        return latest
    rows = dict(latest.by_path)
    for restore in done:
        target = manifest(restore["to"]).by_path
        for path in restore["paths"]:
            if path in target:
                rows[path] = target[path]
            else:
                rows.pop(path, None)
    return Manifest(
        latest.index,
        latest.created,
        latest.started_ns,
        latest.roots,
        sorted(rows.values()),
        latest.git,
    )


def whole(
    rb: Rollback, to: int, ref: Manifest, pending: RestorePlan | None, *, force: bool
) -> RestorePlan:
    """Every path back to snapshot `to`; paths changed since nono last left them (`ref`)
    conflict, but for those on the way there in an interrupted restore (`pending`)."""
    with paused_gc():
        target = rb.manifest(to)
        resumed = rb.manifest(pending.to).by_path if pending is not None else None
        current, git = _current(rb, target, ref)
        actions = restoring.build_actions(current, target.by_path, git, target.git)
        actions, kept = _spare(rb, actions, target)
        plan = RestorePlan(
            rollback_id=rb.id,
            to=target.index,
            actions=tuple(actions),
            conflicts=tuple(restoring.conflicts(current, ref.by_path, resumed)),
            force=force,
            kept=tuple(kept),
        )
    restoring.check_plan(plan, rb.roots, rb.store)
    return plan


def one_turn(rb: Rollback, turn: Turn, ref: Manifest, *, force: bool) -> RestorePlan:
    """The paths (and git refs) `turn` changed back to snapshot `turn.since`; the rest of the
    tree stays as it is now."""
    with paused_gc():
        before, after = rb.manifest(turn.since), rb.manifest(turn.until)
        current, git = _current(rb, before, ref)
        target, newer = turns.undo(current, before.by_path, after.by_path, force=force)
        target_git, moved = turns.refs_target(git, before.git, after.git, force=force)
        actions = restoring.build_actions(current, target, git, target_git)
        actions, kept = _spare(rb, actions, before)
        plan = RestorePlan(rb.id, before.index, tuple(actions), (), force, tuple(kept),
                           turn=turn.number, newer=tuple(newer + moved))  # fmt: skip
    restoring.check_plan(plan, rb.roots, rb.store)
    return plan


def _current(
    rb: Rollback, target: Manifest, ref: Manifest
) -> tuple[dict[str, Row], dict[str, Any]]:
    """The tree as it is now (hashed where its stat moved since `ref`), and its git refs;
    paths the target or `ref` know are looked up even if excluded now."""
    extra = tuple(target.by_path.keys() | ref.by_path.keys())
    now = scan(rb.roots, rb.options, ref, None, extra=extra, rules=rb.rules())
    return restoring.index_paths(now.rows), now.git


def _spare(rb: Rollback, actions: list[Action], target: Manifest) -> tuple[list[Action], list[str]]:
    """Never remove what existed, ignored, when the baseline or the target was taken."""
    existed = {*rb.manifest(0).ignored, *target.ignored}
    return restoring.spare_existing(actions, existed, rb.roots)
