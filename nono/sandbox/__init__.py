"""The sandbox: policy model, profiles, Landlock and seccomp enforcement, the launcher."""

from nono.sandbox.build import RunOptions, build_policy
from nono.sandbox.kernel import Kernel, Plan, plan, probe
from nono.sandbox.launcher import ChildSetupFailed, CommandNotFound, Prepared, prepare, spawn
from nono.sandbox.policy import Access, Decision, Grant, Policy, evaluate

__all__ = [
    "Access",
    "ChildSetupFailed",
    "CommandNotFound",
    "Decision",
    "Grant",
    "Kernel",
    "Plan",
    "Policy",
    "Prepared",
    "RunOptions",
    "build_policy",
    "evaluate",
    "plan",
    "prepare",
    "probe",
    "spawn",
]
