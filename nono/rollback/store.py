"""The content-addressed object store of one rollback: SHA-256 named copies of file contents."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20
# Small files are read once into memory and hashed from that buffer; larger ones are copied
# with copy_file_range (a reflink on XFS/btrfs) and hashed from the copy, so an object's
# name always describes the bytes actually stored.
SMALL = 256 * 1024
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}


def copy_fd(src: int, dst: int, size: int) -> int:
    """Copy `size` bytes from offset 0 of src to dst; returns how many were copied."""
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src, dst, min(size - done, 1 << 30), done, done)
            if n == 0:
                break
            done += n
        return done
    except OSError as exc:
        if exc.errno not in _NO_COPY_RANGE:
            raise
    # Different filesystems on old kernels, or a filesystem without the call.
    while done < size:
        chunk = os.pread(src, min(CHUNK, size - done), done)
        if not chunk:
            break
        pwrite_all(dst, chunk, done)
        done += len(chunk)
    return done


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def hash_fd(fd: int) -> str:
    """SHA-256 of everything readable from fd, from offset 0."""
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    offset = 0
    while True:
        n = os.preadv(fd, [view], offset)
        if n == 0:
            return digest.hexdigest()
        digest.update(view[:n])
        offset += n


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def syncfs(fd: int) -> None:
    """Flush the whole filesystem holding fd: one call instead of an fsync per object."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syncfs(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Store:
    """objects/ab/cdef... under a rollback directory, written through its tmp/ directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self._objects = str(self.objects)
        self._tmp = str(self.tmp)
        self._shards: set[str] = set()
        # Objects known to exist; when the store was created by this instance, it is complete
        # and saves a stat per file of the baseline.
        self._known: set[str] = set()
        self._complete = False

    def init(self) -> None:
        """Create the store's directories: a new, empty store."""
        self.objects.mkdir(mode=0o700, exist_ok=True)
        self.tmp.mkdir(mode=0o700, exist_ok=True)
        self._complete = not any(self.objects.iterdir())

    def clear_tmp(self) -> None:
        for name in os.listdir(self._tmp):
            with contextlib.suppress(OSError):
                os.unlink(f"{self._tmp}/{name}")

    def path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def _path(self, digest: str) -> str:
        return f"{self._objects}/{digest[:2]}/{digest[2:]}"

    def has(self, digest: str) -> bool:
        if digest in self._known:
            return True
        if self._complete:
            return False
        return os.path.exists(self._path(digest))

    @contextlib.contextmanager
    def _staged(self) -> Iterator[tuple[int, str]]:
        """A new temp file (fd, path), closed after the block; removed if the block fails."""
        name = f"{self._tmp}/{secrets.token_hex(8)}.tmp"
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            yield fd, name
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
        os.close(fd)

    def _publish(self, tmp: str, digest: str) -> bool:
        """Rename tmp to the object's name; False (and tmp removed) if it was already there."""
        shard = digest[:2]
        if shard not in self._shards:
            os.makedirs(f"{self._objects}/{shard}", mode=0o700, exist_ok=True)
            self._shards.add(shard)
        if self.has(digest):
            os.unlink(tmp)
            return False
        os.rename(tmp, self._path(digest))
        self._known.add(digest)
        return True

    def put_bytes(self, data: bytes) -> tuple[str, bool]:
        digest = hashlib.sha256(data).hexdigest()
        if self.has(digest):
            return digest, False
        with self._staged() as (fd, tmp):
            write_all(fd, data)
            # The check before the rename: what landed is what was hashed.
            if os.fstat(fd).st_size != len(data):
                raise OSError(errno.EIO, "short write")
        return digest, self._publish(tmp, digest)

    def put_fd(self, src: int, size: int) -> tuple[str, bool, int]:
        """Store src's content; returns (hash, newly stored, bytes stored)."""
        if size <= SMALL:
            data = os.pread(src, size, 0)
            digest, new = self.put_bytes(data)
            return digest, new, len(data)
        with self._staged() as (fd, tmp):
            copied = copy_fd(src, fd, size)
            # Hashed from the copy, not the source: the name describes the bytes stored even
            # if the source changes under us (the caller re-stats and retries in that case).
            digest = hash_fd(fd)
            if os.fstat(fd).st_size != copied:
                raise OSError(errno.EIO, "short copy")
        return digest, self._publish(tmp, digest), copied

    def read(self, digest: str) -> bytes:
        with open(self._path(digest), "rb") as f:
            return f.read()

    def open(self, digest: str) -> int:
        return os.open(self._path(digest), os.O_RDONLY | os.O_CLOEXEC)

    def sync(self) -> None:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            syncfs(fd)
        finally:
            os.close(fd)

    def all_objects(self) -> list[str]:
        found: list[str] = []
        if not self.objects.is_dir():
            return found
        for shard in sorted(os.listdir(self.objects)):
            shard_dir = self.objects / shard
            if len(shard) == 2 and shard_dir.is_dir():
                found.extend(shard + name for name in sorted(os.listdir(shard_dir)))
        return found

    def check(self, digest: str) -> str | None:
        """None when the object is present and its content hashes to its name."""
        try:
            fd = self.open(digest)
        except FileNotFoundError:
            return "missing"
        except OSError as exc:
            return f"unreadable ({exc.strerror})"
        try:
            actual = hash_fd(fd)
        finally:
            os.close(fd)
        return None if actual == digest else f"corrupt (content hashes to {actual[:12]})"
