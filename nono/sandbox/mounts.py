"""The namespace and mount system calls the private view is built with (libc and raw syscalls).

Python 3.11 wraps none of them. open_tree/move_mount/mount_setattr share their numbers on every
architecture Linux added them to after 5.1 (the unified syscall table), so no per-arch table.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2

_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_AT_RECURSIVE = 0x8000
_OPEN_TREE_CLONE = 0x1
_MOVE_MOUNT_F_EMPTY_PATH = 0x4

_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_CLOSE_RANGE = 436
_SYS_MOUNT_SETATTR = 442
_CLOSE_RANGE_CLOEXEC = 0x4

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype)]
    _check(_libc.mount(enc[0], enc[1], enc[2], flags, data.encode() or None), f"mount {target}")


_AT_SYMLINK_NOFOLLOW = 0x100


def clone_tree(path: str) -> int:
    """A detached copy of the mount tree at `path` (a file or a directory), as an fd. A
    symlink at `path` is not followed (move_mount does not follow one at its target either)."""
    flags = _OPEN_TREE_CLONE | os.O_CLOEXEC | _AT_RECURSIVE | _AT_SYMLINK_NOFOLLOW
    fd = _libc.syscall(_SYS_OPEN_TREE, _AT_FDCWD, path.encode(), flags)
    return _check(fd, f"open_tree {path}")


def set_readonly(fd: int, readonly: bool) -> None:
    """Make a detached tree (recursively) read-only, or writable where its filesystem allows."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY if readonly else 0, 0 if readonly else MOUNT_ATTR_RDONLY)
    result = _libc.syscall(_SYS_MOUNT_SETATTR, fd, b"", _AT_EMPTY_PATH | _AT_RECURSIVE,
                           ctypes.byref(attr), ctypes.sizeof(attr))  # fmt: skip
    _check(result, "mount_setattr")


def set_tree_attrs(path: str, attrs: int) -> None:
    """Set mount attributes on every mount at and below `path`."""
    attr = _MountAttr(attrs, 0, 0, 0)
    result = _libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, path.encode(), _AT_RECURSIVE,
                           ctypes.byref(attr), ctypes.sizeof(attr))  # fmt: skip
    _check(result, f"mount_setattr {path}")


def attach(fd: int, target: str) -> None:
    """Mount a detached tree at `target` and close its fd."""
    try:
        result = _libc.syscall(_SYS_MOVE_MOUNT, fd, b"", _AT_FDCWD, target.encode(),
                               _MOVE_MOUNT_F_EMPTY_PATH)  # fmt: skip
        _check(result, f"move_mount {target}")
    finally:
        os.close(fd)


def cloexec_from(lowest: int) -> None:
    """Mark every descriptor from `lowest` up close-on-exec (the exec then closes them)."""
    if _libc.syscall(_SYS_CLOSE_RANGE, lowest, 0xFFFFFFFF, _CLOSE_RANGE_CLOEXEC) == 0:
        return
    for name in os.listdir("/proc/self/fd"):  # kernels before 5.11
        fd = int(name)
        if fd >= lowest:
            with contextlib.suppress(OSError):
                os.set_inheritable(fd, False)


def close_all_but(keep: set[int]) -> None:
    """Close every descriptor from 3 up that is not in `keep`.

    For the sandbox's own processes, which never exec: close-on-exec does nothing for them,
    and a pipe they held would keep its reader (the CLI waiting for a session to start, a
    test reading nono's output) waiting forever."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= 3 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
