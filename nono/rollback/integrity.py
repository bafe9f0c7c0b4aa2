"""Checking a rollback end to end: manifests against their Merkle roots, objects against
their names, each problem naming the snapshot or object and the files that use it."""

from __future__ import annotations

from pathlib import Path

from nono.rollback.manifest import read_manifest
from nono.rollback.model import FILE, HASH, PATH, TYPE, RollbackError
from nono.rollback.store import Store


def problems(snapdir: Path, indexes: list[int], store: Store) -> list[str]:
    """Every problem found in the snapshots `indexes` and the objects of `store`."""
    found: list[str] = []
    users: dict[str, list[str]] = {}
    for index in indexes:
        try:
            manifest = read_manifest(snapdir, index, check=True)
        except RollbackError as exc:
            found.append(exc.message)
            continue
        for row in manifest.rows:
            if row[TYPE] == FILE and row[HASH] is not None:
                users.setdefault(row[HASH], []).append(f"{row[PATH]} (snapshot {index})")
        for repo, record in manifest.git.items():
            for name in ("index", "packed-refs"):
                if record.get(name):
                    users.setdefault(record[name], []).append(
                        f"{repo}/.git/{name} (snapshot {index})"
                    )
    for digest in sorted(set(store.all_objects()) | users.keys()):
        problem = store.check(digest)
        if problem is not None:
            used = users.get(digest, [])
            by = ", ".join(used[:5]) + (f" and {len(used) - 5} more" if len(used) > 5 else "")
            found.append(f"object {digest} is {problem}; used by {by or 'no snapshot'}")
    return found
