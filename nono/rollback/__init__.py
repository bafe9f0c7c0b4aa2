"""Rollback: snapshot what an agent may change, show what changed, and undo it byte for byte."""

from nono.rollback.catalog import cleanup, list_rollbacks
from nono.rollback.location import rollbacks_dir
from nono.rollback.model import (
    Action,
    Change,
    Entry,
    Options,
    Progress,
    RestorePlan,
    RestoreResult,
    RollbackError,
    SnapshotInfo,
)
from nono.rollback.rollback import Rollback

__all__ = [
    "Action",
    "Change",
    "Entry",
    "Options",
    "Progress",
    "RestorePlan",
    "RestoreResult",
    "Rollback",
    "RollbackError",
    "SnapshotInfo",
    "cleanup",
    "list_rollbacks",
    "rollbacks_dir",
]
