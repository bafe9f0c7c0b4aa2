"""The rollback vocabulary: options, entries, changes, snapshot info, restore plans and results."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nono.errors import NonoError
from nono.rollback import printable


class RollbackError(NonoError):
    """A rollback that cannot be taken, read, verified or restored. Its messages name the
    agent's files, so their control characters are escaped before anyone prints them."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(printable.text(message), printable.text(hint) if hint else hint)


# (done, total, label); total is 0 while it is not known yet.
Progress = Callable[[int, int, str], None]

FILE = "file"
DIR = "dir"
SYMLINK = "symlink"

# A manifest row is a plain tuple in Entry's field order: snapshots of 20,000 files build,
# compare and serialise rows, and only the few that reach the caller become Entry objects.
Row = tuple[Any, ...]
FIELDS = ("path", "type", "size", "mode", "mtime_ns", "hash", "target", "xattrs", "ino", "ctime_ns")
PATH, TYPE, SIZE, MODE, MTIME, HASH, TARGET, XATTRS, INO, CTIME = range(len(FIELDS))


def make_row(
    path: str,
    kind: str,
    st: os.stat_result,
    *,
    size: int | None = None,
    digest: str | None = None,
    target: str | None = None,
    xattrs: dict[str, str] | None = None,
) -> Row:
    """A row from an lstat result (directories record size 0: theirs means nothing portable)."""
    size = st.st_size if size is None else size
    mode = stat.S_IMODE(st.st_mode)
    xattrs = xattrs or {}
    return (
        path,
        kind,
        size,
        mode,
        st.st_mtime_ns,
        digest,
        target,
        xattrs,
        st.st_ino,
        st.st_ctime_ns,
    )


@dataclass(frozen=True)
class Options:
    """What a snapshot leaves out, and the limits that stop a runaway walk."""

    excludes: tuple[str, ...] = ()  # gitignore-style, relative to each root
    walk_budget: int = 500_000
    big_dir_notice: int = 10_000
    # Bytes of path names: a chain nested N deep holds N paths of up to N components, so
    # its names grow with N squared (100,000 levels would be 10 GB) long before the count
    # of entries reaches walk_budget.
    path_budget: int = 256 << 20


@dataclass(frozen=True)
class Entry:
    """One path as a snapshot saw it (absolute path; xattrs are user.* only, values hex)."""

    path: str
    type: str
    size: int
    mode: int
    mtime_ns: int
    hash: str | None
    target: str | None
    xattrs: dict[str, str]
    ino: int
    ctime_ns: int

    @classmethod
    def of(cls, row: Row) -> Entry:
        return cls(*row)

    def row(self) -> Row:
        return (
            self.path,
            self.type,
            self.size,
            self.mode,
            self.mtime_ns,
            self.hash,
            self.target,
            self.xattrs,
            self.ino,
            self.ctime_ns,
        )


@dataclass(frozen=True)
class SnapshotInfo:
    index: int
    created: float
    files: int
    bytes: int
    new_objects: int
    merkle_root: str
    notices: tuple[str, ...]
    git: dict[str, Any] = field(default_factory=dict)
    # A final snapshot taken when first needed, after the session ended without one (its
    # supervisor killed, the disk full): it may hold changes made after the session.
    late: bool = False
    # Taken while the session ran, when the agent's turn ended (Rollback.turn_snapshot), not
    # the final snapshot at its end.
    turn: bool = False
    # Paths and git refs changed since the snapshot before it; None in snapshots taken before
    # nono counted them (work it out from the manifests).
    changes: int | None = None


@dataclass(frozen=True)
class Turn:
    """One stretch of the agent's work that changed something: the changes between snapshot
    `since` and snapshot `until`. Numbered 1..N in order; a snapshot that changed nothing
    is no turn."""

    number: int
    since: int
    until: int
    started: float  # when snapshot `since` was taken
    ended: float  # when snapshot `until` was taken
    changes: int  # paths and git refs
    late: bool = False  # `until` is a final snapshot taken late (see SnapshotInfo.late)


@dataclass(frozen=True)
class Change:
    """One path that differs between two snapshots; the most telling kind wins."""

    path: str
    kind: str  # created | deleted | modified | mode | xattr | type
    old: Entry | None
    new: Entry | None


@dataclass(frozen=True)
class Action:
    op: str  # write | mkdir | rmdir | unlink | symlink | chmod | xattr | utime | gitrefs
    path: str
    entry: Entry | None

    def to_json(self) -> list[Any]:
        return [self.op, self.path, list(self.entry.row()) if self.entry else None]

    @classmethod
    def from_json(cls, data: list[Any]) -> Action:
        op, path, row = data
        return cls(op, path, Entry.of(tuple(row)) if row is not None else None)


@dataclass(frozen=True)
class RestorePlan:
    rollback_id: str
    to: int
    actions: tuple[Action, ...]
    conflicts: tuple[str, ...]
    force: bool = False  # planned with force: restore() may overwrite the conflicts
    kept: tuple[str, ...] = ()  # not removed: they existed (ignored) before the session
    # A turn's undo: `to` is the snapshot before the turn, and only the turn's paths move.
    turn: int | None = None
    # Paths of that turn changed after it (a later turn, the person): left as they are
    # unless forced, then overwritten.
    newer: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "rollback_id": self.rollback_id,
            "to": self.to,
            "turn": self.turn,
            "newer": list(self.newer),
            "force": self.force,
            "conflicts": list(self.conflicts),
            "kept": list(self.kept),
            "actions": [a.to_json() for a in self.actions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestorePlan:
        return cls(
            rollback_id=data["rollback_id"],
            to=int(data["to"]),
            actions=tuple(Action.from_json(a) for a in data["actions"]),
            conflicts=tuple(data["conflicts"]),
            force=bool(data.get("force")),
            kept=tuple(data.get("kept", ())),
            turn=data.get("turn"),
            newer=tuple(data.get("newer", ())),
        )


@dataclass(frozen=True)
class RestoreResult:
    restored: int
    removed: int
    skipped: tuple[str, ...]
