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
from typing import NamedTuple

from nono.errors import NonoError

DEFAULT_MAX_PROCESSES = 4096


class ProcessBound(NamedTuple):  # a NamedTuple: see view.Bind
    limit: int
    cgroup_parent: str | None = None  # root: where the run's pids cgroup is made

    def describe(self) -> str:
        how = "a pids cgroup" if self.cgroup_parent else "RLIMIT_NPROC in its user namespace"
        return f"processes: at most {self.limit} (threads count; {how})"


def read_or_empty(path: str) -> str:
    """A small /proc or /sys file's text, "" when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def pids_cgroup() -> str | None:
    """A writable cgroup directory under which a child with pids.max can be made, or None."""
    for line in read_or_empty("/proc/self/cgroup").splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and not controllers:
            base = "/sys/fs/cgroup" + path.rstrip("/")
            enabled = read_or_empty(os.path.join(base, "cgroup.subtree_control")).split()
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


class CgroupJoin:
    """Root's pids cgroup, joined by nono's own process in a thread while it goes on building
    the sandbox, so that the child it forks starts inside. A move into a cgroup waits for an
    RCU grace period (12 ms measured on cgroup v1 here, a blocking kernel call: hence the
    thread), which the policy's construction hides. nono leaves it again once the child is
    forked (a move out costs ~0.05 ms); the child's first process removes it at the end."""

    def __init__(self, bound: ProcessBound) -> None:
        import threading

        assert bound.cgroup_parent is not None
        self.parent = bound.cgroup_parent
        self.path = os.path.join(self.parent, f"nono-{os.getpid()}")
        self.limit = bound.limit
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self._join, name="nono-cgroup", daemon=True)
        self.thread.start()

    def _join(self) -> None:
        try:
            _sweep(self.parent)
            os.mkdir(self.path, 0o755)
            _write(os.path.join(self.path, "pids.max"), str(self.limit))
            _write(os.path.join(self.path, "cgroup.procs"), str(os.getpid()))
        except OSError as exc:
            self.error = exc

    def wait(self) -> str:
        """The cgroup this process is now in (call before forking the child)."""
        self.thread.join()
        if self.error is not None:
            raise NonoError(
                f"cannot bound the sandbox's processes: {self.path}: {self.error.strerror}",
                "turn the bound off with --max-processes 0",
            )
        return self.path

    def leave(self) -> None:
        """This process (not the child forked inside) back in the parent cgroup."""
        self.thread.join()
        with contextlib.suppress(OSError):
            _write(os.path.join(self.parent, "cgroup.procs"), str(os.getpid()))


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


class CgroupExit(NamedTuple):
    """Descriptors for leaving and removing the run's cgroup, opened before the sandbox's
    view makes /sys read-only for the process that will need them at the end."""

    name: str
    parent_dir: int
    parent_procs: int


def open_exit(path: str) -> CgroupExit:
    parent = os.path.dirname(path)
    procs = os.open(os.path.join(parent, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
    directory = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return CgroupExit(os.path.basename(path), directory, procs)


def leave_cgroup(handle: CgroupExit) -> None:
    """Once the sandbox has ended: back to the parent cgroup, and the run's cgroup removed
    (once the processes the namespace's end killed are gone: they leave asynchronously)."""
    with contextlib.suppress(OSError):
        os.write(handle.parent_procs, b"0")
    for _ in range(200):
        try:
            os.rmdir(handle.name, dir_fd=handle.parent_dir)
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
