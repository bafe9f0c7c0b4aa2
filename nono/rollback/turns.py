"""Turns: the snapshots taken while a session runs, numbered, and what undoing one turn means."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from typing import Any

from nono.rollback.changes import compare, compare_refs
from nono.rollback.manifest import Manifest
from nono.rollback.model import DIR, TYPE, RollbackError, Row, SnapshotInfo, Turn
from nono.rollback.restore import conflicts


def count_changes(before: Manifest, after: Manifest) -> int:
    """What a person would see change from one snapshot to the next: paths and git refs."""
    return len(compare(before.by_path, after.by_path)) + len(compare_refs(before.git, after.git))


def number(infos: Sequence[SnapshotInfo], counted: Callable[[int], int]) -> list[Turn]:
    """Turns 1..N from the snapshots in order: each snapshot after the baseline that changed
    something ends one. `counted(index)` works out the count for snapshots that lack it."""
    found: list[Turn] = []
    for before, after in itertools.pairwise(infos):
        changes = after.changes if after.changes is not None else counted(after.index)
        if changes:
            found.append(Turn(len(found) + 1, before.index, after.index, before.created,
                              after.created, changes, after.late))  # fmt: skip
    return found


def pick(turns: list[Turn], wanted: int | str, rollback_id: str) -> Turn:
    """Turn `wanted` (a number, or "last"); an error naming the valid range otherwise."""
    if not turns:
        raise RollbackError(
            f"rollback {rollback_id} has no turns yet: nothing has changed since its baseline",
            "a turn ends when the agent stops to wait for you, and when the session ends",
        )
    valid = f"turns: 1-{len(turns)} or last" if len(turns) > 1 else "turns: 1 or last"
    if wanted == "last":
        return turns[-1]
    try:
        n = int(wanted)
    except ValueError:
        raise RollbackError(f"{wanted!r} is not a turn number", valid) from None
    if not 1 <= n <= len(turns):
        raise RollbackError(f"rollback {rollback_id} has no turn {n}", valid)
    return turns[n - 1]


def undo(
    current: dict[str, Row],
    before: dict[str, Row],
    after: dict[str, Row],
    *,
    force: bool,
) -> tuple[dict[str, Row], list[str]]:
    """The tree with one turn undone: every path the turn changed back to `before`, the rest
    as it is now. Unless forced, a path changed after the turn (it is no longer as `after`
    has it, nor already back as `before` has it) is left as it is: someone's later work.
    Returns the target and those paths."""
    touched = {c.path for c in compare(before, after)}
    newer: set[str] = set()
    if not force:
        now = {p: current[p] for p in touched if p in current}
        then = {p: after[p] for p in touched if p in after}
        undone = {p: before[p] for p in touched if p in before}
        # A path already back where the turn found it is no one's later work.
        newer = set(conflicts(now, then, None)) & set(conflicts(now, undone, None))
    target = dict(current)
    for path in touched - newer:
        if path in before:
            target[path] = before[path]
        else:
            target.pop(path, None)
    newer |= _keep_whole(target, current, before, touched)
    return target, sorted(newer)


def _keep_whole(
    target: dict[str, Row], current: dict[str, Row], before: dict[str, Row], touched: set[str]
) -> set[str]:
    """Mend the tree where a partial undo would tear it, and name the paths that leaves as
    they are now: a directory the turn made that holds later files stays; a path the turn
    removed is not put back into a directory that is gone since. (A manifest need not hold
    every parent: of .git it keeps only hooks and config.)"""
    left: set[str] = set()
    changed = True
    while changed:  # each path is left at most once, so this ends
        changed = False
        parents = {os.path.dirname(p) for p in target}
        for path in sorted(touched):
            now, want = current.get(path), target.get(path)
            if want == now:
                continue
            parent = os.path.dirname(path)
            up, there = before.get(parent), target.get(parent)
            holds_later = now is not None and now[TYPE] == DIR and path in parents
            homeless = (
                want is not None
                and up is not None
                and up[TYPE] == DIR
                and (there is None or there[TYPE] != DIR)
            )
            if holds_later or homeless:
                if now is None:
                    target.pop(path, None)
                else:
                    target[path] = now
                left.add(path)
                changed = True
    return left


def refs_target(
    now: dict[str, Any], before: dict[str, Any], after: dict[str, Any], *, force: bool
) -> tuple[dict[str, Any], list[str]]:
    """Git refs with one turn undone: a repository whose refs the turn moved goes back to
    `before`, unless they moved again since (then it is left, and named) and not forced."""
    target = dict(now)
    newer = []
    for repo in sorted(before.keys() & after.keys()):
        if before[repo] == after[repo] or repo not in now:
            continue
        if now[repo] == after[repo] or force:
            target[repo] = before[repo]
        elif now[repo] != before[repo]:
            newer.append(repo)
    return target, newer
