"""A session that ended without its final snapshot (supervisor killed, disk full) is not
reported as "0 changes": the snapshot is taken when first needed, and labelled late."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WAIT = 20


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_killed_supervisor_final_snapshot_is_taken_late_and_labelled(nono, workspace):
    r = nono("run", "--detached", "--rollback", "--allow-cwd", "--", "sh", "-c",
             "echo made > from-agent.txt; echo more >> README.md; sleep 60")  # fmt: skip
    assert r.returncode == 0, r.stderr
    session_id, _name, _word, rid = r.stdout.split()
    wait_for(lambda: (workspace / "from-agent.txt").exists(), "the agent's file")
    wait_for(lambda: "more" in (workspace / "README.md").read_text(), "the agent's edit")

    # Still running: nothing is snapshotted under the agent, and nothing claims "no changes".
    running = nono("rollback", "show", rid)
    assert running.returncode == 0, running.stderr
    assert "still running" in running.stdout
    assert json.loads(nono("rollback", "list", "--json").stdout)[0]["snapshots"] == 1
    refused = nono("rollback", "restore", rid)
    assert refused.returncode == 1 and "still running" in refused.stderr
    assert (workspace / "from-agent.txt").exists()

    info = json.loads(nono("inspect", session_id, "--json").stdout)
    os.kill(info["supervisor_pid"], signal.SIGKILL)
    wait_for(lambda: json.loads(nono("inspect", session_id, "--json").stdout)["status"]
             == "exited", "the session to be seen as ended")  # fmt: skip

    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    kinds = {Path(c["path"]).name: c["kind"] for c in shown["changes"]}
    assert kinds == {"from-agent.txt": "created", "README.md": "modified"}
    assert shown["final_snapshot"]["late"] is True
    assert "taken late" in shown["note"]
    text = nono("rollback", "show", rid).stdout
    assert "2 change(s)" in text and "final snapshot taken late, at " in text
    listed = json.loads(nono("rollback", "list", "--json").stdout)[0]
    assert listed["changes"] == 2 and listed["snapshots"] == 2
    assert listed["final_snapshot"]["late"] is True
    assert "taken late" in nono("rollback", "list").stdout

    # The agent's edits are the agent's: restore needs no --force and undoes them.
    r = nono("rollback", "restore", rid)
    assert r.returncode == 0, r.stderr
    assert "taken late" in r.stderr
    assert not (workspace / "from-agent.txt").exists()
    assert (workspace / "README.md").read_text() == "hello\n"


def test_killed_direct_run_final_snapshot_is_taken_late(workspace, nono):
    agent = "echo made > from-agent.txt; while [ ! -e stop ]; do sleep 0.05; done"
    run = subprocess.Popen([sys.executable, "-m", "nono", "run", "--rollback", "--allow-cwd",
                            "--", "sh", "-c", agent], cwd=workspace, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: (workspace / "from-agent.txt").exists(), "the agent's file")
        assert "still running" in nono("rollback", "show",
                                       json.loads(nono("rollback", "list", "--json").stdout)
                                       [0]["id"]).stdout  # fmt: skip
    finally:
        run.kill()
        run.wait()
        (workspace / "stop").write_text("")
    rid = json.loads(nono("rollback", "list", "--json").stdout)[0]["id"]
    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    names = {Path(c["path"]).name for c in shown["changes"]}
    assert "from-agent.txt" in names
    assert shown["final_snapshot"]["late"] is True


def test_a_final_snapshot_taken_on_time_is_not_labelled_late(nono, workspace):
    r = nono("run", "--rollback", "--allow-cwd", "--", "sh", "-c", "echo x > made.txt")
    assert r.returncode == 0, r.stderr
    rid = json.loads(nono("rollback", "list", "--json").stdout)[0]["id"]
    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    assert shown["final_snapshot"]["late"] is False and shown["note"] is None
    assert "late" not in nono("rollback", "show", rid).stdout


def test_full_disk_at_the_end_is_an_error_then_a_late_snapshot(nono, workspace, tmp_path):
    from conftest import small_tmpfs

    with small_tmpfs(tmp_path / "state", "256k") as state:
        r = nono("run", "--rollback", "--allow-cwd", "--", "sh", "-c",
                 "head -c 400000 /dev/urandom > big.bin")  # fmt: skip
        assert "space" in r.stderr.lower(), r.stderr
        rid = json.loads(nono("rollback", "list", "--json").stdout)[0]["id"]
        full = nono("rollback", "show", rid)
        assert full.returncode == 1 and "space" in full.stderr.lower()
        assert "0 change(s)" not in full.stdout
        subprocess.run(["mount", "-o", "remount,size=8m", str(state)], check=True)
        shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
        assert [Path(c["path"]).name for c in shown["changes"]] == ["big.bin"]
        assert shown["final_snapshot"]["late"] is True
