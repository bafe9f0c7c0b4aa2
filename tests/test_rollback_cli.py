"""Rollback through the real CLI, with real sandboxed agents changing a real tree."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

AGENT = r"""
import os, shutil
os.chdir({work!r})
open("README.md", "a").write("agent was here\n")
open("new.txt", "w").write("created\n")
os.remove("delete-me.txt")
os.chmod("script.sh", 0o600)
os.rename("old-name.txt", "new-name.txt")
shutil.rmtree("sub")
os.symlink({outside!r}, "sub")
os.setxattr("tagged.txt", "user.note", b"changed")
os.makedirs("made/deep")
open("made/deep/file", "w").write("x")
"""


def snapshot_tree(root: Path) -> dict[str, tuple]:
    """Everything restore must bring back: type, content, mode, xattrs, symlink targets."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                xattrs = {k: os.getxattr(path, k) for k in os.listxattr(path)}
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode), xattrs)
    return out


@pytest.fixture
def tree(workspace: Path, home: Path) -> Path:
    (workspace / "delete-me.txt").write_text("bye\n")
    (workspace / "script.sh").write_text("#!/bin/sh\n")
    (workspace / "script.sh").chmod(0o755)
    (workspace / "old-name.txt").write_text("renamed\n")
    (workspace / "sub").mkdir()
    (workspace / "sub" / "inner.txt").write_text("inner\n")
    (workspace / "tagged.txt").write_text("tag\n")
    os.setxattr(workspace / "tagged.txt", "user.note", b"original")
    (home / "outside").mkdir()
    (home / "outside" / "keep.txt").write_text("outside\n")
    return workspace


def run_agent(nono, tree: Path, home: Path, *extra: str) -> subprocess.CompletedProcess:
    script = AGENT.format(work=str(tree), outside=str(home / "outside"))
    return nono("run", "--rollback", "--allow-cwd", *extra, "--", "python3", "-c", script)


def only_rollback(nono) -> dict:
    rows = json.loads(nono("rollback", "list", "--json").stdout)
    assert len(rows) == 1, rows
    return rows[0]


def test_restore_undoes_every_kind_of_change_byte_for_byte(nono, tree, home):
    before = snapshot_tree(tree)
    outside_before = snapshot_tree(home / "outside")
    r = run_agent(nono, tree, home)
    assert r.returncode == 0, r.stderr
    assert "undo with: nono rollback restore" in r.stderr
    assert snapshot_tree(tree) != before

    rb = only_rollback(nono)
    shown = json.loads(nono("rollback", "show", rb["id"], "--json").stdout)
    kinds = {c["path"].removeprefix(str(tree) + "/"): c["kind"] for c in shown["changes"]}
    assert kinds["README.md"] == "modified"
    assert kinds["new.txt"] == "created"
    assert kinds["delete-me.txt"] == "deleted"
    assert kinds["script.sh"] == "mode"
    assert kinds["old-name.txt"] == "deleted" and kinds["new-name.txt"] == "created"
    assert kinds["sub"] == "type"
    assert kinds["tagged.txt"] == "xattr"
    assert kinds["made"] == "created"
    diff = nono("rollback", "show", rb["id"], "--diff").stdout
    assert "+agent was here" in diff

    r = nono("rollback", "restore", rb["id"])
    assert r.returncode == 0, r.stderr
    assert snapshot_tree(tree) == before
    assert snapshot_tree(home / "outside") == outside_before


def test_restore_dry_run_changes_nothing(nono, tree, home):
    run_agent(nono, tree, home)
    after = snapshot_tree(tree)
    rb = only_rollback(nono)
    r = nono("rollback", "restore", rb["id"], "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "would restore" in r.stdout
    assert snapshot_tree(tree) == after


def test_edits_after_the_session_are_not_silently_overwritten(nono, tree, home):
    run_agent(nono, tree, home)
    rb = only_rollback(nono)
    (tree / "new.txt").write_text("my own work after the session\n")
    r = nono("rollback", "restore", rb["id"])
    assert r.returncode == 1
    assert "new.txt" in r.stderr and "--force" in r.stderr
    assert (tree / "new.txt").read_text() == "my own work after the session\n"
    r = nono("rollback", "restore", rb["id"], "--force")
    assert r.returncode == 0, r.stderr
    assert not (tree / "new.txt").exists()


def test_verify_catches_a_corrupted_object(nono, tree, home):
    run_agent(nono, tree, home)
    rb = only_rollback(nono)
    assert nono("rollback", "verify", rb["id"]).returncode == 0
    store = Path(os.environ["XDG_STATE_HOME"]) / "nono" / "rollbacks" / rb["id"] / "objects"
    victim = next(p for p in store.rglob("*") if p.is_file())
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.chmod(0o600)
    victim.write_bytes(bytes(data))
    r = nono("rollback", "verify", rb["id"])
    assert r.returncode == 1
    assert victim.name in r.stdout or victim.parent.name + victim.name in r.stdout


def test_gitignored_heavy_and_excluded_paths_are_not_snapshotted(nono, tree, home):
    (tree / ".gitignore").write_text("*.log\n")
    (tree / "node_modules" / "pkg").mkdir(parents=True)
    (tree / "notes").mkdir()
    script = (
        f"import os; os.chdir({str(tree)!r})\n"
        "open('debug.log','w').write('x')\n"
        "open('node_modules/pkg/index.js','w').write('x')\n"
        "open('notes/todo.md','w').write('x')\n"
        "open('kept.txt','w').write('x')\n"
    )
    r = nono("run", "--rollback", "--allow-cwd", "--rollback-exclude", "notes/", "--",
             "python3", "-c", script)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rb = only_rollback(nono)
    paths = {c["path"] for c in json.loads(nono("rollback", "show", rb["id"], "--json").stdout)
             ["changes"]}  # fmt: skip
    assert str(tree / "kept.txt") in paths
    assert not any(p.endswith(("debug.log", "index.js", "todo.md")) for p in paths)


def test_rollback_without_a_writable_grant_is_refused(nono):
    r = nono("run", "--rollback", "--", "true")
    assert r.returncode == 1
    assert "nothing to snapshot" in r.stderr


def test_detached_session_records_its_rollback_and_stop_takes_the_final_snapshot(nono, tree):
    r = nono("run", "--detached", "--rollback", "--allow-cwd", "--", "sh", "-c",
             "echo made > from-session.txt; sleep 60")  # fmt: skip
    assert r.returncode == 0, r.stderr
    session_id, _name, _word, rollback_id = r.stdout.split()
    info = json.loads(nono("inspect", session_id, "--json").stdout)
    assert info["rollback_id"] == rollback_id
    deadline = time.monotonic() + 10
    while not (tree / "from-session.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert nono("stop", session_id).returncode == 0
    shown = json.loads(nono("rollback", "show", rollback_id, "--json").stdout)
    assert [c["kind"] for c in shown["changes"]] == ["created"]
    assert nono("rollback", "restore", rollback_id).returncode == 0
    assert not (tree / "from-session.txt").exists()


def test_full_disk_refuses_the_run_before_the_agent_starts(nono, tree, tmp_path):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (tree / "big.bin").write_bytes(os.urandom(256 * 1024))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(state)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        r = nono("run", "--rollback", "--allow-cwd", "--", "touch", "agent-ran")
        assert r.returncode == 1
        assert "space" in r.stderr.lower()
        assert "Traceback" not in r.stderr
        assert not (tree / "agent-ran").exists()
        rollbacks = state / "nono" / "rollbacks"
        assert not rollbacks.exists() or not any(rollbacks.iterdir())
    finally:
        subprocess.run(["umount", "-l", str(state)], capture_output=True)


def test_interactive_run_offers_a_review_and_restores_on_request(tree, home):
    child = pexpect.spawn(sys.executable, ["-m", "nono", "run", "--rollback", "--allow-cwd",
                                           "--", "sh", "-c", "echo junk > junk.txt"],
                          cwd=str(tree), env=dict(os.environ), dimensions=(24, 80),
                          timeout=20)  # fmt: skip
    try:
        child.expect(r"\[k\]eep all")
        assert (tree / "junk.txt").exists()
        child.sendline("r")
        child.expect("restored")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert not (tree / "junk.txt").exists()


def test_a_session_that_never_starts_leaves_no_rollback(nono, tree):
    r = nono("run", "--detached", "--name", "dup", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        r = nono("run", "--detached", "--rollback", "--allow-cwd", "--name", "dup", "--", "true")
        assert r.returncode == 1 and "already named" in r.stderr
        assert json.loads(nono("rollback", "list", "--json").stdout) == []
    finally:
        nono("stop", "dup", "--force")
