"""Telling the dashboard that the session registry changed, without polling: inotify on the
sessions directory (records are written by rename, so one event per update)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
from collections.abc import Callable
from pathlib import Path

IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
SETTLE = 0.1  # a burst of record writes (start, attach, resize) is one refresh


class RegistryWatch:
    """Calls `changed` (at most every SETTLE seconds) when session records appear, change or go.
    Where inotify is unavailable it does nothing: the status bar is then refreshed by the
    dashboard's own actions only."""

    def __init__(self, directory: Path, changed: Callable[[], None]) -> None:
        self.changed = changed
        self.fd = -1
        self.timer: asyncio.TimerHandle | None = None
        # The C library the interpreter has loaded already: find_library("c") would run
        # ldconfig in a subprocess before the dashboard's first draw.
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            return
        mask = IN_MOVED_TO | IN_CREATE | IN_DELETE
        if libc.inotify_add_watch(fd, os.fsencode(directory), mask) < 0:
            os.close(fd)
            return
        self.fd = fd
        asyncio.get_running_loop().add_reader(fd, self._readable)

    def _readable(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 65536):
                pass
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(SETTLE, self._fire)

    def _fire(self) -> None:
        self.timer = None
        self.changed()

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1
        if self.timer is not None:
            self.timer.cancel()
