"""Where nono keeps its own files (XDG state and config), and the checks that keep them private."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from nono.errors import NonoError


def home_dir() -> Path:
    return Path(os.environ.get("HOME") or os.path.expanduser("~"))


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    # The XDG spec says relative values are invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return home_dir() / fallback


def state_dir() -> Path:
    """nono's state root: sessions, snapshots. Never reachable from a sandbox."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "nono"


def config_dir() -> Path:
    """nono's config root: config.toml, user profiles and keymaps."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "nono"


def cache_dir() -> Path:
    """nono's caches (parsed profiles, compiled keymaps). Inside the state root, not
    $XDG_CACHE_HOME: a sandbox may be granted ~/.cache, and a cache it could write would
    choose the profile of the next run or the keys of the dashboard."""
    return state_dir() / "cache"


def read_cache(name: str) -> dict[str, Any]:
    """The JSON object cached as `name` in cache_dir(); {} if there is none or it is damaged
    (a cache is only ever a shortcut)."""
    try:
        with open(cache_dir() / name, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_cache(name: str, data: dict[str, Any]) -> None:
    """Best effort: a cache that cannot be written only costs the next start some time."""
    try:
        ensure_private_dir(state_dir())
        ensure_private_dir(cache_dir())
        write_atomic(cache_dir() / name, json.dumps(data).encode())
    except (OSError, NonoError):
        pass


def egress_log(run_id: str) -> Path:
    """The egress log of one run or session (`nono/net/egress_log.py` writes it, one JSON line
    per connection through the proxy; `<name>.1` is its rotated half). A session's run id is
    its session id. Outside every sandbox, like the rest of nono's state."""
    directory = ensure_private_dir(ensure_private_dir(state_dir()) / "egress")
    return directory / f"{run_id}.jsonl"


def config_file() -> Path:
    """$XDG_CONFIG_HOME/nono/config.toml, looked up at each call so tests can move it."""
    return config_dir() / "config.toml"


def user_profiles_dir() -> Path:
    return config_dir() / "profiles"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (0700) if needed and refuse to use it if others could write or read it."""
    return ensure_own_dir(path, 0o077, "accessible by", "chmod 700")


def ensure_own_dir(
    path: Path, refused: int = 0o022, what: str = "writable by", fix: str = "chmod go-w"
) -> Path:
    """Create `path` (0700) if needed; refuse it unless it is the user's own directory with
    none of the `refused` mode bits (others writing, by default)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise NonoError(f"{path} is not a directory", "move it away and retry")
    if st.st_uid != os.getuid():
        raise NonoError(f"{path} is owned by uid {st.st_uid}, not you", "fix its owner")
    if st.st_mode & refused:
        raise NonoError(
            f"{path} is {what} other users (mode {stat.S_IMODE(st.st_mode):o})",
            f"run: {fix} {path}",
        )
    return path


def write_atomic(path: Path, data: bytes, *, sync_dir: bool = False) -> None:
    """Write nono's own files (0600): a temp file beside `path`, fsync, rename. A reader sees
    the old file or the new one, never half of either. With sync_dir the rename itself is made
    durable too. OSError (ENOSPC, EDQUOT, ...) is the caller's to explain."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
