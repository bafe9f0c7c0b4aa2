"""The bound on how many processes a sandbox may hold, and how this machine enforces it.

An ordinary user's bound is RLIMIT_NPROC set inside the sandbox's user namespace: since 5.14
the kernel counts it per namespace, so it counts the sandbox's processes only, not the user's
others. Root ignores RLIMIT_NPROC, so root's bound is a pids cgroup made for the run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass

from nono.errors import NonoError

DEFAULT_MAX_PROCESSES = 4096


@dataclass(frozen=True)
class ProcessBound:
    limit: int
    cgroup_parent: str | None = None  # root: where the run's pids cgroup is made

    def describe(self) -> str:
        how = "a pids cgroup" if self.cgroup_parent else "RLIMIT_NPROC in its user namespace"
        return f"processes: at most {self.limit} (threads count; {how})"


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def pids_cgroup() -> str | None:
    """A writable cgroup directory under which a child with pids.max can be made, or None."""
    for line in _read("/proc/self/cgroup").splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and not controllers:
            base = "/sys/fs/cgroup" + path.rstrip("/")
            enabled = _read(os.path.join(base, "cgroup.subtree_control")).split()
            if "pids" in enabled and os.access(base, os.W_OK):
                return base
        elif "pids" in controllers.split(","):
            base = "/sys/fs/cgroup/pids" + path.rstrip("/")
            # (The hierarchy's root has no pids.max of its own; its children do.)
            if os.path.isfile(os.path.join(base, "cgroup.procs")) and os.access(base, os.W_OK):
                return base
    return None


def plan_bound(limit: int | None) -> ProcessBound | None:
    """How `limit` is enforced here; refuses when it cannot be."""
    if not limit:
        return None
    if os.getuid() != 0:
        return ProcessBound(limit)
    parent = pids_cgroup()
    if parent is None:
        raise NonoError(
            f"cannot bound the sandbox to {limit} processes: root ignores RLIMIT_NPROC and "
            "no writable pids cgroup was found",
            "run nono as an ordinary user, give it a pids cgroup (cgroup v1 pids, or v2 with "
            "pids in subtree_control), or turn the bound off with --max-processes 0",
        )
    return ProcessBound(limit, parent)


def enter_cgroup(bound: ProcessBound) -> str:
    """In the child's first process, before it forks the sandbox: a cgroup of its own."""
    assert bound.cgroup_parent is not None
    _sweep(bound.cgroup_parent)
    path = os.path.join(bound.cgroup_parent, f"nono-{os.getpid()}")
    os.mkdir(path, 0o755)
    for name, value in (("pids.max", str(bound.limit)), ("cgroup.procs", "0")):
        with open(os.path.join(path, name), "w") as f:
            f.write(value)
    return path


def leave_cgroup(path: str) -> None:
    """Once the sandbox has ended: back to the parent cgroup, and the run's cgroup removed
    (once the processes the namespace's end killed are gone: they leave asynchronously)."""
    parent_procs = os.path.join(os.path.dirname(path), "cgroup.procs")
    with contextlib.suppress(OSError), open(parent_procs, "w") as f:
        f.write("0")
    for _ in range(200):
        try:
            os.rmdir(path)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                return
            time.sleep(0.005)


def _sweep(parent: str) -> None:
    """Remove the cgroups of runs whose first process was killed before it could."""
    with contextlib.suppress(OSError):
        for name in os.listdir(parent):
            pid = name.removeprefix("nono-")
            if name.startswith("nono-") and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(parent, name))


def set_rlimit(bound: ProcessBound) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NPROC, (bound.limit, bound.limit))
