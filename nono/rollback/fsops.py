"""Writes beneath the tracked roots through directory fds that never follow a symlink."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets

from nono.rollback.model import RollbackError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_CACHED = 128


def split_under(path: str, roots: tuple[str, ...]) -> tuple[str, list[str]]:
    """(root, components below it); a path outside every root, or not normalised, is refused."""
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        raise RollbackError(f"refusing to restore {path!r}: not a normalised absolute path")
    for root in roots:
        if path == root:
            return root, []
        if path.startswith(root.rstrip("/") + "/"):
            return root, path[len(root.rstrip("/")) + 1 :].split("/")
    raise RollbackError(
        f"refusing to restore {path}: it is outside the tracked roots ({', '.join(roots)})"
    )


class Dirs:
    """Open directory fds under the roots, each reached component by component with O_NOFOLLOW.

    A planted symlink anywhere in a parent chain makes the open fail (ELOOP/ENOTDIR), so no
    read or write can land outside a root however the tree was rearranged meanwhile. An fd
    from fd() is valid until the next call to fd(), which may close older ones."""

    def __init__(self, roots: tuple[str, ...], verb: str = "restore") -> None:
        self.roots = roots
        self.verb = verb
        self._fds: dict[str, int] = {}

    def fd(self, dirpath: str) -> int:
        cached = self._fds.get(dirpath)
        if cached is not None:
            return cached
        root, _parts = split_under(dirpath, self.roots)
        # Up to the nearest open ancestor, then down one component at a time: loops, not
        # recursion, since an agent's tree can be deeper than Python's recursion limit.
        missing = []
        path = dirpath
        while path != root and path not in self._fds:
            missing.append(path)
            path = path[: path.rfind("/")] or "/"
        fd = self._fds.get(path)
        if fd is None:
            try:
                fd = os.open(root, DIR_FLAGS)
            except OSError as exc:
                raise RollbackError(
                    f"cannot {self.verb} {root}: {exc.strerror} (it must be a real directory)"
                ) from None
            self._keep(root, fd)
        for sub in reversed(missing):
            try:
                fd = os.open(sub[sub.rfind("/") + 1 :], DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise RollbackError(
                        f"refusing to {self.verb} under {dirpath}: it is a symbolic link or "
                        "not a directory (changed after it was planned?)",
                        "inspect it, then try again",
                    ) from None
                raise
            self._keep(sub, fd)
        return fd

    def _keep(self, path: str, fd: int) -> None:
        """Cache a new fd; when full, close the oldest half (never `fd`: it is not in yet)."""
        if len(self._fds) >= MAX_CACHED:
            for key in list(self._fds)[: MAX_CACHED // 2]:
                os.close(self._fds.pop(key))
        self._fds[path] = fd

    def forget(self, path: str) -> None:
        """Drop cached fds of a directory that was removed, and of everything below it."""
        prefix = path + "/"
        for key in [k for k in self._fds if k == path or k.startswith(prefix)]:
            os.close(self._fds.pop(key))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __enter__(self) -> Dirs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tmp_name(name: str) -> str:
    return f".{name[:200]}.nono-{secrets.token_hex(4)}"


def lstat_at(dfd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def replace_with_file(
    dfd: int, name: str, fill, mode: int, mtime_ns: int | None, xattrs: dict[str, str]
) -> None:
    """Write a new file beside `name` (fill(fd) writes its content), set its metadata, rename
    it over `name`. Readers see the old file or the complete new one."""
    tmp = tmp_name(name)
    fd = os.open(
        tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd
    )
    try:
        fill(fd)
        set_xattrs(fd, xattrs)
        os.fchmod(fd, mode)
        if mtime_ns is not None:
            os.utime(fd, ns=(mtime_ns, mtime_ns))
        os.close(fd)
        fd = -1
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
        raise


def replace_with_symlink(dfd: int, name: str, target: str, mtime_ns: int) -> None:
    tmp = tmp_name(name)
    os.symlink(target, tmp, dir_fd=dfd)
    try:
        os.utime(tmp, ns=(mtime_ns, mtime_ns), dir_fd=dfd, follow_symlinks=False)
        os.rename(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
        raise


def user_xattrs(target: int | str, follow: bool = False) -> dict[str, str]:
    """user.* extended attributes of an fd or a path, values hex; {} where there are none."""
    kw = {} if isinstance(target, int) else {"follow_symlinks": follow}
    try:
        names = os.listxattr(target, **kw)
    except OSError:
        return {}
    found = {}
    for name in sorted(names):
        if name.startswith("user."):
            with contextlib.suppress(OSError):
                found[name] = os.getxattr(target, name, **kw).hex()
    return found


def set_xattrs(target: int | str, wanted: dict[str, str]) -> None:
    """Make the user.* xattrs of an fd (or a /proc/self/fd path) exactly `wanted`."""
    current = user_xattrs(target, follow=True)
    for name in current.keys() - wanted.keys():
        os.removexattr(target, name)
    for name, value in wanted.items():
        if current.get(name) != value:
            os.setxattr(target, name, bytes.fromhex(value))


def proc_path(fd: int) -> str:
    """The magic link to an O_PATH fd: chmod and xattr calls through it reach the inode the
    fd was opened on (never a symlink's target, since the fd was opened with O_NOFOLLOW)."""
    return f"/proc/self/fd/{fd}"
