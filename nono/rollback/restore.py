"""Restoring a snapshot: a plan made from the disk as it is, then a journaled, idempotent run."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

from nono.rollback import gitrefs
from nono.rollback.changes import kind, same_content
from nono.rollback.fsops import (
    DIR_FLAGS,
    Dirs,
    lstat_at,
    proc_path,
    replace_with_file,
    replace_with_symlink,
    set_xattrs,
    split_under,
)
from nono.rollback.manifest import write_durable
from nono.rollback.model import (
    DIR,
    FILE,
    MODE,
    MTIME,
    PATH,
    SYMLINK,
    TYPE,
    XATTRS,
    Action,
    Entry,
    Progress,
    RestorePlan,
    RestoreResult,
    RollbackError,
    Row,
)
from nono.rollback.store import Store, copy_fd, hash_fd, syncfs

# Errors that stop a restore (run it again once fixed); any other OSError skips one path.
FATAL = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}
TMP_NAME = re.compile(r"^\..+\.nono-[0-9a-f]{8}$")
REMOVALS = ("unlink", "rmdir")


def is_restore_tmp(path: str) -> bool:
    """A temp file of an interrupted restore (fsops.tmp_name), not the user's."""
    return bool(TMP_NAME.match(os.path.basename(path)))


def _depth(path: str) -> int:
    return path.count("/")


def build_actions(
    current: dict[str, Row],
    target: dict[str, Row],
    current_git: dict[str, Any],
    target_git: dict[str, Any],
) -> list[Action]:
    """Every step that turns `current` into `target`, in the order they must run."""
    removals, creations, attrs, utimes, dir_utimes = [], [], [], [], []
    touched: set[str] = set()  # directories whose entries change, so whose mtime will move
    for path, row in current.items():
        want = target.get(path)
        if want is None or want[TYPE] != row[TYPE]:
            removals.append(Action("rmdir" if row[TYPE] == DIR else "unlink", path, Entry.of(row)))
            touched.add(os.path.dirname(path))
    for path, want in target.items():
        have = current.get(path)
        if have == want:
            continue  # the common case, decided by one tuple comparison
        fresh = have is None or have[TYPE] != want[TYPE]
        if want[TYPE] == DIR:
            if fresh:
                creations.append(Action("mkdir", path, Entry.of(want)))
                attrs.append(Action("chmod", path, Entry.of(want)))  # made 0700 to fill it first
                touched.update((path, os.path.dirname(path)))
                continue
        elif fresh or (have is not None and not same_content(have, want)):
            op = "write" if want[TYPE] == FILE else "symlink"
            creations.append(Action(op, path, Entry.of(want)))
            touched.add(os.path.dirname(path))
            continue
        assert have is not None
        if want[TYPE] != SYMLINK and have[MODE] != want[MODE]:
            attrs.append(Action("chmod", path, Entry.of(want)))
        if want[TYPE] != SYMLINK and have[XATTRS] != want[XATTRS]:
            attrs.append(Action("xattr", path, Entry.of(want)))
        if want[TYPE] != DIR and have[MTIME] != want[MTIME]:
            utimes.append(Action("utime", path, Entry.of(want)))
    for path in touched | {p for p, w in target.items() if w[TYPE] == DIR and current.get(p) != w}:
        want = target.get(path)
        if want is not None and want[TYPE] == DIR:
            have = current.get(path)
            if have is None or have[TYPE] != DIR or path in touched or have[MTIME] != want[MTIME]:
                dir_utimes.append(Action("utime", path, Entry.of(want)))
    gits = [
        Action("gitrefs", repo, None)
        for repo, record in sorted(target_git.items())
        if current_git.get(repo) != record
    ]
    removals.sort(key=lambda a: (-_depth(a.path), a.path))
    creations.sort(key=lambda a: a.path)  # a parent sorts before everything below it
    dir_utimes.sort(key=lambda a: (-_depth(a.path), a.path))
    return removals + creations + gits + attrs + utimes + dir_utimes


def spare_existing(
    actions: list[Action], existed: set[str], roots: tuple[str, ...]
) -> tuple[list[Action], list[str]]:
    """The actions without any removal of a path that existed, ignored, when the baseline or
    the target was taken (or of anything below one), and the paths so spared. Whatever
    the ignore rules say now, a restore never deletes what was there before."""
    if not existed:
        return actions, []
    kept, spared = [], []
    for action in actions:
        if action.op in REMOVALS and _within(action.path, existed, roots):
            spared.append(action.path)
        else:
            kept.append(action)
    return kept, sorted(spared)


def _within(path: str, paths: set[str], roots: tuple[str, ...]) -> bool:
    while True:
        if path in paths:
            return True
        if path in roots or path == "/":
            return False
        path = os.path.dirname(path)


def _partway(want: Row | None, now: Row | None) -> bool:
    """Where an interrupted restore may have left a path: removed (a type change removes
    before it creates), or the target's type and content with its mode, xattrs and mtime
    perhaps not yet applied (those come in later phases)."""
    if want is None or now is None:
        return now is None
    return same_content(want, now)


def conflicts(
    current: dict[str, Row], reference: dict[str, Row], resumed: dict[str, Row] | None
) -> list[str]:
    """Paths whose state is neither what nono last left (`reference`) nor, when finishing an
    interrupted restore, on the way to what it was writing (`resumed`): someone else's work."""
    found = []
    for path in sorted(current.keys() | reference.keys()):
        now = current.get(path)
        if now is not None and now == reference.get(path):
            continue
        if kind(reference.get(path), now) is None:
            continue
        if resumed is not None and (_partway(resumed.get(path), now) or is_restore_tmp(path)):
            continue
        found.append(path)
    return found


def check_plan(plan: RestorePlan, roots: tuple[str, ...], store: Store) -> None:
    for action in plan.actions:
        split_under(action.path, roots)  # raises for anything outside the roots
        entry = action.entry
        if action.op == "write" and entry and entry.hash and not store.has(entry.hash):
            raise RollbackError(
                f"object {entry.hash} of {entry.path} is missing from the rollback",
                "run: nono rollback verify",
            )


def read_journal(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        return {"state": "corrupt"}  # a journal torn mid-write: treated as unfinished


def write_journal(path: Path, plan: RestorePlan, state: str, **extra: Any) -> None:
    data = {"state": state, "plan": plan.to_json(), "time": time.time(), **extra}
    write_durable(path, json.dumps(data).encode())


def record_done(log: Path, plan: RestorePlan, skipped_paths: list[str]) -> None:
    """Append a finished restore to the rollback's history: which paths now hold the target
    snapshot's state, so the next plan knows what nono itself left on disk."""
    done = sorted({a.path for a in plan.actions if a.op != "gitrefs"} - set(skipped_paths))
    entry = {"time": time.time(), "to": plan.to, "paths": done}
    if plan.turn is not None:
        entry["turn"] = plan.turn  # only these paths: not the undo of the whole session
    line = json.dumps(entry) + "\n"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_done(log: Path, since: float) -> list[dict[str, Any]]:
    """Restores finished after `since`, oldest first (a torn last line is ignored)."""
    found = []
    with contextlib.suppress(FileNotFoundError), open(log, "rb") as f:
        for line in f:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry["time"] > since:
                    found.append(entry)
    return found


class Corrupt(Exception):
    pass


class Executor:
    """Runs a plan's actions through no-follow directory fds; every action may run twice."""

    def __init__(self, roots: tuple[str, ...], store: Store, git: dict[str, Any]) -> None:
        self.roots = roots
        self.store = store
        self.git = git
        self.dirs = Dirs(roots)
        self.skipped: list[str] = []
        self.skipped_paths: list[str] = []
        self.loosened: dict[str, int] = {}  # directories opened up for writing, old mode

    def run(self, plan: RestorePlan, progress: Progress | None) -> RestoreResult:
        restored: set[str] = set()
        removed = 0
        total = len(plan.actions)
        try:
            for done, action in enumerate(plan.actions, 1):
                try:
                    if self._apply(action):
                        if action.op in REMOVALS:
                            removed += 1
                        elif not (
                            action.op == "utime"
                            and action.entry is not None
                            and action.entry.type == DIR
                        ):
                            restored.add(action.path)
                except OSError as exc:
                    if exc.errno in FATAL:
                        raise RollbackError(
                            f"restore stopped at {action.path}: {exc.strerror}",
                            "fix that, then run the restore again: it picks up where it stopped",
                        ) from None
                    self._skip(action.path, f"{action.path}: {exc.strerror or exc}")
                if progress is not None:
                    progress(done, total, "restoring")
            for path, mode in self.loosened.items():
                with contextlib.suppress(OSError, RollbackError):
                    os.fchmod(self.dirs.fd(path), mode)
            for root in self.roots:
                syncfs(self.dirs.fd(root))  # everything on disk before the journal says done
        finally:
            self.dirs.close()
        return RestoreResult(len(restored), removed, tuple(self.skipped))

    def _skip(self, path: str, why: str) -> None:
        self.skipped.append(why)
        self.skipped_paths.append(path)

    def _parent(self, path: str) -> tuple[int, str]:
        return self.dirs.fd(os.path.dirname(path)), os.path.basename(path)

    def _retry_loosened(self, path: str, fn) -> None:
        """fn(parent_fd, name); if the directory denies us writing, open it up once (its mode
        is put back at the end) and try again."""
        parent, name = os.path.dirname(path), os.path.basename(path)
        try:
            fn(self.dirs.fd(parent), name)
            return
        except PermissionError:
            st = os.fstat(self.dirs.fd(parent))
            if parent in self.loosened or st.st_uid != os.getuid():
                raise
        self.loosened[parent] = stat.S_IMODE(st.st_mode)
        os.fchmod(self.dirs.fd(parent), stat.S_IMODE(st.st_mode) | 0o300)
        fn(self.dirs.fd(parent), name)

    def _with_path_fd(self, path: str, fn) -> bool:
        dfd, name = self._parent(path)
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
        try:
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                return False  # a symlink has no mode or user xattrs of its own on Linux
            fn(proc_path(fd))
            return True
        finally:
            os.close(fd)

    def _apply(self, action: Action) -> bool:
        """Do one action; False when there was nothing to do or it was skipped."""
        op, path, entry = action.op, action.path, action.entry
        if op == "gitrefs":
            why = gitrefs.restore_repo(self.dirs.fd(path), path, self.git[path], self.store)
            if why is not None:
                self._skip(path, why)
            return why is None
        assert entry is not None
        if path in self.roots:
            if op in ("chmod", "xattr", "utime"):
                return self._root_attr(op, path, entry)
            return False  # a root itself is never removed, replaced or created
        dfd, name = self._parent(path)
        st = lstat_at(dfd, name)
        if op == "unlink":
            if st is None or stat.S_ISDIR(st.st_mode):
                return False  # already gone, or a directory put here by an earlier run
            self._retry_loosened(path, lambda d, n: os.unlink(n, dir_fd=d))
            return True
        if op == "rmdir":
            if st is None or not stat.S_ISDIR(st.st_mode):
                return False
            self.dirs.forget(path)
            try:
                self._retry_loosened(path, lambda d, n: os.rmdir(n, dir_fd=d))
            except OSError as exc:
                if exc.errno == errno.ENOTEMPTY:
                    self._skip(
                        path,
                        f"{path}: not removed, it holds files that are not "
                        "tracked (excluded or ignored)",
                    )
                    return False
                raise
            return True
        if op == "mkdir":
            if st is None:
                self._retry_loosened(path, lambda d, n: os.mkdir(n, 0o700, dir_fd=d))
            elif not stat.S_ISDIR(st.st_mode):
                self._skip(path, f"{path}: not recreated, something else is in the way")
                return False
            fd = os.open(name, DIR_FLAGS, dir_fd=self._parent(path)[0])
            try:
                set_xattrs(fd, entry.xattrs)
            finally:
                os.close(fd)
            return True
        if op == "write":
            return self._write(path, entry)
        if op == "symlink":
            target, mtime = entry.target or "", entry.mtime_ns
            self._retry_loosened(path, lambda d, n: replace_with_symlink(d, n, target, mtime))
            return True
        if st is None:
            return False
        if op == "chmod":
            self.loosened.pop(path, None)  # the target mode is final, not the one before
            return self._with_path_fd(path, lambda p: os.chmod(p, entry.mode))
        if op == "xattr":
            return self._with_path_fd(path, lambda p: set_xattrs(p, entry.xattrs))
        if op == "utime":
            ns = (entry.mtime_ns, entry.mtime_ns)
            os.utime(name, ns=ns, dir_fd=self._parent(path)[0], follow_symlinks=False)
            return True
        raise RollbackError(f"unknown restore action {op!r} for {path}")

    def _root_attr(self, op: str, path: str, entry: Entry) -> bool:
        fd = self.dirs.fd(path)
        if op == "chmod":
            self.loosened.pop(path, None)
            os.fchmod(fd, entry.mode)
        elif op == "xattr":
            set_xattrs(fd, entry.xattrs)
        else:
            os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
        return True

    def _write(self, path: str, entry: Entry) -> bool:
        if entry.hash is None:
            self._skip(path, f"{path}: its content was not recorded (unreadable at snapshot time)")
            return False
        src = self.store.open(entry.hash)
        try:

            def fill(fd: int) -> None:
                copy_fd(src, fd, entry.size)
                if hash_fd(fd) != entry.hash:  # the object went bad since it was stored
                    raise Corrupt

            self._retry_loosened(
                path,
                lambda d, n: replace_with_file(
                    d, n, fill, entry.mode, entry.mtime_ns, entry.xattrs
                ),
            )
            return True
        except Corrupt:
            self._skip(
                path,
                f"{path}: not restored, object {entry.hash} is corrupt (run: nono rollback verify)",
            )
            return False
        finally:
            os.close(src)


def index_paths(rows: list[Row]) -> dict[str, Row]:
    return {row[PATH]: row for row in rows}
