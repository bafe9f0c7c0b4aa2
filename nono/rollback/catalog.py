"""All rollbacks at once: listing them, and removing old ones by count, age or total size."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from nono.errors import NonoError
from nono.rollback.handle import Rollback
from nono.rollback.location import rollback_ids, rollbacks_dir
from nono.rollback.model import RollbackError


def list_rollbacks(path: str | None = None, recent: int | None = None) -> list[Rollback]:
    """Newest first; with `path`, only those whose roots contain it."""
    found = []
    for rid in rollback_ids():
        with contextlib.suppress(NonoError):
            found.append(Rollback.load(rollbacks_dir() / rid))
    found.sort(key=lambda r: r.created, reverse=True)
    if path is not None:
        where = os.path.realpath(os.path.abspath(os.path.expanduser(path)))
        found = [
            r
            for r in found
            if any(where == root or where.startswith(root.rstrip("/") + "/") for root in r.roots)
        ]
    return found[:recent] if recent is not None else found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_leftovers(base: Path) -> None:
    """Partial baselines of crashed processes, and removals cut short."""
    for name in os.listdir(base):
        if name.startswith(".removing-"):
            shutil.rmtree(base / name, ignore_errors=True)
        elif name.startswith(".partial-"):
            pid = name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(base / name, ignore_errors=True)


def cleanup(
    keep: int | None = None,
    older_than_days: float | None = None,
    max_total_bytes: int | None = None,
    dry_run: bool = False,
) -> list[Rollback]:
    """Remove rollbacks beyond the newest `keep`, older than the cutoff, or (oldest first)
    until the total fits `max_total_bytes`; returns what was (or would be) removed."""
    every = list_rollbacks()
    doomed: dict[str, Rollback] = {}
    if keep is not None:
        doomed.update((r.id, r) for r in every[max(keep, 0) :])
    if older_than_days is not None:
        cutoff = time.time() - older_than_days * 86400
        doomed.update((r.id, r) for r in every if r.created < cutoff)
    if max_total_bytes is not None:
        sizes = {r.id: r.size_bytes() for r in every if r.id not in doomed}
        total = sum(sizes.values())
        for r in reversed(every):
            if total <= max_total_bytes:
                break
            if r.id in sizes:
                doomed[r.id] = r
                total -= sizes[r.id]
    removed = [r for r in every if r.id in doomed]
    if not dry_run:
        for r in list(removed):
            try:
                r.remove()
            except (FileNotFoundError, RollbackError):
                removed.remove(r)  # gone already, or busy with a snapshot or restore
        _sweep_leftovers(rollbacks_dir())
    return removed


@dataclass(frozen=True)
class Retained:
    """What retention did: removed, and kept beyond the limits because it would lose work."""

    removed: tuple[Rollback, ...]
    # (rollback, changes no restore has undone; None: no final snapshot, its session may run)
    spared: tuple[tuple[Rollback, int | None], ...]
    # Removed although they held unrestored changes: the disk cap (max_total_bytes) is a hard
    # limit, or sparing would let rollbacks grow without end. Oldest first; always said.
    forced: tuple[tuple[Rollback, int], ...] = ()


def retain(
    keep: int | None,
    older_than_days: float | None,
    max_total_bytes: int | None,
    *,
    current: str | None = None,
) -> Retained:
    """The retention every run applies after its final snapshot, the same in every mode
    (scripted, terminal, detached): the rollbacks `cleanup` would remove, except the `current`
    one and any holding changes no restore has undone (or whose session may still run): those
    are kept and returned, so the caller says so instead of losing them without a word."""
    removed, spared = [], []
    for rb in cleanup(keep, older_than_days, max_total_bytes, dry_run=True):
        if rb.id == current:
            continue
        try:
            left = rb.unrestored()
        except NonoError:  # unreadable: not this function's to judge, and not to delete
            left = None
        if left != 0:
            spared.append((rb, left))
            continue
        try:
            rb.remove()
            removed.append(rb)
        except (FileNotFoundError, RollbackError):
            pass  # gone already, or busy with a snapshot or restore
    forced = []
    if max_total_bytes is not None and spared:
        sizes = {r.id: r.size_bytes() for r in list_rollbacks()}
        total = sum(sizes.values())
        for rb, left in sorted(spared, key=lambda item: item[0].created):  # oldest first
            if total <= max_total_bytes:
                break
            if left is None:
                continue  # its session may still run: its final snapshot is not taken yet
            try:
                rb.remove()
            except (FileNotFoundError, RollbackError):
                continue
            total -= sizes.get(rb.id, 0)
            forced.append((rb, left))
        gone = {rb.id for rb, _ in forced}
        spared = [(rb, left) for rb, left in spared if rb.id not in gone]
    _sweep_leftovers(rollbacks_dir())
    return Retained(tuple(removed), tuple(spared), tuple(forced))
