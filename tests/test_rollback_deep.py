"""Agent-shaped trees: nothing in snapshot, show or restore is limited by Python's recursion
depth (a 1,200-deep tree in the workspace and under .git/refs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rollback_helpers import git, git_repo

DEPTH = 1200

AGENT = """
import os
def deep(top, leaf, data):
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range({depth}):
        try:
            os.mkdir("d", dir_fd=fd)
        except FileExistsError:
            pass
        nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    out = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, data)
    os.close(out)
os.makedirs("deep", exist_ok=True)
deep("deep", "bottom.txt", b"at the bottom\\n")
deep(".git/refs/heads", "branch", open(".git/refs/heads/main").read().encode())
"""


def depth_below(path: Path) -> int:
    """How deep the chain of "d" directories goes, walked by fd (paths this long fail)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    n = 0
    try:
        while True:
            try:
                nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            except FileNotFoundError:
                return n
            os.close(fd)
            fd, n = nxt, n + 1
    finally:
        os.close(fd)


def remove_deep(path: Path) -> None:
    """Tear a deep chain down bottom-up by fd, so the test's cleanup does not recurse."""
    if not path.exists():
        return
    fds = [os.open(path, os.O_RDONLY | os.O_DIRECTORY)]
    while True:
        try:
            fds.append(os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        except FileNotFoundError:
            break
    for fd in reversed(fds):
        for name in os.listdir(fd):
            if name != "d":
                os.unlink(name, dir_fd=fd)
    for parent in reversed(fds[:-1]):
        os.rmdir("d", dir_fd=parent)
    for fd in fds:
        os.close(fd)


def test_a_1200_deep_tree_snapshots_shows_and_restores(nono, workspace):
    git_repo(workspace)
    try:
        r = nono("run", "--rollback", "--allow-cwd", "--", "python3", "-c",
                 AGENT.format(depth=DEPTH))  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "RecursionError" not in r.stderr
        assert depth_below(workspace / "deep") == DEPTH
        rows = json.loads(nono("rollback", "list", "--json").stdout)
        rid = rows[0]["id"]
        assert rows[0]["snapshots"] == 2, rows

        shown = nono("rollback", "show", rid, "--json")
        assert shown.returncode == 0, shown.stderr
        paths = [c["path"] for c in json.loads(shown.stdout)["changes"]]
        assert any(p.endswith("/d/bottom.txt") for p in paths)
        assert len([p for p in paths if p.startswith(str(workspace / "deep"))]) == 1 + DEPTH + 1

        for args in (("show", rid), ("show", rid, "--diff"), ("restore", rid, "--dry-run")):
            r = nono("rollback", *args)
            assert r.returncode == 0 and "bottom.txt" in r.stdout, (args, r.stderr)

        r = nono("rollback", "restore", rid)
        assert r.returncode == 0, r.stderr
        assert "RecursionError" not in r.stderr
        assert not (workspace / "deep").exists()
        assert depth_below(workspace / ".git" / "refs" / "heads") == 0
        assert git(workspace, "branch", "--list").split() == ["*", "main"]
    finally:
        remove_deep(workspace / "deep")
        remove_deep(workspace / ".git" / "refs" / "heads")


def test_a_tree_too_deep_to_hold_in_memory_is_refused_with_a_message(home, workspace):
    from nono.rollback import Options, Rollback, RollbackError, rollbacks_dir

    fd = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(400):  # 400 paths averaging ~450 bytes: ~180 KB of names
        os.mkdir("d", dir_fd=fd)
        nxt = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    os.close(fd)
    try:
        with pytest.raises(RollbackError, match=r"path names .*nested too deep") as err:
            Rollback.create([str(workspace)], Options(path_budget=100_000))
        assert "--rollback-exclude" in (err.value.hint or "")
        assert os.listdir(rollbacks_dir()) == []
        Rollback.create([str(workspace)])  # the default budget holds it
    finally:
        remove_deep(workspace)
