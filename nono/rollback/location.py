"""Where rollbacks live: one private directory per rollback under nono's state directory."""

from __future__ import annotations

import os
from pathlib import Path

from nono import paths


def rollbacks_dir() -> Path:
    """$XDG_STATE_HOME/nono/rollbacks (0700): nothing a sandboxed agent can reach."""
    return paths.ensure_private_dir(paths.ensure_private_dir(paths.state_dir()) / "rollbacks")


def rollback_ids() -> list[str]:
    """Ids of the complete rollbacks (dot-names are partial baselines or removals under way)."""
    return sorted(n for n in os.listdir(rollbacks_dir()) if not n.startswith("."))
