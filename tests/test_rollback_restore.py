"""Restoring a rollback on a real filesystem: every kind of change undone, byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rollback_helpers import age, write

from nono.rollback import Rollback, RollbackError


def tree_state(root: Path) -> dict[str, tuple]:
    """Everything a restore must bring back, for every path: type, content or symlink target,
    mode, mtime, user xattrs."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for path in [Path(dirpath)] + [Path(dirpath) / n for n in dirnames + filenames]:
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(path), st.st_mtime_ns)
                continue
            xattrs = {k: os.getxattr(path, k) for k in os.listxattr(path) if k.startswith("user.")}
            body = path.read_bytes() if stat.S_ISREG(st.st_mode) else None
            kind = "file" if body is not None else "dir"
            out[rel] = (kind, body, stat.S_IMODE(st.st_mode), st.st_mtime_ns, xattrs)
    return out


@pytest.fixture
def project(home: Path) -> Path:
    root = home / "project"
    write(root / "README.md", "# project\n\nhello\n")
    write(root / "src" / "app.py", "def main():\n    return 1\n")
    write(root / "src" / "data.bin", bytes(range(256)) * 64)
    write(root / "docs" / "guide.md", "read me first\n")
    write(root / "run.sh", "#!/bin/sh\necho run\n").chmod(0o755)
    write(root / "old-name.txt", "about to be renamed\n")
    write(root / "tagged.txt", "tagged\n")
    os.setxattr(root / "tagged.txt", "user.origin", b"human")
    write(root / "lib" / "inner" / "util.py", "X = 1\n")
    os.symlink("src/app.py", root / "app-link")
    write(root / "empty-dir" / ".keep", "")
    age(root)
    return root


@pytest.fixture
def outside(home: Path) -> Path:
    target = home / "outside"
    write(target / "precious.txt", "must never be touched\n")
    age(target)
    return target


def agent_work(root: Path, outside: Path) -> None:
    """Every kind of change the issue lists, as an agent would make them."""
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    write(root / "new.txt", "created by the agent\n")
    (root / "docs" / "guide.md").unlink()
    (root / "run.sh").chmod(0o644)
    (root / "old-name.txt").rename(root / "new-name.txt")
    os.setxattr(root / "tagged.txt", "user.origin", b"agent")
    shutil.rmtree(root / "lib")
    os.symlink(outside, root / "lib")
    write(root / "made" / "deep" / "er" / "file.txt", "nested\n")


def test_restore_undoes_every_kind_of_change_byte_for_byte(project: Path, outside: Path) -> None:
    before, outside_before = tree_state(project), tree_state(outside)
    rb = Rollback.create([str(project)])
    agent_work(project, outside)
    rb.snapshot()

    p = str(project)
    assert [(c.kind, c.path[len(p) + 1 :]) for c in rb.changes()] == [
        ("deleted", "docs/guide.md"),
        ("type", "lib"),
        ("deleted", "lib/inner"),
        ("deleted", "lib/inner/util.py"),
        ("created", "made"),
        ("created", "made/deep"),
        ("created", "made/deep/er"),
        ("created", "made/deep/er/file.txt"),
        ("created", "new-name.txt"),
        ("created", "new.txt"),
        ("deleted", "old-name.txt"),
        ("mode", "run.sh"),
        ("modified", "src/app.py"),
        ("xattr", "tagged.txt"),
    ]
    app = next(c for c in rb.changes() if c.path.endswith("app.py"))
    assert "-    return 1\n+    return 2\n" in rb.diff(app)
    assert rb.diff(app).startswith("--- a/src/app.py\n+++ b/src/app.py\n")

    plan = rb.plan_restore(0)
    assert plan.conflicts == ()
    result = rb.restore(plan)
    assert result.skipped == ()
    assert result.removed == 7  # 3 files, the lib symlink, made/deep/er, made/deep, made
    assert tree_state(project) == before
    assert tree_state(outside) == outside_before
    assert rb.plan_restore(0).actions == ()
    assert rb.verify() == []
    journal = json.loads((rb.path / "restore.journal").read_text())
    assert journal["state"] == "done" and journal["plan"]["to"] == 0


def test_restore_can_go_forward_again_to_the_final_snapshot(project: Path, outside: Path) -> None:
    rb = Rollback.create([str(project)])
    agent_work(project, outside)
    rb.snapshot()
    after = tree_state(project)
    rb.restore(rb.plan_restore(0))
    redo = rb.plan_restore(1)
    assert redo.conflicts == ()  # the disk is what nono left it as: no one else's work
    rb.restore(redo)
    assert tree_state(project) == after


def test_a_user_edit_after_the_final_snapshot_is_a_conflict_unless_forced(
    project: Path, outside: Path
) -> None:
    before = tree_state(project)
    rb = Rollback.create([str(project)])
    agent_work(project, outside)
    rb.snapshot()
    (project / "new.txt").write_text("the person kept working here\n")
    (project / "README.md").write_text("edited by the person\n")

    plan = rb.plan_restore(0)
    assert plan.conflicts == (str(project / "README.md"), str(project / "new.txt"))
    with pytest.raises(RollbackError, match="changed after the last snapshot") as err:
        rb.restore(plan)
    assert "--force" in (err.value.hint or "")
    assert (project / "new.txt").exists()

    rb.restore(rb.plan_restore(0, force=True))
    assert tree_state(project) == before


def test_a_partial_restore_leaves_the_rest_and_is_not_a_conflict_later(
    project: Path, outside: Path
) -> None:
    rb = Rollback.create([str(project)])
    agent_work(project, outside)
    rb.snapshot()
    plan = rb.plan_restore(0)
    app = str(project / "src" / "app.py")
    rb.restore(replace(plan, actions=tuple(a for a in plan.actions if a.path == app)))
    assert (project / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    assert (project / "new.txt").exists()
    assert rb.plan_restore(0).conflicts == ()


def test_restore_refuses_a_symlinked_directory_planted_after_the_plan(
    project: Path, outside: Path
) -> None:
    rb = Rollback.create([str(project)])
    (project / "src" / "app.py").write_text("agent\n")
    rb.snapshot()
    plan = rb.plan_restore(0)
    write(outside / "app.py", "outside app\n")
    shutil.rmtree(project / "src")
    os.symlink(outside, project / "src")  # between plan and restore
    with pytest.raises(RollbackError, match="symbolic link"):
        rb.restore(plan)
    assert (outside / "app.py").read_text() == "outside app\n"
    assert sorted(os.listdir(outside)) == ["app.py", "precious.txt"]


def test_a_plan_reaching_outside_the_roots_is_refused(project: Path, outside: Path) -> None:
    rb = Rollback.create([str(project)])
    (project / "README.md").write_text("agent\n")
    rb.snapshot()
    plan = rb.plan_restore(0)
    [action] = [a for a in plan.actions if a.op == "write"]
    evil = replace(action, path=str(outside / "precious.txt"))
    with pytest.raises(RollbackError, match="outside the tracked roots"):
        rb.restore(replace(plan, actions=(evil,)))
    with pytest.raises(RollbackError, match="not a normalised absolute path"):
        rb.restore(replace(plan, actions=(replace(action, path=f"{project}/../outside/x"),)))
    assert (outside / "precious.txt").read_text() == "must never be touched\n"


KILLER = """
import os, signal, sys
from nono.rollback import Rollback
rb = Rollback.open(sys.argv[1])
def progress(done, total, label):
    if label == "restoring" and done >= int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
rb.restore(rb.plan_restore(0), progress=progress)
"""


@pytest.mark.parametrize(
    ("kill_after", "rerun"),
    [(1, "replay"), (4, "replan"), (9, "replay"), (11, "replan"), (15, "replay"), (19, "replan")],
)
def test_a_restore_killed_midway_completes_when_run_again(
    project: Path, outside: Path, kill_after: int, rerun: str
) -> None:
    before = tree_state(project)
    rb = Rollback.create([str(project)])
    agent_work(project, outside)
    rb.snapshot()
    killed = subprocess.run([sys.executable, "-c", KILLER, rb.id, str(kill_after)],
                            capture_output=True, timeout=60)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    journal = json.loads((rb.path / "restore.journal").read_text())
    assert journal["state"] == "running"
    assert tree_state(project) != before  # half done

    again = Rollback.open(rb.id)
    pending = again.pending_restore()
    assert pending is not None and len(pending.actions) > kill_after
    if rerun == "replay":  # the very plan the killed process was running
        plan = pending
    else:  # a fresh plan: the half-restored paths are nono's own, not the person's work
        plan = again.plan_restore(0)
        assert plan.conflicts == ()
    again.restore(plan)
    assert tree_state(project) == before
    assert again.pending_restore() is None
    again.restore(plan)  # once more changes nothing
    assert tree_state(project) == before
    assert again.plan_restore(0).actions == ()


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          env=env, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_reset_hard_by_the_agent_is_undone(project: Path) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "first")
    (project / "src" / "app.py").write_text("def main():\n    return 'second'\n")
    git(project, "commit", "-qam", "second")
    git(project, "tag", "v2")
    head = git(project, "rev-parse", "HEAD")
    before = tree_state(project)
    rb = Rollback.create([str(project)])
    assert rb.snapshots()[0].git[str(project)]["refs"]["refs/heads/main"].strip() == head

    git(project, "reset", "-q", "--hard", "HEAD~1")
    git(project, "tag", "-d", "v2")
    git(project, "branch", "agent-branch")
    rb.snapshot()
    assert [c.kind for c in rb.changes()] == ["modified"]

    rb.restore(rb.plan_restore(0))
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "rev-parse", "v2") == head
    assert git(project, "branch", "--format=%(refname:short)") == "main"
    assert git(project, "status", "--porcelain") == ""
    work_tree = {k: v for k, v in tree_state(project).items() if not k.startswith(".git")}
    assert work_tree == {k: v for k, v in before.items() if not k.startswith(".git")}


def test_a_corrupt_object_is_skipped_and_a_missing_one_refused(project: Path) -> None:
    rb = Rollback.create([str(project)])
    (project / "README.md").write_text("agent readme\n")
    (project / "src" / "app.py").write_text("agent app\n")
    rb.snapshot()
    readme = next(c for c in rb.changes() if c.path.endswith("README.md")).old.hash
    obj = rb.path / "objects" / readme[:2] / readme[2:]
    obj.write_bytes(obj.read_bytes().replace(b"hello", b"HELLO"))

    result = rb.restore(rb.plan_restore(0))
    [skipped] = result.skipped
    assert "README.md" in skipped and readme in skipped and "corrupt" in skipped
    assert (project / "README.md").read_text() == "agent readme\n"  # left as it was
    assert (project / "src" / "app.py").read_text() == "def main():\n    return 1\n"

    obj.unlink()
    with pytest.raises(RollbackError, match=f"object {readme} of .*README.md is missing"):
        rb.plan_restore(0)
    assert any(readme in p and "missing" in p for p in rb.verify())
