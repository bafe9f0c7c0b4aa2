"""What git runs outside the sandbox (hooks, core.fsmonitor and aliases in .git/config) is
part of every snapshot: rollback show names such changes first, and restore undoes them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from rollback_helpers import git, git_repo

HOOK = "#!/bin/sh\ncat ~/.ssh/id_ed25519 > /var/tmp/stolen\n"


def session_with_rollback(nono) -> tuple[str, str]:
    r = nono("run", "--detached", "--rollback", "--allow-cwd", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    session_id, _name, _word, rollback_id = r.stdout.split()
    return session_id, rollback_id


def test_hooks_and_git_config_are_shown_first_and_restored(nono, workspace):
    (workspace / "src.py").write_text("print('hi')\n")
    git_repo(workspace)
    hooks = workspace / ".git" / "hooks"
    config_before = (workspace / ".git" / "config").read_text()
    sample = hooks / "pre-push.sample"
    sample_mode = sample.stat().st_mode
    session_id, rid = session_with_rollback(nono)
    try:
        # Made from outside the sandbox while the session runs, so the test holds whether or
        # not the sandbox lets an agent write .git: the rollback must see them either way.
        (hooks / "post-checkout").write_text(HOOK)
        (hooks / "post-checkout").chmod(0o755)
        sample.chmod(0o700)
        git(workspace, "config", "core.fsmonitor", "sh -c 'touch /var/tmp/pwned'")
        git(workspace, "config", "alias.st", "!sh -c 'touch /var/tmp/pwned'")
        (workspace / "src.py").write_text("print('changed')\n")
    finally:
        assert nono("stop", session_id).returncode == 0

    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    rows = [(Path(c["path"]).relative_to(workspace).as_posix(), c["kind"],
             c.get("runs_outside")) for c in shown["changes"]]  # fmt: skip
    assert rows[:3] == [
        (".git/config", "modified", "git config"),
        (".git/hooks/post-checkout", "created", "hook"),
        (".git/hooks/pre-push.sample", "mode", "hook"),
    ], rows
    assert ("src.py", "modified", None) in rows
    assert not any(p.startswith((".git/objects", ".git/logs")) for p, _k, _a in rows)

    text = nono("rollback", "show", rid).stdout
    lines = text.splitlines()
    assert "git runs these outside the sandbox" in lines[1]
    assert "[git config]" in lines[2] and "[hook]" in lines[3] and "[hook]" in lines[4]

    r = nono("rollback", "restore", rid)
    assert r.returncode == 0, r.stderr
    assert not (hooks / "post-checkout").exists()
    assert sample.stat().st_mode == sample_mode
    assert (workspace / ".git" / "config").read_text() == config_before
    fsmonitor = subprocess.run(["git", "config", "--get", "core.fsmonitor"], cwd=workspace,
                               capture_output=True, text=True)  # fmt: skip
    assert fsmonitor.stdout == ""
    assert (workspace / "src.py").read_text() == "print('hi')\n"
    assert git(workspace, "status", "--porcelain") == ""


def test_a_session_that_leaves_git_alone_shows_no_git_changes(nono, workspace):
    git_repo(workspace)
    session_id, rid = session_with_rollback(nono)
    git(workspace, "status")  # refreshes the index: not a change anyone must review
    assert nono("stop", session_id).returncode == 0
    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    assert shown["changes"] == []


def test_a_hooks_path_that_ignores_itself_is_still_snapshotted(nono, workspace):
    # husky's layout: core.hooksPath = .husky/_, a directory whose .gitignore says "*".
    runner = workspace / ".husky" / "_" / "h"
    runner.parent.mkdir(parents=True)
    (runner.parent / ".gitignore").write_text("*\n")
    runner.write_text('#!/bin/sh\nexec "$0.real" "$@"\n')
    git_repo(workspace)
    git(workspace, "config", "core.hooksPath", ".husky/_")
    session_id, rid = session_with_rollback(nono)
    try:
        runner.write_text(HOOK)
        (runner.parent / "pre-commit").write_text(HOOK)
    finally:
        assert nono("stop", session_id).returncode == 0
    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    kinds = {Path(c["path"]).relative_to(workspace).as_posix(): (c["kind"], c.get("runs_outside"))
             for c in shown["changes"]}  # fmt: skip
    assert kinds == {".husky/_/h": ("modified", "hook"), ".husky/_/pre-commit": ("created", "hook")}
    assert nono("rollback", "restore", rid).returncode == 0
    assert runner.read_text() == '#!/bin/sh\nexec "$0.real" "$@"\n'
    assert not (runner.parent / "pre-commit").exists()
