"""What changed between two states of the tree: per-path change kinds and unified diffs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from nono.rollback.model import (
    DIR,
    FILE,
    HASH,
    MODE,
    MTIME,
    SIZE,
    SYMLINK,
    TARGET,
    TYPE,
    XATTRS,
    Change,
    Entry,
    RollbackError,
    Row,
)
from nono.rollback.store import Store

DIFF_LIMIT = 4 << 20  # difflib is quadratic at worst; past this a diff is not worth reading


def same_content(a: Row, b: Row) -> bool:
    """Same type and same bytes (or same symlink target); directories have no content."""
    if a[TYPE] != b[TYPE]:
        return False
    if a[TYPE] == FILE:
        if a[HASH] is not None and b[HASH] is not None:
            return a[HASH] == b[HASH]
        # A side unreadable at snapshot time: size and mtime are the best evidence left.
        return (a[SIZE], a[MTIME]) == (b[SIZE], b[MTIME])
    if a[TYPE] == SYMLINK:
        return a[TARGET] == b[TARGET]
    return True


def kind(old: Row | None, new: Row | None) -> str | None:
    """The most telling way `new` differs from `old`, or None when a person would see none.

    A directory's mtime moves whenever its entries do and a file's with a mere touch; neither
    is a change to report (a restore still puts mtimes back)."""
    if old is None:
        return None if new is None else "created"
    if new is None:
        return "deleted"
    if old[TYPE] != new[TYPE]:
        return "type"
    if not same_content(old, new):
        return "modified"
    if old[TYPE] != SYMLINK and old[MODE] != new[MODE]:
        return "mode"
    if old[XATTRS] != new[XATTRS]:
        return "xattr"
    return None


def git_area(path: str, runs: dict[str, str] | None = None) -> str | None:
    """The label ("hook", "git config") of a path git runs code from, None for ordinary
    files: in a .git directory (only these are snapshotted there, see walk.GIT_RUNS), or
    below a path its config points at (`runs`: core.hooksPath, included files)."""
    for target, label in (runs or {}).items():
        if path == target or path.startswith(target + "/"):
            return label
    at = path.rfind("/.git/")
    if at < 0:
        return None
    rest = path[at + 6 :]
    if rest == "hooks" or rest.startswith("hooks/"):
        return "hook"
    if rest in ("config", "config.worktree"):
        return "git config"
    return None


def runs_outside_first(changes: list[Change], runs: dict[str, str] | None = None) -> list[Change]:
    """Changes to git hooks and config lead: git runs them outside the sandbox."""
    return sorted(changes, key=lambda c: git_area(c.path, runs) is None)


def compare(old: dict[str, Row], new: dict[str, Row]) -> list[Change]:
    changes = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        what = kind(a, b)
        if what is not None:
            changes.append(
                Change(path, what, Entry.of(a) if a else None, Entry.of(b) if b else None)
            )
    return changes


@dataclass(frozen=True)
class RefChange:
    """HEAD, a branch or tag, or packed-refs of a repository under the roots, moved by the
    session; restore puts it back (gitrefs.restore_repo)."""

    repo: str
    ref: str  # "HEAD", "refs/heads/main", "packed-refs"
    kind: str  # "created" | "deleted" | "moved"
    old: str | None
    new: str | None


def compare_refs(old: dict[str, Any], new: dict[str, Any]) -> list[RefChange]:
    """Ref changes between two manifests' git records. The index is left out: any `git status`
    rewrites it, and a person reviewing a session needs the commits and branches it moved."""
    out = []
    for repo in sorted(old.keys() | new.keys()):
        a, b = old.get(repo) or {}, new.get(repo) or {}
        before = {"HEAD": a.get("HEAD"), "packed-refs": a.get("packed-refs"), **a.get("refs", {})}
        after = {"HEAD": b.get("HEAD"), "packed-refs": b.get("packed-refs"), **b.get("refs", {})}
        for ref in sorted(before.keys() | after.keys(), key=lambda r: (r != "HEAD", r)):
            x, y = before.get(ref), after.get(ref)
            if x == y:
                continue
            if ref == "packed-refs":  # a file of many refs, recorded by its hash
                out.append(RefChange(repo, ref, "modified", None, None))
                continue
            what = "created" if x is None else "deleted" if y is None else "moved"
            out.append(RefChange(repo, ref, what, _ref_text(x), _ref_text(y)))
    return out


def _ref_text(value: str | None) -> str | None:
    """ "ref: refs/heads/main\n" -> "refs/heads/main"; a commit id -> its first 12 digits."""
    if value is None:
        return None
    value = value.strip()
    return value[5:] if value.startswith("ref: ") else value[:12]


class Binary(Exception):
    pass


def _lines(store: Store, entry: Entry | None) -> list[str]:
    if entry is None or entry.type == DIR:
        return []
    if entry.type == SYMLINK:
        return [f"symlink to {entry.target}\n"]
    if entry.hash is None:
        raise Binary(f"content not recorded ({entry.path} was unreadable at snapshot time)")
    if entry.size > DIFF_LIMIT:
        raise Binary(f"too large to diff ({entry.size:,} bytes)")
    try:
        data = store.read(entry.hash)
    except FileNotFoundError:
        raise RollbackError(
            f"object {entry.hash} of {entry.path} is missing", "run: nono rollback verify"
        ) from None
    if b"\0" in data:
        raise Binary("binary")
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        raise Binary("binary") from None


def diff_text(store: Store, change: Change, label: str) -> str:
    """A unified diff for text, "binary" otherwise, "" when only metadata changed."""
    if change.kind in ("mode", "xattr"):
        return ""
    try:
        old, new = _lines(store, change.old), _lines(store, change.new)
    except Binary as why:
        return str(why)
    for lines in (old, new):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n\\ No newline at end of file\n"
    before = f"a/{label}" if change.old is not None else "/dev/null"
    after = f"b/{label}" if change.new is not None else "/dev/null"
    return "".join(difflib.unified_diff(old, new, before, after))
