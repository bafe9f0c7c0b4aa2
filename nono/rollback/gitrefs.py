"""Git repositories under the roots: record HEAD, refs, packed-refs and the index; put them back.

The object database is never copied: `git reset --hard` and friends only move refs and rewrite
the index and work tree, and leave the old commits in place, so refs plus index undo them."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from nono.rollback.fsops import DIR_FLAGS, replace_with_file
from nono.rollback.store import Store, copy_fd, hash_fd, write_all

FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_REF = 1 << 16


def _read_text(dfd: int, name: str, limit: int = MAX_REF) -> str | None:
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=dfd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return os.read(fd, limit).decode("utf-8", "surrogateescape")
    finally:
        os.close(fd)


def _read_refs(gfd: int) -> dict[str, str]:
    """Loose refs as {"refs/heads/main": "<sha>\\n"}; lock files are not refs. Walked with an
    explicit stack: an agent can nest refs deeper than Python's recursion limit."""
    found: dict[str, str] = {}
    try:
        top = os.open("refs", DIR_FLAGS, dir_fd=gfd)
    except (FileNotFoundError, NotADirectoryError):
        return found
    stack = [(top, "refs")]
    while stack:
        dfd, prefix = stack.pop()
        try:
            for entry in os.scandir(dfd):
                name = f"{prefix}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                        stack.append((os.open(entry.name, DIR_FLAGS, dir_fd=dfd), name))
                elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(".lock"):
                    text = _read_text(dfd, entry.name)
                    if text is not None:
                        found[name] = text
        finally:
            os.close(dfd)
    return found


def _object(gfd: int, name: str, store: Store | None) -> str | None:
    """The hash of .git/<name> (index, packed-refs: possibly large), copied into `store`."""
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=gfd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        if store is None:
            return hash_fd(fd)
        return store.put_fd(fd, os.fstat(fd).st_size)[0]
    finally:
        os.close(fd)


def read_repo(workdir: str, store: Store | None = None) -> dict[str, Any] | None:
    """HEAD and loose refs as text; packed-refs and the index as hashes of objects (copied
    into `store` when given)."""
    try:
        wfd = os.open(workdir, DIR_FLAGS)
    except OSError:
        return None
    try:
        gfd = os.open(".git", DIR_FLAGS, dir_fd=wfd)
    except OSError:
        return None  # a .git file (worktree, submodule) or a symlink: not recorded
    finally:
        os.close(wfd)
    try:
        return {
            "HEAD": _read_text(gfd, "HEAD"),
            "refs": _read_refs(gfd),
            "packed-refs": _object(gfd, "packed-refs", store),
            "index": _object(gfd, "index", store),
        }
    finally:
        os.close(gfd)


def _write(dfd: int, name: str, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    replace_with_file(dfd, name, lambda fd: write_all(fd, data), 0o644, None, {})


def _put_object(gfd: int, name: str, digest: str, store: Store) -> None:
    if _object(gfd, name, None) == digest:
        return
    src = store.open(digest)
    try:
        size = os.fstat(src).st_size
        replace_with_file(gfd, name, lambda fd: copy_fd(src, fd, size), 0o644, None, {})
    finally:
        os.close(src)


def _ref_dir(gfd: int, ref: str) -> int:
    """An fd of the directory holding `ref` ("refs/heads/x/y"), created as needed."""
    fd = os.dup(gfd)
    for part in ref.split("/")[:-1]:
        with contextlib.suppress(FileExistsError):
            os.mkdir(part, 0o755, dir_fd=fd)
        try:
            nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = nxt
    return fd


def _prune_empty(dfd: int, ref: str) -> None:
    """Remove the directories a deleted ref left empty, as git does, up to refs/<kind>/.
    Climbs through ".." so two fds suffice however deep the agent nested them; takes
    ownership of `dfd`."""
    names = ref.split("/")[2:-1]  # refs/heads/a/b/x: a and b may go, never refs or heads
    try:
        for name in reversed(names):
            parent = os.open("..", DIR_FLAGS, dir_fd=dfd)
            os.close(dfd)
            dfd = parent
            try:
                os.rmdir(name, dir_fd=dfd)
            except OSError:
                return  # not empty (other refs live there), or not ours to remove
    finally:
        os.close(dfd)


def restore_repo(wfd: int, workdir: str, record: dict[str, Any], store: Store) -> str | None:
    """Make HEAD, refs, packed-refs and the index of the repository at `wfd` equal `record`;
    the reason when it cannot (the repository itself is gone: its objects were never copied)."""
    try:
        gfd = os.open(".git", DIR_FLAGS, dir_fd=wfd)
    except OSError as exc:
        return f"{workdir}: git refs not restored, .git is not a directory ({exc.strerror})"
    try:
        if record.get("HEAD") is not None:
            _write(gfd, "HEAD", record["HEAD"])
        if record.get("packed-refs") is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink("packed-refs", dir_fd=gfd)
        else:
            _put_object(gfd, "packed-refs", record["packed-refs"], store)
        wanted: dict[str, str] = record.get("refs", {})
        current = _read_refs(gfd)
        for ref in sorted(current.keys() - wanted.keys()):
            # A branch or tag made after the snapshot: its commits stay in the object store.
            dfd = _ref_dir(gfd, ref)
            try:
                os.unlink(ref.rsplit("/", 1)[-1], dir_fd=dfd)
            except BaseException:
                os.close(dfd)
                raise
            _prune_empty(dfd, ref)
        for ref, text in sorted(wanted.items()):
            if current.get(ref) != text:
                dfd = _ref_dir(gfd, ref)
                try:
                    _write(dfd, ref.rsplit("/", 1)[-1], text)
                finally:
                    os.close(dfd)
        if record.get("index") is not None:
            _put_object(gfd, "index", record["index"], store)
    finally:
        os.close(gfd)
    return None
