"""Where rollbacks live (one private directory each under nono's state directory), and which
directories one may track."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from nono import paths
from nono.rollback.model import RollbackError


def rollbacks_dir() -> Path:
    """$XDG_STATE_HOME/nono/rollbacks (0700): nothing a sandboxed agent can reach."""
    return paths.ensure_private_dir(paths.ensure_private_dir(paths.state_dir()) / "rollbacks")


def rollback_ids() -> list[str]:
    """Ids of the complete rollbacks (dot-names are partial baselines or removals under way)."""
    return sorted(n for n in os.listdir(rollbacks_dir()) if not n.startswith("."))


def normalise_roots(roots: Sequence[str]) -> tuple[str, ...]:
    """Real, absolute, deduplicated roots; a root inside another is covered by it."""
    real = sorted({os.path.realpath(os.path.abspath(os.path.expanduser(r))) for r in roots})
    kept: list[str] = []
    for root in real:
        if not any(root == k or root.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(root)
    if not kept:
        raise RollbackError("a rollback needs at least one directory to track")
    state = os.path.realpath(paths.state_dir())
    for root in kept:
        if state == root or state.startswith(root.rstrip("/") + "/"):
            # The store would snapshot itself, and an agent could write nono's own state.
            raise RollbackError(f"cannot track {root}: it holds nono's state ({state})")
    return tuple(kept)
