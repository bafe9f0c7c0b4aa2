"""Turns you can undo: a snapshot each time the agent's turn ends, each turn shown and undone on
its own, and later work (a later turn's, the person's) never overwritten without --force."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest
from conftest import small_tmpfs
from rollback_helpers import age, git, git_repo

from nono.rollback import Options, Rollback, RollbackError


def start(workspace: Path) -> Rollback:
    """A rollback as `nono run --rollback` makes one. Its owner (this test) is alive, so the
    CLI takes the session as still running until the test takes the final snapshot."""
    age(workspace)
    return Rollback.create([str(workspace)], Options(), command=["agent"])


def two_turns(workspace: Path) -> Rollback:
    """Turn 1 creates a.txt and edits README.md; turn 2 creates b.txt and edits a.txt."""
    rb = start(workspace)
    (workspace / "a.txt").write_text("first\n")
    (workspace / "README.md").write_text("hello\nfrom turn 1\n")
    assert rb.turn_snapshot() is not None
    (workspace / "b.txt").write_text("made in turn 2\n")
    (workspace / "a.txt").write_text("second\n")
    assert rb.turn_snapshot() is not None
    return rb


def shown(nono, rid: str, *args: str) -> dict[str, str]:
    r = nono("rollback", "show", rid, "--json", *args)
    assert r.returncode == 0, r.stderr
    return {Path(c["path"]).name: c["kind"] for c in json.loads(r.stdout)["changes"]}


def test_a_turn_that_changed_nothing_keeps_no_snapshot(workspace):
    rb = start(workspace)
    assert rb.turn_snapshot() is None
    (workspace / "a.txt").write_text("first\n")
    first = rb.turn_snapshot()
    assert first is not None and first.turn and first.changes == 1
    # Read, stat, touch a directory: nothing a person would call a change.
    (workspace / "a.txt").read_text()
    (workspace / "scratch").mkdir()
    (workspace / "scratch").rmdir()
    assert rb.turn_snapshot() is None
    assert [s.index for s in rb.snapshots()] == [0, 1]
    assert rb.final_missing()  # a turn snapshot is not the session's final one


def test_turns_are_numbered_in_order_and_listed(nono, workspace):
    rb = two_turns(workspace)
    assert rb.turn_snapshot() is None
    turns = rb.turns()
    assert [(t.number, t.since, t.until, t.changes) for t in turns] == [(1, 0, 1, 2), (2, 1, 2, 2)]
    assert turns[0].ended == turns[1].started

    listed = json.loads(nono("rollback", "list", "--json").stdout)[0]
    assert (listed["snapshots"], listed["turns"]) == (3, 2)
    assert "TURNS" in nono("rollback", "list").stdout
    show = nono("rollback", "show", rb.id)
    assert "in 2 turns" in show.stdout
    # Still running: what the turns changed is listed, and said to be so far.
    assert "still running" in show.stdout and "end of turn 2" in show.stdout
    assert shown(nono, rb.id) == {"a.txt": "created", "README.md": "modified", "b.txt": "created"}

    # The session ends with a change after its last turn: the final snapshot ends turn 3.
    (workspace / "c.txt").write_text("last words\n")
    rb.snapshot()
    assert rb.turn_snapshot() is None  # a turn after the final snapshot would hide it
    data = json.loads(nono("rollback", "show", rb.id, "--json").stdout)
    assert [t["number"] for t in data["turns"]] == [1, 2, 3]
    assert data["note"] is None


def test_show_turn_lists_only_that_turns_changes_and_its_diffs(nono, workspace):
    rb = two_turns(workspace)
    assert shown(nono, rb.id, "--turn", "1") == {"a.txt": "created", "README.md": "modified"}
    assert shown(nono, rb.id, "--turn", "2") == {"b.txt": "created", "a.txt": "modified"}
    assert shown(nono, rb.id, "--turn", "last") == shown(nono, rb.id, "--turn", "2")

    r = nono("rollback", "show", rb.id, "--turn", "2", "--diff")
    assert r.returncode == 0, r.stderr
    assert f"rollback {rb.id}, turn 2 of 2 (" in r.stdout and "2 change(s)" in r.stdout
    assert "-first" in r.stdout and "+second" in r.stdout
    assert "README" not in r.stdout  # turn 1's edit is not turn 2's


def test_restore_turn_undoes_only_that_turn(nono, workspace):
    rb = two_turns(workspace)
    (workspace / "c.txt").write_text("made in turn 3\n")
    rb.snapshot()

    r = nono("rollback", "restore", rb.id, "--turn", "2")
    assert r.returncode == 0, r.stderr
    assert "undid turn 2: restored 1, removed 1" in r.stdout
    assert not (workspace / "b.txt").exists()
    assert (workspace / "a.txt").read_text() == "first\n"  # as turn 1 left it
    assert (workspace / "README.md").read_text() == "hello\nfrom turn 1\n"  # turn 1's, kept
    assert (workspace / "c.txt").exists()  # turn 3's, kept

    # What is left to undo is still undone as a whole, with no --force: nono made this state.
    r = nono("rollback", "restore", rb.id)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in workspace.iterdir()) == ["README.md"]
    assert (workspace / "README.md").read_text() == "hello\n"


def test_restore_turn_works_while_the_session_runs_and_dry_run_changes_nothing(nono, workspace):
    rb = two_turns(workspace)
    dry = nono("rollback", "restore", rb.id, "--turn", "last", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would undo turn 2" in dry.stdout and "b.txt" in dry.stdout
    assert (workspace / "b.txt").exists()
    r = nono("rollback", "restore", rb.id, "--turn", "1")
    assert r.returncode == 0, r.stderr
    assert (workspace / "README.md").read_text() == "hello\n"
    # a.txt was made in turn 1 but changed again in turn 2: that later work is kept.
    assert (workspace / "a.txt").read_text() == "second\n"
    assert "kept" in r.stdout and "a.txt: changed after turn 1" in r.stdout
    assert (workspace / "b.txt").exists()


def tree_state(root: Path) -> dict[str, tuple]:
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            out[str(path.relative_to(root))] = ("link", os.readlink(path))
        elif path.is_dir():
            out[str(path.relative_to(root))] = ("dir", st.st_mode & 0o7777)
        else:
            out[str(path.relative_to(root))] = ("file", path.read_bytes(), st.st_mode & 0o7777)
    return out


def test_undoing_a_turn_brings_back_what_it_deleted_renamed_and_chmodded(nono, workspace):
    (workspace / "sub" / "deep").mkdir(parents=True)
    (workspace / "sub" / "deep" / "inner.txt").write_text("inner\n")
    (workspace / "script.sh").write_text("#!/bin/sh\n")
    (workspace / "script.sh").chmod(0o755)
    (workspace / "old-name.txt").write_text("renamed\n")
    rb = start(workspace)
    before = tree_state(workspace)
    (workspace / "sub" / "deep" / "inner.txt").unlink()
    (workspace / "sub" / "deep").rmdir()
    (workspace / "sub").rmdir()
    (workspace / "script.sh").chmod(0o600)
    (workspace / "old-name.txt").rename(workspace / "new-name.txt")
    os.symlink("new-name.txt", workspace / "link")
    rb.turn_snapshot()
    r = nono("rollback", "restore", rb.id, "--turn", "1")
    assert r.returncode == 0, r.stderr
    assert tree_state(workspace) == before


def test_a_later_edit_by_the_person_is_kept_without_force_and_overwritten_with_it(nono, workspace):
    rb = start(workspace)
    (workspace / "notes.txt").write_text("agent's notes\n")
    (workspace / "other.txt").write_text("agent's other file\n")
    rb.turn_snapshot()
    (workspace / "notes.txt").write_text("the person's own edit\n")

    r = nono("rollback", "restore", rb.id, "--turn", "1")
    assert r.returncode == 0, r.stderr
    assert "notes.txt: changed after turn 1; --force undoes it anyway" in r.stdout
    assert (workspace / "notes.txt").read_text() == "the person's own edit\n"
    assert not (workspace / "other.txt").exists()  # the rest of the turn is undone

    r = nono("rollback", "restore", rb.id, "--turn", "1", "--force")
    assert r.returncode == 0, r.stderr
    assert not (workspace / "notes.txt").exists()


def test_a_directory_the_turn_made_that_holds_later_files_stays(nono, workspace):
    rb = start(workspace)
    (workspace / "docs").mkdir()
    (workspace / "docs" / "one.md").write_text("1")
    rb.turn_snapshot()
    (workspace / "docs" / "two.md").write_text("2")
    rb.turn_snapshot()
    r = nono("rollback", "restore", rb.id, "--turn", "1", "--force")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (workspace / "docs").iterdir()) == ["two.md"]
    assert "docs: it holds what was made after turn 1" in r.stdout


def test_a_turn_out_of_range_is_an_error_naming_the_valid_ones(nono, workspace):
    rb = start(workspace)
    r = nono("rollback", "show", rb.id, "--turn", "1")
    assert r.returncode == 1 and "has no turns yet" in r.stderr
    rb = two_turns(workspace)
    for bad in ("3", "0", "-1"):
        for action in ("show", "restore"):
            r = nono("rollback", action, rb.id, "--turn", bad)
            assert r.returncode == 1, r.stdout
            assert f"has no turn {bad}" in r.stderr and "turns: 1-2 or last" in r.stderr
    r = nono("rollback", "restore", rb.id, "--turn", "first")
    assert r.returncode == 1 and "'first' is not a turn number" in r.stderr
    assert (workspace / "b.txt").exists() and (workspace / "a.txt").read_text() == "second\n"


def test_a_git_commit_in_a_turn_is_undone_with_the_turn(nono, workspace):
    git_repo(workspace)
    head = git(workspace, "rev-parse", "HEAD").strip()
    rb = start(workspace)
    (workspace / "a.txt").write_text("first\n")
    git(workspace, "add", "a.txt")
    git(workspace, "commit", "-q", "-m", "turn 1")
    rb.turn_snapshot()
    assert "git ref" in nono("rollback", "show", rb.id, "--turn", "1").stdout
    r = nono("rollback", "restore", rb.id, "--turn", "1")
    assert r.returncode == 0, r.stderr
    assert git(workspace, "rev-parse", "HEAD").strip() == head
    assert not (workspace / "a.txt").exists()
    # A manifest holds only hooks and config of .git: the rest of it is not the turn's.
    assert (workspace / ".git" / "config").exists() and (workspace / ".git" / "hooks").is_dir()


def test_undoing_the_first_turn_is_not_taken_for_undoing_the_session(workspace):
    git_repo(workspace)
    rb = start(workspace)
    (workspace / "a.txt").write_text("first\n")
    rb.turn_snapshot()
    git(workspace, "commit", "-q", "--allow-empty", "-m", "turn 2")
    rb.snapshot()
    rb.restore(rb.plan_turn_restore(1))  # back to snapshot 0, but for turn 1's paths only
    # What is left: turn 2's branch move, which only undoing the whole session puts back.
    assert rb.unrestored() == 1


def hold_lock(rb: Rollback) -> int:
    """Take the rollback's lock as a running restore holds it."""
    fd = os.open(rb.path / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_turn_snapshot_during_a_restore_is_refused_and_the_final_one_waits(workspace):
    rb = start(workspace)
    (workspace / "a.txt").write_text("first\n")
    fd = hold_lock(rb)
    try:
        with pytest.raises(RollbackError, match="busy"):
            rb.turn_snapshot()
        assert [s.index for s in rb.snapshots()] == [0]
        final: list = []
        waiter = threading.Thread(target=lambda: final.append(rb.snapshot()))
        waiter.start()
        waiter.join(0.3)
        assert waiter.is_alive() and not final  # waiting, not failing "busy"
    finally:
        os.close(fd)
    waiter.join()
    assert final[0].index == 1 and not final[0].turn and not rb.final_missing()


def test_a_full_disk_loses_that_turn_only(home, workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "small"))
    with small_tmpfs(tmp_path / "small", "256k"):
        rb = start(workspace)
        (workspace / "a.txt").write_text("first\n")
        assert rb.turn_snapshot() is not None
        (workspace / "big.bin").write_bytes(os.urandom(512 * 1024))
        with pytest.raises(RollbackError, match="not enough space for turn snapshot 2") as exc:
            rb.turn_snapshot()
        assert "earlier snapshots are intact" in str(exc.value.hint)
        assert [s.index for s in rb.snapshots()] == [0, 1]
        assert rb.verify() == []
        assert [t.number for t in rb.turns()] == [1]
        # Space again: the next turn holds what the lost one changed.
        (workspace / "big.bin").unlink()
        (workspace / "b.txt").write_text("second\n")
        info = rb.turn_snapshot()
        assert info is not None and info.index == 2
        assert {Path(c.path).name for c in rb.changes(1, 2)} == {"b.txt"}
        plan = rb.plan_turn_restore(1)
        rb.restore(plan)
        assert not (workspace / "a.txt").exists() and (workspace / "b.txt").exists()


# The agent: busy (a dot every 0.1 s) until the test lets it go on, then writes a file and asks;
# an answer starts the next step. The cue files are left out of the rollback.
AGENT = r"""
import os, sys, time
def w(s):
    sys.stdout.write(s)
    sys.stdout.flush()
for step in (1, 2):
    w(f"step {step}: working")
    while not os.path.exists(f"cues/go{step}"):
        w(".")
        time.sleep(0.1)
    open(f"step{step}.txt", "w").write(f"written in step {step}\n")
    w("\nContinue? [y/N] ")
    w("got " + sys.stdin.readline().strip() + "\n")
"""


def wait_state(session_id: str, state: str) -> None:
    from nono.session import registry
    from nono.session.client import Control

    with Control(registry.read_record(session_id)) as control:
        answer = control.request("wait", wait=20, state=state)
    assert answer.get("reached") == "state", answer


def wait_turns(nono, rid: str, count: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        r = nono("rollback", "show", rid, "--json")
        assert r.returncode == 0, r.stderr
        if len(json.loads(r.stdout)["turns"]) == count:
            return
        assert time.monotonic() < deadline, f"timed out waiting for turn {count}: {r.stdout}"
        time.sleep(0.1)


def test_a_session_takes_a_turn_snapshot_each_time_it_asks(nono, workspace):
    (workspace / "agent.py").write_text(AGENT)
    (workspace / "cues").mkdir()
    r = nono("run", "--detached", "--rollback", "--rollback-exclude", "cues/", "--allow-cwd",
             "--", "python3", "agent.py")  # fmt: skip
    assert r.returncode == 0, r.stderr
    session_id, _name, _word, rid = r.stdout.split()
    try:
        for step in (1, 2):
            wait_state(session_id, "working")
            (workspace / "cues" / f"go{step}").write_text("")
            wait_state(session_id, "waiting")  # working -> waiting: the turn's snapshot
            wait_turns(nono, rid, step)
            r = nono("send-keys", session_id, "y", "Enter")
            assert r.returncode == 0, r.stderr
        assert shown(nono, rid, "--turn", "1") == {"step1.txt": "created"}
        assert shown(nono, rid, "--turn", "2") == {"step2.txt": "created"}
        r = nono("rollback", "restore", rid, "--turn", "1")
        assert r.returncode == 0, r.stderr
        assert not (workspace / "step1.txt").exists() and (workspace / "step2.txt").exists()
    finally:
        nono("stop", session_id, "--force")
