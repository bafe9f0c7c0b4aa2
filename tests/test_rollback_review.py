"""The rollback a new user meets: the post-run review in a real terminal, what a run with no
changes says, retention that treats every kind of run alike, and git refs in rollback show."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pexpect
import pyte
from rollback_helpers import git, git_repo


class Terminal:
    """`nono run` in a real PTY of a fixed size, its output read through pyte."""

    def __init__(self, args: list[str], cwd: Path, rows: int = 30, cols: int = 100) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(sys.executable, ["-m", "nono", *args], cwd=str(cwd),
                                   env=dict(os.environ), dimensions=(rows, cols),
                                   timeout=30)  # fmt: skip

    def pump(self, seconds: float = 0.2) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.05))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break

    def wait_for(self, text: str, seconds: float = 20) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(0.1)
            if text in self.text():
                return
        raise AssertionError(f"{text!r} never appeared on screen:\n{self.text()}")

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def finish(self) -> int | None:
        while self.child.isalive():
            self.pump(0.1)
        self.pump(0.1)
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        self.child.close(force=True)


def review_of(workspace: Path, script: str) -> Terminal:
    term = Terminal(["run", "--rollback", "--allow-cwd", "--", "sh", "-c", script], workspace)
    term.wait_for("[k]eep all")
    return term


def test_the_select_dialog_confirms_on_enter_and_ticks_on_space(workspace):
    term = review_of(workspace, "echo a > a.txt; echo b > b.txt")
    try:
        term.child.send("s\r")
        term.wait_for("a.txt")
        term.wait_for("[ ] created")
        term.child.send(" ")  # tick the focused path (the first one)
        term.pump(0.3)
        term.child.send("\r")  # confirm: restore what is ticked
        term.wait_for("restored")
        assert term.finish() == 0
    finally:
        term.close()
    ticked_first = sorted(p.name for p in workspace.glob("?.txt"))
    assert len(ticked_first) == 1, ticked_first  # exactly one undone, the other kept


def test_ctrl_c_at_the_review_prompt_keeps_everything_and_says_how_to_undo(workspace):
    term = review_of(workspace, "echo x > made.txt")
    try:
        term.child.sendintr()
        term.wait_for("nono rollback restore")
        term.finish()
    finally:
        term.close()
    lines = term.text().splitlines()
    prompt = next(i for i, line in enumerate(lines) if "[k]eep all" in line)
    hint = next(i for i, line in enumerate(lines) if "nono rollback restore" in line)
    assert hint > prompt, term.text()  # on a line of its own, not after the ^C
    assert lines[hint].lstrip().startswith(("kept", "nono:")), term.text()
    assert (workspace / "made.txt").exists()


def test_a_run_with_no_changes_does_not_offer_to_undo_them(nono):
    r = nono("run", "--rollback", "--allow-cwd", "--", "true")
    assert r.returncode == 0, r.stderr
    assert "0 change(s)" not in r.stderr and "undo with" not in r.stderr
    assert "no changes" in r.stderr
    r = nono("run", "--rollback", "--allow-cwd", "--", "sh", "-c", "echo x > made.txt")
    assert "1 change(s); undo with: nono rollback restore" in r.stderr


# ---------------------------------------------------------------- retention


def keep_one(tmp_path: Path) -> None:
    config = tmp_path / "config" / "nono"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("[rollback]\nkeep = 1\n")


def rollback_ids(nono) -> list[str]:
    return [r["id"] for r in json.loads(nono("rollback", "list", "--json").stdout)]


def scripted(nono, script: str):
    r = nono("run", "--rollback", "--allow-cwd", "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    return r


def test_scripted_runs_apply_retention_and_keep_unrestored_changes_saying_so(nono, tmp_path):
    keep_one(tmp_path)
    scripted(nono, "true")
    changed = rollback_ids(nono)[0]
    scripted(nono, "echo x > made.txt")
    changed = rollback_ids(nono)[0]
    scripted(nono, "true")
    r = scripted(nono, "true")
    ids = rollback_ids(nono)
    # keep = 1: the newest stays, the ones without changes go, the one with changes stays...
    assert len(ids) == 2 and changed in ids, ids
    # ... and the run says so, with what to do about it.
    assert changed in r.stderr and "never restored" in r.stderr
    assert "keep = 1" in r.stderr and "nono rollback cleanup" in r.stderr


def test_a_terminal_run_applies_the_same_retention_as_a_scripted_one(nono, workspace, tmp_path):
    keep_one(tmp_path)
    scripted(nono, "echo x > made.txt")
    changed = rollback_ids(nono)[0]
    scripted(nono, "true")
    term = Terminal(["run", "--rollback", "--allow-cwd", "--", "true"], workspace, cols=300)
    try:
        term.wait_for(changed)
        assert term.finish() == 0
    finally:
        term.close()
    assert "never restored" in term.text()
    ids = rollback_ids(nono)
    assert len(ids) == 2 and changed in ids, ids


def test_cleanup_dry_run_shows_what_retention_removes_and_which_have_changes(nono, tmp_path):
    scripted(nono, "echo x > made.txt")
    changed = rollback_ids(nono)[0]
    scripted(nono, "true")
    empty = rollback_ids(nono)[0]
    scripted(nono, "true")
    keep_one(tmp_path)
    r = nono("rollback", "cleanup", "--dry-run")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[2]: line for line in r.stdout.splitlines() if line.startswith("would")}
    assert set(lines) == {changed, empty}, r.stdout
    assert "1 change(s) never restored" in lines[changed]
    assert "never restored" not in lines[empty]
    assert len(rollback_ids(nono)) == 3  # a dry run removes nothing
    r = nono("rollback", "cleanup")
    assert r.returncode == 0, r.stderr
    assert f"removed {changed}" in r.stdout and "1 change(s) never restored" in r.stdout
    assert len(rollback_ids(nono)) == 1


def test_a_restored_rollback_has_nothing_left_to_lose(nono, tmp_path, workspace):
    keep_one(tmp_path)
    scripted(nono, "echo x > made.txt")
    restored = rollback_ids(nono)[0]
    assert nono("rollback", "restore", restored).returncode == 0
    r = scripted(nono, "true")
    assert restored not in rollback_ids(nono)
    assert "never restored" not in r.stderr


# ---------------------------------------------------------------- git refs


def test_show_lists_the_head_and_ref_changes_restore_undoes(nono, workspace):
    git_repo(workspace)
    before = git(workspace, "rev-parse", "HEAD").strip()
    env = " ".join(f"{k}={v}" for k, v in {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
                   "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}.items())  # fmt: skip
    r = nono("run", "--rollback", "--allow-cwd", "--", "sh", "-c",
             f"{env} git commit -q --allow-empty -m agent && git tag v9 && "
             "git checkout -q -b feature")  # fmt: skip
    assert r.returncode == 0, r.stderr
    rid = rollback_ids(nono)[0]
    shown = nono("rollback", "show", rid)
    text = shown.stdout
    assert "HEAD" in text and "refs/heads/feature" in text
    assert "refs/heads/main" in text and before[:12] in text
    assert "refs/tags/v9" in text
    info = json.loads(nono("rollback", "show", rid, "--json").stdout)
    refs = {g["ref"]: g["kind"] for g in info["git"]}
    assert refs["refs/tags/v9"] == "created" and refs["refs/heads/main"] == "moved"
    assert refs["HEAD"] == "moved"
    assert nono("rollback", "restore", rid).returncode == 0
    assert git(workspace, "rev-parse", "HEAD").strip() == before


def test_a_finished_progress_bar_leaves_nothing_behind(workspace):
    """A direct run (output piped) with its stderr on a terminal shows the snapshot bars while
    they run; once done they are gone, not left (or drawn again) above nono's own messages."""
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    command = (f"{sys.executable} -m nono run --rollback --allow-cwd -- "
               "sh -c 'echo x > made.txt' | cat")  # fmt: skip
    env = {**os.environ, "NONO_PROGRESS_DELAY": "0"}
    child = pexpect.spawn("sh", ["-c", command], cwd=str(workspace), env=env,
                          dimensions=(30, 100), timeout=30)  # fmt: skip
    seen = b""
    try:
        while True:
            try:
                data = child.read_nonblocking(65536, timeout=20)
            except pexpect.EOF:
                break
            seen += data
            stream.feed(data)
    finally:
        child.close(force=True)
    assert b"Snapshotting" in seen  # the bars were shown while the work ran
    text = "\n".join(line.rstrip() for line in screen.display)
    assert "1 change(s); undo with" in text, text
    assert "Snapshotting" not in text and "100.0%" not in text, text


def test_many_kept_rollbacks_are_said_in_one_line_not_a_growing_list(nono, tmp_path):
    keep_one(tmp_path)
    for n in range(5):
        r = scripted(nono, f"echo {n} > made-{n}.txt")
    said = [line for line in r.stderr.splitlines() if "never restored" in line]
    assert len(said) == 1 and "kept 4 rollbacks beyond [rollback] keep = 1" in said[0], r.stderr
    assert len(rollback_ids(nono)) == 5


def test_the_disk_cap_removes_even_unrestored_rollbacks_and_says_so(nono, tmp_path):
    config = tmp_path / "config" / "nono"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("[rollback]\nkeep = 1\nmax_total_mb = 0\n")
    scripted(nono, "echo x > made.txt")
    changed = rollback_ids(nono)[0]
    r = scripted(nono, "true")
    assert changed not in rollback_ids(nono)  # a hard limit: sparing would grow without end
    assert f"removed rollback {changed}" in r.stderr and "max_total_mb = 0" in r.stderr
    assert "1 change(s) it held were never restored" in r.stderr
