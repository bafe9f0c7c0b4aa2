"""Rollback: snapshot what an agent may change, show what changed, and undo it byte for byte."""

from nono.rollback.catalog import Retained, cleanup, list_rollbacks, retain
from nono.rollback.handle import Rollback
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
    Turn,
)

__all__ = [
    "Action",
    "Change",
    "Entry",
    "Options",
    "Progress",
    "RestorePlan",
    "RestoreResult",
    "Retained",
    "Rollback",
    "RollbackError",
    "SnapshotInfo",
    "Turn",
    "cleanup",
    "list_rollbacks",
    "retain",
    "rollbacks_dir",
]
