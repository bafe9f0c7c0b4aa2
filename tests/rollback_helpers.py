"""Small tree-building helpers shared by the rollback tests."""

from __future__ import annotations

import os
from pathlib import Path

OLD_NS = 1_600_000_000_123_456_789  # well before any snapshot: outside its timestamp tick


def age(root: Path) -> None:
    """Give every path an old mtime, as a real project's files have."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in dirnames + filenames:
            os.utime(Path(dirpath) / name, ns=(OLD_NS, OLD_NS), follow_symlinks=False)
    os.utime(root, ns=(OLD_NS, OLD_NS))


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path
