"""Taking a snapshot: walk the roots, reuse what is unchanged, copy the rest, seal a manifest."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from nono.rollback import gitrefs, printable
from nono.rollback.fsops import Dirs, user_xattrs
from nono.rollback.manifest import Manifest, paused_gc
from nono.rollback.model import (
    CTIME,
    DIR,
    FILE,
    HASH,
    INO,
    MTIME,
    SIZE,
    SYMLINK,
    TYPE,
    XATTRS,
    Options,
    Progress,
    RollbackError,
    Row,
    make_row,
)
from nono.rollback.store import READ_FLAGS, Store, hash_fd
from nono.rollback.walk import Spec, walk

# The kernel stamps files from a coarse clock (a jiffy, up to 10 ms); filesystems that keep
# whole seconds (FAT, some network mounts) can round by up to 2 s.
TICK_NS = 20_000_000
COARSE_TICK_NS = 2_000_000_000
RETRIES = 3
PROGRESS_EVERY = 0.05


@dataclass
class Scan:
    rows: list[Row] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    new_objects: int = 0
    git: dict = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)


def racy(row: Row, started_ns: int) -> bool:
    """Modified within the tick in which the earlier snapshot ran: a later write in that same
    tick would leave (size, mtime, ino, ctime) unchanged, so the stat cannot be trusted."""
    mtime = row[MTIME]
    tick = COARSE_TICK_NS if mtime % 1_000_000_000 == 0 else TICK_NS
    return mtime >= started_ns - tick


def reusable(old: Row | None, st: os.stat_result, started_ns: int) -> bool:
    return (
        old is not None
        and old[TYPE] == FILE
        and old[HASH] is not None
        and old[SIZE] == st.st_size
        and old[MTIME] == st.st_mtime_ns
        and old[INO] == st.st_ino
        and old[CTIME] == st.st_ctime_ns
        and not racy(old, started_ns)
    )


def capture(path: str, dirs: Dirs, store: Store | None, scan: Scan) -> Row | None:
    """Hash (and with a store, copy) one file; None if it is gone or no longer a file."""
    name = os.path.basename(path)
    for attempt in range(RETRIES):
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=dirs.fd(os.path.dirname(path)))
        except PermissionError as exc:
            try:
                st = os.stat(name, dir_fd=dirs.fd(os.path.dirname(path)), follow_symlinks=False)
            except OSError:
                return None
            scan.notices.append(
                f"{path} is unreadable ({exc.strerror}); recorded without its content"
            )
            return make_row(path, FILE, st)
        except OSError:
            return None  # vanished, or replaced by a symlink or a directory since the walk
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                return None
            if store is None:
                digest, copied = hash_fd(fd), before.st_size
            else:
                digest, new, copied = store.put_fd(fd, before.st_size)
                scan.new_objects += new
            xattrs = user_xattrs(fd)
            after = os.fstat(fd)
        finally:
            os.close(fd)
        stamp = (before.st_size, before.st_mtime_ns, before.st_ctime_ns)
        same = stamp == (after.st_size, after.st_mtime_ns, after.st_ctime_ns)
        if same and copied == after.st_size:
            return make_row(path, FILE, after, digest=digest, xattrs=xattrs)
        if attempt == RETRIES - 1:
            # Still being written: keep the bytes we hold, under the stat that matches them.
            scan.notices.append(
                f"{path} kept changing while it was copied; the snapshot holds one read of it"
            )
            return make_row(path, FILE, after, size=copied, digest=digest, xattrs=xattrs)
    return None


def scan(
    roots: tuple[str, ...],
    options: Options,
    previous: Manifest | None,
    store: Store | None,
    progress: Progress | None = None,
    extra: tuple[str, ...] = (),
    rules: Mapping[str, Spec] | None = None,
) -> Scan:
    """Rows for every tracked path (sorted), reusing `previous` where the stat is unchanged.

    With a store, new content is copied into it (a snapshot); without, it is only hashed (the
    current state, for planning a restore). `extra` paths are looked up even if the walk
    skipped them (paths a manifest knows that are excluded now). `rules`: the baseline's
    ignore rules (see walk); None reads them from disk (the baseline itself)."""
    out = Scan()
    prev = previous.by_path if previous is not None else {}
    started = previous.started_ns if previous is not None else 0
    with paused_gc(), Dirs(roots, "snapshot") as dirs:
        walked = walk(roots, options, dirs, progress, rules)
        out.notices.extend(walked.notices)
        out.ignored = walked.ignored
        out.runs = walked.runs
        items = walked.items
        seen = {path for path, _ in items}
        for path in extra:
            if path not in seen:
                st = _lstat_beneath(dirs, path)
                if st is not None:
                    items.append((path, st))
        pending: list[tuple[str, os.stat_result]] = []
        for path, st in items:
            mode = st.st_mode
            if stat.S_ISREG(mode):
                old = prev.get(path)
                if reusable(old, st, started):
                    assert old is not None
                    out.rows.append(make_row(path, FILE, st, digest=old[HASH], xattrs=old[XATTRS]))
                else:
                    pending.append((path, st))
            elif stat.S_ISDIR(mode):
                xattrs = walked.dir_xattrs.get(path)
                out.rows.append(make_row(path, DIR, st, size=0, xattrs=xattrs))
            elif stat.S_ISLNK(mode):
                target = _readlink(dirs, path)
                if target is not None:
                    size = len(os.fsencode(target))
                    out.rows.append(make_row(path, SYMLINK, st, size=size, target=target))
        pending.sort()
        last = 0.0
        for done, (path, _st) in enumerate(pending, 1):
            row = capture(path, dirs, store, out)
            if row is not None:
                out.rows.append(row)
            now = time.monotonic()
            if progress is not None and (now - last > PROGRESS_EVERY or done == len(pending)):
                progress(done, len(pending), "copying" if store else "hashing")
                last = now
        for repo in walked.repos:
            record = gitrefs.read_repo(repo, store)
            if record is not None:
                out.git[repo] = record
    out.rows.sort()
    return out


def _readlink(dirs: Dirs, path: str) -> str | None:
    try:
        return os.readlink(os.path.basename(path), dir_fd=dirs.fd(os.path.dirname(path)))
    except OSError:
        return None


def _lstat_beneath(dirs: Dirs, path: str) -> os.stat_result | None:
    """lstat through the no-symlink parent chain; None if absent or behind a symlink."""
    try:
        return os.stat(
            os.path.basename(path), dir_fd=dirs.fd(os.path.dirname(path)), follow_symlinks=False
        )
    except (OSError, RollbackError):
        return None


def take(
    store: Store,
    roots: tuple[str, ...],
    options: Options,
    index: int,
    previous: Manifest | None,
    progress: Progress | None = None,
    rules: Mapping[str, Spec] | None = None,
    late: bool = False,
) -> Manifest:
    """Snapshot `index`: objects copied and flushed; the caller writes the manifest."""
    started_ns = time.time_ns()
    result = scan(roots, options, previous, store, progress, rules=rules)
    store.sync()  # every object (and its directory entry) is on disk before a manifest names it
    files = [row for row in result.rows if row[TYPE] == FILE]
    return Manifest(
        index=index,
        created=time.time(),
        started_ns=started_ns,
        roots=roots,
        rows=result.rows,
        git=result.git,
        notices=tuple(printable.text(n) for n in result.notices),  # they name agent files
        files=len(files),
        bytes=sum(row[SIZE] for row in files),
        new_objects=result.new_objects,
        ignored=tuple(sorted(result.ignored)),
        late=late,
        runs=result.runs,
    )
