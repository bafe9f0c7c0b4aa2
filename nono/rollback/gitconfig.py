"""Files a repository's .git/config makes git read or run from the work tree: the
core.hooksPath directory and included config files. They are snapshotted whatever the ignore
rules say (husky's hook runners live in a directory that ignores itself)."""

from __future__ import annotations

import os

from nono.rollback.fsops import DIR_FLAGS

CONFIG_MAX = 1 << 20
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    return raw.replace('\\"', '"').replace("\\\\", "\\")


def referenced(text: str) -> tuple[list[str], list[str]]:
    """(hooksPath values, include paths) set in a git config file's text."""
    hooks, includes = [], []
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line[1:].split("]", 1)[0].split(None, 1)[0].split(".", 1)[0].lower()
            continue
        key, eq, value = line.partition("=")
        if not eq:
            continue
        key = key.strip().lower()
        if section == "core" and key == "hookspath":
            hooks.append(_value(value))
        elif section in ("include", "includeif") and key == "path":
            includes.append(_value(value))
    return hooks, includes


def forced_paths(dfd: int, workdir: str) -> list[tuple[str, str]]:
    """(path, "hook" | "git config") for each absolute, normalised path below `workdir` that
    its .git/config points git at (dfd is the work tree's directory fd). Paths elsewhere are
    not the work tree's to snapshot."""
    try:
        gfd = os.open(".git", DIR_FLAGS, dir_fd=dfd)
    except OSError:
        return []
    try:
        fd = os.open("config", FILE_FLAGS, dir_fd=gfd)
        try:
            text = os.read(fd, CONFIG_MAX).decode("utf-8", "replace")
        finally:
            os.close(fd)
    except OSError:
        return []
    finally:
        os.close(gfd)
    hooks, includes = referenced(text)
    found = []
    gitdir = f"{workdir}/.git"
    wanted = [(h, workdir, "hook") for h in hooks] + [(i, gitdir, "git config") for i in includes]
    for value, base, label in wanted:
        if not value:
            continue
        path = os.path.normpath(os.path.join(base, os.path.expanduser(value)))
        if path.startswith(workdir.rstrip("/") + "/") and not path.startswith(gitdir + "/"):
            found.append((path, label))
    return found
