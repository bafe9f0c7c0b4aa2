"""The private view of the system a sandboxed child lives in: namespaces and mounts.

Landlock is allow-only and does not see what this closes: connect() on pathname Unix sockets,
metadata changes (chmod, utime, xattrs) outside the grants, other terminals, other processes'
/proc entries and limits, SysV IPC, and processes that outlive their session. So before Landlock
and seccomp, the child enters new user, mount, PID and IPC namespaces where:

- the whole tree is read-only and nosuid; only writable grants are mounted writable again
  (a chmod/utime/setxattr anywhere else is EROFS, root included);
- /tmp, /var/tmp, /dev/shm and /run are private (fresh tmpfs; TMPDIR is /tmp); grants
  beneath them are mounted back from the host;
- /dev/pts is a fresh devpts instance: the child has its own terminal and the PTYs it makes;
- /proc shows only the sandbox's processes, whose init ends them all when the agent exits;
- every pathname socket the host has bound is covered, except those the policy names;
- inside writable grants, what runs later outside stays read-only: git hooks and config
  (a repository's .git is pinned so it cannot be renamed away), nono's own code.

Built with the raw syscalls rather than bubblewrap: Landlock must be applied after the mounts
(a Landlocked process cannot mount), so bubblewrap would have to exec a second Python to apply
it; forking is already here, and the whole view costs ~2 ms (bench/startup.py).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from typing import NamedTuple

from nono.errors import NonoError
from nono.sandbox import mounts as m
from nono.sandbox.gitguard import git_protections
from nono.sandbox.limits import ProcessBound, plan_bound
from nono.sandbox.policy import Access, Policy, contains

# Replaced by fresh, private instances; host grants of them are meaningless inside.
# /var/tmp is one too: programs that outlive TMPDIR's advice use it (SQLite's temp files, which
# Codex's first run needs), and the host's holds other users' files.
PRIVATE_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run")
# Those that are writable temp directories inside (mode 1777, read+write to the child).
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
REPLACED = (*PRIVATE_DIRS, "/dev/pts", "/proc")


# The records below are NamedTuples, not dataclasses: their classes are made at every start of
# `nono run`, and a frozen dataclass takes 0.4 ms to make, a NamedTuple 0.07 (measured).


class Bind(NamedTuple):
    """A host path mounted into the view: writable or read-only, and why. `inode` is what the
    path was when the policy was made (and Landlock's rules were tied to): the view refuses
    to mount anything else there, such as a symlink swapped in by another process."""

    path: str
    writable: bool
    reason: str
    inode: tuple[int, int] | None = None


class Rule(NamedTuple):
    """A Landlock rule for something that exists only inside the view."""

    path: str
    access: Access
    is_file: bool = False
    ioctl: bool = False


class View(NamedTuple):
    binds: tuple[Bind, ...]
    sockets: tuple[str, ...]
    uid: int
    gid: int
    runtime_dir: str | None = None
    empty_workdir: str | None = None
    processes: ProcessBound | None = None
    # With a host list: the child's own network namespace, its proxy listening on this port
    # of the namespace's loopback (chosen by launcher.prepare; 0 in a dry run).
    proxy_port: int | None = None

    def describe(self) -> list[str]:
        net = ", network" if self.proxy_port is not None else ""
        lines = [
            f"namespaces: user, mount, PID, IPC{net} (the child sees only its own processes)",
            "everything outside writable grants: read-only, nosuid",
            "private: /tmp, /var/tmp, /dev/shm, /run, /dev/pts, /proc",
        ]
        for b in self.binds:
            lines.append(f"{'rw' if b.writable else 'ro'} {b.path}  ({b.reason})")
        for s in self.sockets:
            lines.append(f"unix socket {s}  (allowed)")
        lines.append("every other host Unix socket: covered")
        if self.processes:
            lines.append(self.processes.describe())
        if self.proxy_port is not None:
            where = f"127.0.0.1:{self.proxy_port}" if self.proxy_port else "a port chosen at start"
            lines.append(f"network: only loopback; nono's proxy at {where}")
        return lines


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(contains(r, path) for r in roots)


def plan_view(
    policy: Policy,
    environ: Mapping[str, str],
    nono_code: tuple[str, ...],
    *,
    prepare: bool = False,
) -> View:
    """What the child's view holds: mounts back, writable grants, protections inside them.
    With `prepare` (a real run, not a dry run) a repository's missing hooks directory is
    made, so that it can be kept read-only."""
    binds: list[Bind] = []
    writable_dirs: list[str] = []
    for g in policy.grants:
        if _inside(g.path, ("/dev/pts", "/proc")):
            continue  # the host's would show every terminal and process
        if g.path in PRIVATE_DIRS and g.source.startswith("group "):
            continue  # the baseline's /tmp is the private one
        if contains("/dev", g.path) and not _inside(g.path, PRIVATE_DIRS):
            # Device nodes are writable on a read-only mount; a bind of /dev/ptmx would also
            # cut it off from the "pts" beside it, which is how it finds its devpts.
            continue
        writable = Access.WRITE in g.access
        if _inside(g.path, PRIVATE_DIRS):
            if Access.READ not in g.access:
                # Landlock grants add up along the path: beneath the private /tmp (read+write)
                # a write-only grant would be readable too. Refuse rather than weaken it.
                raise NonoError(
                    f"cannot enforce {g.source} {g.requested or g.path} as write-only: "
                    f"it lies inside the sandbox's private {_inside_which(g.path)}, "
                    "which the child may read",
                    f"grant it read+write, or use a directory outside {_inside_which(g.path)}",
                )
            binds.append(Bind(g.path, writable, f"{g.source}, from the host"))
        elif writable:
            binds.append(Bind(g.path, True, g.source))
        if writable and not g.is_file:
            writable_dirs.append(g.path)
    workdir = policy.workdir
    empty_workdir = None
    if _inside(workdir, PRIVATE_DIRS) and not any(contains(b.path, workdir) for b in binds):
        # An ungranted working directory in a private dir: an empty directory of that name
        # (so the child can start there), never the host's, whose contents would be readable
        # under the private /tmp's grant.
        empty_workdir = workdir

    if not policy.git_hooks_writable:
        for root in writable_dirs:
            binds.extend(Bind(*g) for g in git_protections(root, create_hooks=prepare))
    for path in nono_code:
        if any(contains(w, path) for w in writable_dirs):
            binds.append(Bind(path, False, "nono's own code"))

    runtime = environ.get("XDG_RUNTIME_DIR", "")
    runtime_dir = runtime if contains("/run", runtime) and runtime != "/run" else None
    sockets = tuple(dict.fromkeys(os.path.realpath(s) for s in policy.unix_sockets))
    # One bind a path; a protection (read-only) wins over a grant of the same path.
    by_path: dict[str, Bind] = {}
    for b in binds:
        if b.path not in by_path or not b.writable:
            by_path[b.path] = b
    unique = [_with_inode(b) for b in by_path.values()]
    # Parents before children: a read-only bind lands on top of the writable one around it.
    unique.sort(key=lambda b: b.path.count("/"))
    bound = plan_bound(policy.max_processes)
    return View(tuple(unique), sockets, os.getuid(), os.getgid(), runtime_dir, empty_workdir, bound)


def _with_inode(bind: Bind) -> Bind:
    try:
        st = os.lstat(bind.path)
    except OSError:
        return bind
    return Bind(bind.path, bind.writable, bind.reason, (st.st_dev, st.st_ino))


def _inside_which(path: str) -> str:
    return next(d for d in PRIVATE_DIRS if contains(d, path))


# --------------------------------------------------------------------------- building


def enter_namespaces(view: View, parent: tuple[int, int] | None = None) -> None:
    """In the child's first process: new namespaces, the same user inside as outside.

    Root keeps its identity for every file (mapping only uid 0 would turn other owners into
    nobody); what root may do is still Landlock's and the read-only mounts' to say. A map that
    wide can only be written from the parent namespace, so root's child asks its parent over
    `parent` (notify fd, wait fd); anyone else maps just themselves."""
    net = m.CLONE_NEWNET if view.proxy_port is not None else 0
    m.unshare(m.CLONE_NEWUSER | m.CLONE_NEWNS | m.CLONE_NEWPID | m.CLONE_NEWIPC | net)
    if parent is not None:
        notify, wait = parent
        os.write(notify, b"1")
        if os.read(wait, 1) != b"1":
            raise OSError(errno.EPERM, "the parent could not write the user namespace maps")
        return
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{view.uid} {view.uid} 1")
    _write("/proc/self/gid_map", f"{view.gid} {view.gid} 1")


def map_root(pid: int) -> None:
    """From the parent namespace: root's identity map for `pid`'s new user namespace."""
    _write(f"/proc/{pid}/uid_map", "0 0 4294967295")
    _write(f"/proc/{pid}/gid_map", "0 0 4294967295")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def build(view: View, host_sockets: list[str] | None = None) -> list[Rule]:
    """In the sandbox's init (inside every namespace): make the mounts. Returns the Landlock
    rules for what exists only in the view. `host_sockets`: the host's pathname sockets, read
    before the namespaces were entered (a private network namespace's /proc/net/unix lists
    only its own, but a pathname socket is a file, reachable from any namespace)."""
    m.mount(None, "/", None, m.MS_REC | m.MS_PRIVATE)
    # Copies of host trees are taken before anything hides them.
    clones = [(b, _clone_checked(b)) for b in view.binds]
    allowed = [(s, m.clone_tree(s)) for s in view.sockets if _inside(s, PRIVATE_DIRS)]

    m.set_tree_attrs("/", m.MOUNT_ATTR_RDONLY | m.MOUNT_ATTR_NOSUID)
    private = m.MS_NOSUID | m.MS_NODEV
    rules = []
    for temp in TEMP_DIRS:
        if temp == "/tmp" or os.path.isdir(temp):
            m.mount("tmpfs", temp, "tmpfs", private, "mode=1777")
            rules.append(Rule(temp, Access.READWRITE))
    m.mount("tmpfs", "/run", "tmpfs", private, "mode=755")
    if view.runtime_dir:
        os.makedirs(view.runtime_dir, 0o700, exist_ok=True)
        rules.append(Rule(view.runtime_dir, Access.READWRITE))
    m.mount("devpts", "/dev/pts", "devpts", m.MS_NOSUID | m.MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620")  # fmt: skip
    rules.append(Rule("/dev/pts", Access.READWRITE, ioctl=True))
    m.mount("proc", "/proc", "proc", m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC)
    rules.append(Rule("/proc", Access.READ))

    for bind, fd in clones:
        _mountpoint(bind.path, fd)
        m.set_readonly(fd, not bind.writable)
        m.attach(fd, bind.path)
    for path, fd in allowed:
        _mountpoint(path, fd)
        m.attach(fd, path)
    if view.empty_workdir and not os.path.lexists(view.empty_workdir):
        os.makedirs(view.empty_workdir, 0o755)
    _cover_sockets(set(view.sockets), host_sockets)
    return rules


def _clone_checked(bind: Bind) -> int:
    fd = m.clone_tree(bind.path)
    st = os.fstat(fd)
    if bind.inode is not None and (st.st_dev, st.st_ino) != bind.inode:
        os.close(fd)
        raise OSError(errno.ESTALE, f"{bind.path} was replaced while the sandbox was being built")
    return fd


def _mountpoint(path: str, fd: int) -> None:
    """Make the place a bind lands on (only needed inside the private tmpfs)."""
    if os.path.lexists(path):
        return
    os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.mkdir(path, 0o755)
    else:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


COVER = "/run/.nono-covered"


def host_socket_paths() -> list[str]:
    """Every pathname Unix socket bound in this network namespace (/proc/net/unix)."""
    out: dict[str, None] = {}
    try:
        with open("/proc/net/unix", errors="surrogateescape") as f:
            next(f, None)
            for line in f:
                fields = line.rstrip("\n").split(None, 7)
                if len(fields) == 8 and fields[7].startswith("/"):
                    out[fields[7]] = None
    except OSError:
        pass
    return list(out)


def _cover_sockets(allowed: set[str], host_sockets: list[str] | None = None) -> None:
    """Lay an empty read-only file over each host socket still visible: connect() then fails
    (ECONNREFUSED), and the cover cannot be unlinked or renamed (it is a mount point)."""
    cover_made = False
    # Both lists: the one read outside, and this namespace's own (the same namespace's, and
    # fresher, when the network is shared).
    for path in dict.fromkeys([*(host_sockets or ()), *host_socket_paths()]):
        if path in allowed:
            continue
        try:
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                continue
        except OSError:
            continue
        if os.path.realpath(path) in allowed:
            continue
        if not cover_made:
            os.close(os.open(COVER, os.O_WRONLY | os.O_CREAT, 0))
            cover_made = True
        fd = m.clone_tree(COVER)
        m.set_readonly(fd, True)
        try:
            m.attach(fd, path)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise


def trial() -> str | None:
    """Build a small view in a throwaway child: None if it works, else what failed."""
    import json

    read_end, write_end = os.pipe()
    uid, gid = os.getuid(), os.getgid()  # inside, before the maps, they read as nobody
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        problem = None
        try:
            m.unshare(m.CLONE_NEWUSER | m.CLONE_NEWNS | m.CLONE_NEWPID | m.CLONE_NEWIPC)
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
            m.mount(None, "/", None, m.MS_REC | m.MS_PRIVATE)
            m.mount("tmpfs", "/tmp", "tmpfs", m.MS_NOSUID | m.MS_NODEV, "mode=1777")
            m.mount("devpts", "/dev/pts", "devpts", m.MS_NOSUID, "newinstance,ptmxmode=0666")
        except OSError as exc:
            problem = str(exc)
        os.write(write_end, json.dumps(problem).encode())
        os._exit(0)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 4096):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    return json.loads(data or b'"the trial child died"')
