"""A rollback: its private directory, its snapshots, and the operations a person runs on it."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nono import paths
from nono.rollback import integrity, planning, turns
from nono.rollback import restore as restoring
from nono.rollback.changes import RefChange, compare, compare_refs, diff_text
from nono.rollback.location import normalise_roots, rollback_ids, rollbacks_dir
from nono.rollback.manifest import (
    Manifest,
    info_path,
    manifest_path,
    read_info,
    read_manifest,
    snapshot_indexes,
    write_durable,
    write_manifest,
)
from nono.rollback.model import (
    Change,
    Options,
    Progress,
    RestorePlan,
    RestoreResult,
    RollbackError,
    SnapshotInfo,
    Turn,
)
from nono.rollback.snapshot import take
from nono.rollback.store import Store
from nono.rollback.walk import Spec, baseline_rules

META = "rollback.json"
JOURNAL = "restore.journal"
RESTORES = "restores.log"
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def process_token(pid: int) -> str | None:
    """What tells a live process from a later one given its pid: its start time in clock
    ticks since boot (/proc/PID/stat field 22). None if there is no such live process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode()


class Rollback:
    """One rollback directory: rollback.json, objects/, snapshots/, restore.journal."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self.id: str = meta["id"]
        self.roots: tuple[str, ...] = tuple(meta["roots"])
        self.created: float = meta["created"]
        self.session_id: str | None = meta.get("session_id")
        self.command: tuple[str, ...] = tuple(meta.get("command", ()))
        # The process that made the baseline and takes the final snapshot itself (a direct
        # run), or starts the session whose supervisor takes it.
        self.owner: dict[str, Any] = meta.get("owner") or {}
        opts = meta.get("options", {})
        self.options = Options(
            tuple(opts.get("excludes", ())),
            opts.get("walk_budget", Options.walk_budget),
            opts.get("big_dir_notice", Options.big_dir_notice),
            opts.get("path_budget", Options.path_budget),
        )
        self.store = Store(path)
        self._manifests: dict[int, Manifest] = {}
        self._rules: dict[str, Spec] | None = None

    def __repr__(self) -> str:
        return f"Rollback({self.id!r}, roots={self.roots!r})"

    @property
    def _snapdir(self) -> Path:
        return self.path / "snapshots"

    # -- creating and finding ------------------------------------------------------------

    @classmethod
    def create(
        cls,
        roots: Sequence[str],
        options: Options = Options(),  # noqa: B008 - frozen, so a shared default is safe
        *,
        session_id: str | None = None,
        command: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> Rollback:
        """A new rollback with its baseline (snapshot 0) durable on disk, or nothing at all."""
        tracked = normalise_roots(roots)
        base = rollbacks_dir()
        rid = secrets.token_hex(6)
        # Built under a dot-name and renamed into place: a crash never leaves a half rollback
        # that open() or list_rollbacks() could find.
        partial = base / f".partial-{rid}-{os.getpid()}"
        meta = {
            "version": 1,
            "id": rid,
            "roots": list(tracked),
            "created": time.time(),
            "session_id": session_id,
            "command": list(command),
            "owner": {"pid": os.getpid(), "start": process_token(os.getpid())},
            "options": {
                "excludes": list(options.excludes),
                "walk_budget": options.walk_budget,
                "big_dir_notice": options.big_dir_notice,
                "path_budget": options.path_budget,
            },
        }
        what = ", ".join(tracked)
        try:
            partial.mkdir(mode=0o700)
            (partial / "snapshots").mkdir(mode=0o700)
            rollback = cls(partial, meta)
            rollback.store.init()
            write_durable(partial / META, json.dumps(meta, indent=1).encode())
            manifest = take(rollback.store, tracked, options, 0, None, progress)
            write_manifest(partial / "snapshots", manifest)
            os.rename(partial, base / rid)
            paths.fsync_dir(base)
        except BaseException as exc:
            shutil.rmtree(partial, ignore_errors=True)
            if isinstance(exc, OSError) and exc.errno in NO_SPACE:
                raise RollbackError(
                    f"not enough space for the rollback baseline of {what} ({exc.strerror})",
                    f"free space where {base} lives, or leave large directories out with "
                    "--rollback-exclude PATTERN",
                ) from None
            if isinstance(exc, OSError):
                raise RollbackError(
                    f"cannot take the rollback baseline of {what}: {exc.strerror}"
                    + (f" ({exc.filename})" if exc.filename else "")
                ) from None
            raise
        rollback = cls(base / rid, meta)
        rollback._manifests[0] = manifest
        return rollback

    @classmethod
    def load(cls, path: Path) -> Rollback:
        try:
            meta = json.loads((path / META).read_bytes())
            return cls(path, meta)
        except FileNotFoundError:
            raise RollbackError(f"{path} is not a rollback (no {META})") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise RollbackError(f"{path / META} is corrupt: {exc}") from None

    @classmethod
    def open(cls, ref: str) -> Rollback:
        """By id or unique id prefix; otherwise an error listing the candidates."""
        ids = rollback_ids()
        if ref in ids:
            return cls.load(rollbacks_dir() / ref)
        matches = [i for i in ids if ref and i.startswith(ref)]
        if len(matches) == 1:
            return cls.load(rollbacks_dir() / matches[0])
        if not matches:
            known = ", ".join(ids[-10:]) or "none"
            raise RollbackError(f"no rollback matches {ref!r}", f"rollbacks: {known}")
        raise RollbackError(
            f"{ref!r} is ambiguous: {', '.join(sorted(matches))}", "give more of the id"
        )

    # -- snapshots -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, wait: bool = False) -> Iterator[None]:
        """One snapshot or restore at a time per rollback; `wait` for the one running (an
        flock: it ends with its holder, even one killed), else refuse at once."""
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise RollbackError(
                    f"rollback {self.id} is busy (a snapshot or restore is running)",
                    "try again when it has finished",
                ) from None
            yield
        finally:
            os.close(fd)

    def _indexes(self) -> list[int]:
        found = snapshot_indexes(self._snapdir)
        if not found:
            raise RollbackError(f"rollback {self.id} has no snapshots (its baseline is missing)")
        return found

    def manifest(self, index: int) -> Manifest:
        if index < 0:
            index = self._indexes()[index]
        if index not in self._manifests:
            if index not in self._indexes():
                raise RollbackError(
                    f"rollback {self.id} has no snapshot {index}",
                    f"snapshots: {', '.join(map(str, self._indexes()))}",
                )
            self._manifests[index] = read_manifest(self._snapdir, index)
        return self._manifests[index]

    def owner_alive(self) -> bool:
        """Whether the process that made the baseline still runs (and is not this one)."""
        pid = self.owner.get("pid")
        if not isinstance(pid, int) or pid == os.getpid():
            return False
        token = process_token(pid)
        return token is not None and token == self.owner.get("start")

    def final_missing(self) -> bool:
        """No final snapshot yet, only the baseline and the turns: the session has not ended,
        or it ended without one (supervisor killed, disk full). Without one every change the
        agent made since its last turn would look like the person's own, made after it."""
        return self.final() is None

    def final(self) -> SnapshotInfo | None:
        """The snapshot taken when the session ended, or None."""
        latest = self._indexes()[-1]
        info = read_info(self._snapdir, latest) if latest != 0 else None
        return None if info is None or info.turn else info

    def snapshot(self, progress: Progress | None = None, *, late: bool = False) -> SnapshotInfo:
        """The final snapshot, incremental against the latest one; `late` marks one taken
        after the session ended without one. It waits for a turn snapshot still running."""
        with self._locked(wait=True):
            if late and not self.final_missing():
                return self.manifest(-1).info()  # another process took it meanwhile
            manifest = self._take(progress, turn=False, late=late)
            assert manifest is not None
            return manifest.info()

    def turn_snapshot(self) -> SnapshotInfo | None:
        """A snapshot while the session runs, when the agent's turn has ended; None when
        nothing changed since the latest snapshot (no snapshot is kept), or when the session
        has ended (its final snapshot is taken). RollbackError when a restore is running or
        the disk is full: then this turn's changes go into the next snapshot, and the ones
        before, the baseline included, stay as they were."""
        with self._locked():
            if not self.final_missing():
                return None
            manifest = self._take(None, turn=True, late=False)
            return None if manifest is None else manifest.info()

    def _take(self, progress: Progress | None, *, turn: bool, late: bool) -> Manifest | None:
        """The next snapshot, written; for a turn, None when it holds no change. Under the lock."""
        previous = self.manifest(-1)
        index = previous.index + 1
        self.store.clear_tmp()  # what a killed snapshot left behind
        try:
            manifest = take(self.store, self.roots, self.options, index, previous, progress,
                            self.rules(), late=late)  # fmt: skip
            manifest.turn = turn
            manifest.changes = turns.count_changes(previous, manifest)
            if turn and not manifest.changes:
                return None
            write_manifest(self._snapdir, manifest)
        except OSError as exc:
            if turn:  # a turn is whole or absent: no manifest that lost its info file
                for leftover in (manifest_path(self._snapdir, index),
                                 info_path(self._snapdir, index)):  # fmt: skip
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(leftover)
            what = f"{'turn ' if turn else ''}snapshot {index} of rollback {self.id}"
            why = "not enough space for" if exc.errno in NO_SPACE else "cannot take"
            raise RollbackError(f"{why} {what}: {exc.strerror}",
                                "free space and try again; the earlier snapshots are "
                                "intact") from None  # fmt: skip
        self._manifests[index] = manifest
        return manifest

    def rules(self) -> dict[str, Spec]:
        """The ignore rules every snapshot and restore of this rollback applies: the
        .gitignore files of the baseline, read from its copies in the store. Rules written
        during or after the session change nothing: exclusions stay the baseline's."""
        if self._rules is None:
            self._rules = baseline_rules(self.manifest(0).rows, self.store.read)
        return self._rules

    def snapshots(self) -> list[SnapshotInfo]:
        return [read_info(self._snapdir, i) for i in self._indexes()]

    def turns(self) -> list[Turn]:
        """The turns that changed something, numbered 1..N; a session without turn snapshots
        has one, the whole session (once its final snapshot is taken)."""

        def counted(index: int) -> int:
            return turns.count_changes(self.manifest(index - 1), self.manifest(index))

        return turns.number(self.snapshots(), counted)

    def turn(self, wanted: int | str) -> Turn:
        """Turn `wanted` (1..N, or "last"); a RollbackError naming the valid ones otherwise."""
        return turns.pick(self.turns(), wanted, self.id)

    def changes(self, since: int = 0, until: int | None = None) -> list[Change]:
        old = self.manifest(since)
        new = self.manifest(-1 if until is None else until)
        return compare(old.by_path, new.by_path)

    def unrestored(self) -> int | None:
        """How many of the session's changes (paths and git refs) no restore has undone; None
        while there is no final snapshot (the session still runs, or ended without one)."""
        if self.final_missing():
            return None
        base, latest = self.manifest(0), self.manifest(-1)
        paths = compare(base.by_path, self._reference().by_path)
        done = restoring.read_done(self.path / RESTORES, latest.created)
        whole = any(d.get("to") == 0 and not d.get("turn") for d in done)
        refs = [] if whole else compare_refs(base.git, latest.git)
        return len(paths) + len(refs)

    def ref_changes(self, since: int = 0, until: int = -1) -> list[RefChange]:
        """HEAD, branches and tags the session (or one turn) moved under the roots."""
        return compare_refs(self.manifest(since).git, self.manifest(until).git)

    def runs_outside(self) -> dict[str, str]:
        """Work-tree paths git was pointed at (core.hooksPath, includes) before or after."""
        return {**self.manifest(0).runs, **self.manifest(-1).runs}

    def diff(self, change: Change) -> str:
        label = change.path
        for root in self.roots:
            if change.path.startswith(root.rstrip("/") + "/"):
                label = change.path[len(root.rstrip("/")) + 1 :]
        return diff_text(self.store, change, label)

    # -- restore -------------------------------------------------------------------------

    def _journal(self) -> dict[str, Any] | None:
        return restoring.read_journal(self.path / JOURNAL)

    def pending_restore(self) -> RestorePlan | None:
        """The plan of a restore that was interrupted (run restore again to finish it)."""
        journal = self._journal()
        if journal is None or journal.get("state") == "done" or "plan" not in journal:
            return None
        return RestorePlan.from_json(journal["plan"])

    def _reference(self) -> Manifest:
        """The state nono last left the tree in (see planning.reference)."""
        latest = self.manifest(-1)
        done = restoring.read_done(self.path / RESTORES, latest.created)
        return planning.reference(latest, done, self.manifest)

    def plan_restore(self, to: int = 0, *, force: bool = False) -> RestorePlan:
        """What restoring snapshot `to` would do, from the disk as it is now."""
        return planning.whole(self, to, self._reference(), self.pending_restore(), force=force)

    def plan_turn_restore(self, wanted: int | str, *, force: bool = False) -> RestorePlan:
        """What undoing one turn (1..N, or "last") would do: each path it changed back to its
        state before it. A path changed after the turn (`plan.newer`) is left as it is,
        unless `force`."""
        return planning.one_turn(self, self.turn(wanted), self._reference(), force=force)

    def restore(self, plan: RestorePlan, progress: Progress | None = None) -> RestoreResult:
        """Carry out a plan; safe to run again (with the same plan) after an interruption."""
        if plan.rollback_id != self.id:
            raise RollbackError(f"that plan belongs to rollback {plan.rollback_id}, not {self.id}")
        if plan.conflicts and not plan.force:
            listed = ", ".join(plan.conflicts[:5]) + (" ..." if len(plan.conflicts) > 5 else "")
            raise RollbackError(
                f"{len(plan.conflicts)} path(s) changed after the last snapshot: {listed}",
                "restoring would overwrite that work; use --force to restore anyway",
            )
        restoring.check_plan(plan, self.roots, self.store)
        target = self.manifest(plan.to)
        journal = self.path / JOURNAL
        with self._locked():
            try:
                restoring.write_journal(journal, plan, "running")
            except OSError as exc:
                raise RollbackError(
                    f"cannot write the restore journal: {exc.strerror}",
                    "free space where nono keeps its state",
                ) from None
            executor = restoring.Executor(self.roots, self.store, target.git)
            result = executor.run(plan, progress)
            restoring.record_done(self.path / RESTORES, plan, executor.skipped_paths)
            restoring.write_journal(journal, plan, "done", skipped=list(result.skipped))
        return result

    # -- integrity and size --------------------------------------------------------------

    def verify(self) -> list[str]:
        """Every problem found: manifests against their Merkle roots, objects against their
        names. Each names the snapshot or object and the files that use it."""
        return integrity.problems(self._snapdir, self._indexes(), self.store)

    def size_bytes(self) -> int:
        """Disk space used (allocated blocks, so reflinked copies count as little as they use)."""
        total = 0
        for dirpath, _dirs, files in os.walk(self.path):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
        return total

    def remove(self) -> None:
        """Delete the rollback: renamed out of sight first, so it vanishes at once. A rollback
        busy with a snapshot or restore is not removed (RollbackError)."""
        doomed = self.path.with_name(f".removing-{self.id}-{secrets.token_hex(3)}")
        with self._locked():
            os.rename(self.path, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
