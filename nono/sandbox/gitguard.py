"""What runs later outside, kept read-only inside a writable grant: a repository's hooks and
config (core.hooksPath, submodules' copies, worktrees' config), and its .git pinned in place so
it cannot be renamed away and replaced. The view (view.py) mounts what this finds."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import NamedTuple

# How far below a writable grant nono looks for repositories to protect: a grant of ~/src
# holding one clone per directory is common; deeper walks cost start-up time on big trees.
GIT_SCAN_DEPTH = 2
GIT_SCAN_MAX_ENTRIES = 5000


class Guard(NamedTuple):
    """A path to mount on itself: writable (pinned) or read-only, and why."""

    path: str
    writable: bool
    reason: str


_HOOKS_PATH = re.compile(r"^\s*hookspath\s*=\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def _repositories(root: str) -> Iterator[str]:
    """The `.git` entries of the repository holding `root` and of those a little below it."""
    path = root
    while True:
        candidate = os.path.join(path, ".git")
        if os.path.lexists(candidate):
            yield candidate
            break
        if path == "/":
            break
        path = os.path.dirname(path)
    budget = GIT_SCAN_MAX_ENTRIES
    level = [root]
    for _ in range(GIT_SCAN_DEPTH):
        below: list[str] = []
        for directory in level:
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        budget -= 1
                        if budget < 0:
                            return
                        if entry.name == ".git" and directory != root:
                            yield entry.path
                        elif entry.is_dir(follow_symlinks=False) and entry.name != ".git":
                            below.append(entry.path)
            except OSError:
                continue
        level = below


def _gitdir(dotgit: str) -> str | None:
    if os.path.isdir(dotgit) and not os.path.islink(dotgit):
        return dotgit
    try:
        with open(dotgit) as f:
            first = f.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith("gitdir:"):
        return None
    target = first[len("gitdir:") :].strip()
    return os.path.realpath(os.path.join(os.path.dirname(dotgit), target))


def git_protections(root: str, create_hooks: bool = False) -> list[Guard]:
    """Inside a writable `root`: what git runs from a repository, read-only.

    Hooks, config (core.fsmonitor, aliases, filters, core.hooksPath) and submodules' copies of
    both run on the person's next git command, unconfined. The `.git` directory itself is
    mounted on itself so it cannot be renamed away and replaced by one the agent wrote."""
    out: list[Guard] = []
    for dotgit in _repositories(root):
        gitdir = _gitdir(dotgit)
        if gitdir is None:
            continue
        worktree = os.path.dirname(dotgit)
        dirs = [gitdir]
        try:
            with open(os.path.join(gitdir, "commondir")) as f:
                dirs.append(os.path.realpath(os.path.join(gitdir, f.read().strip())))
        except OSError:
            pass
        if os.path.isdir(dotgit) and not os.path.islink(dotgit):
            out.append(Guard(os.path.realpath(dotgit), True, "git directory, pinned"))
        else:
            out.append(Guard(os.path.realpath(dotgit), False, "git link"))
        for d in dirs:
            modules = os.path.join(d, "modules")
            for base in [d, *_module_dirs(modules)]:
                hooks = os.path.join(base, "hooks")
                if not os.path.lexists(hooks) and create_hooks:
                    # An absent hooks directory is one the agent could create.
                    try:
                        os.mkdir(hooks, 0o755)
                    except OSError:
                        continue
                for name in ("hooks", "config", "config.worktree"):
                    target = os.path.join(base, name)
                    if os.path.lexists(target):
                        out.append(Guard(os.path.realpath(target), False, f"git {name}"))
                out.extend(_hooks_path(os.path.join(base, "config"), worktree))
    return out


def _module_dirs(modules: str) -> Iterator[str]:
    """Submodules' git directories (they nest: modules/a/modules/b)."""
    if not os.path.isdir(modules):
        return
    stack = [modules]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if os.path.exists(os.path.join(entry.path, "HEAD")):
                    yield entry.path
                    inner = os.path.join(entry.path, "modules")
                    if os.path.isdir(inner):
                        stack.append(inner)
                else:
                    stack.append(entry.path)


def _hooks_path(config: str, worktree: str) -> list[Guard]:
    try:
        with open(config, errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return []
    out = []
    for match in _HOOKS_PATH.finditer(text):
        value = os.path.expanduser(match.group(1).strip('"'))
        target = os.path.realpath(os.path.join(worktree, value))
        if os.path.exists(target):
            out.append(Guard(target, False, "git core.hooksPath"))
    return out
