"""The review overlay (review-turn, prefix u): the focused session's changes in its last turn and
since the start, a file's diff, and restores of one file, the last turn or everything that
keep the person's own later edits unless forced."""

from __future__ import annotations

import json
import re
import time

from nono.rollback import Rollback
from nono.session.registry import EXITED
from tests import test_mux
from tests.mux_helpers import Dashboard

# The dashboard tests' fixtures: detached sessions, and `nono mux` in a PTY.
sessions, dashboard = test_mux.sessions, test_mux.dashboard

# Two turns: first.txt, then (after a line on stdin) second.txt and a line added to README.md.
# The second turn works a moment first: output right after a keystroke is taken for its echo.
AGENT = ('echo one > first.txt; echo READY-"agent"; read x; sleep 1; echo two > second.txt; '
         'echo more >> README.md; echo TURN2-"agent"; read y')  # fmt: skip


def rollback_of(nono, session: str) -> Rollback:
    return Rollback.open(json.loads(nono("inspect", session, "--json").stdout)["rollback_id"])


def row_of(dash: Dashboard, text: str) -> int:
    return next(i for i, line in enumerate(dash.lines()) if text in line)


def selected_row(dash: Dashboard) -> int | None:
    """The row the overlay shows selected (reversed colours: a light background)."""
    for y in range(dash.rows - 1):
        if dash.screen.buffer[y][3].bg in ("white", "brightwhite"):
            return y
    return None


def select(dash: Dashboard, line_text: str) -> None:
    """Move the review's selection down onto the first line containing `line_text`."""
    target = row_of(dash, line_text)
    for _ in range(30):
        if selected_row(dash) == target:
            return
        dash.send("j")
        dash.settle(0.1)
    raise AssertionError(f"cannot select {line_text!r}:\n{dash.text()}")


def end_turn(rb: Rollback, wrote: str) -> None:
    """Until the supervisor's turn snapshot holding `wrote` is taken (the agent went from
    working to idle, asleep on its read)."""
    deadline = time.monotonic() + 30
    while not any(p.endswith("/" + wrote) for p in Rollback.open(rb.id).manifest(-1).by_path):
        assert time.monotonic() < deadline, f"no turn snapshot with {wrote}"
        time.sleep(0.1)


def two_turns(sessions, dashboard, nono, workspace) -> Dashboard:
    """A --rollback session focused in the dashboard, with a snapshot after each turn."""
    sessions("agent", "sh", "-c", AGENT, extra=("--rollback",))
    dash = dashboard(cols=110, rows=32)
    dash.wait("READY-agent")
    rb = rollback_of(nono, "agent")
    end_turn(rb, "first.txt")
    dash.send("\r")
    dash.wait("TURN2-agent")
    end_turn(rb, "second.txt")
    assert (workspace / "second.txt").read_text() == "two\n"
    return dash


def test_review_lists_the_last_turn_and_everything_since_the_start_and_shows_a_diff(
    sessions, dashboard, nono, workspace
):
    dash = two_turns(sessions, dashboard, nono, workspace)
    dash.prefix("u")
    text = dash.wait("since the start: 3 path(s)")
    assert re.search(r"last turn \(turn 2, snapshot \d+ to \d+\): 2 path\(s\)", text)
    turn, start = row_of(dash, "last turn"), row_of(dash, "since the start")
    listed = dash.lines()
    names = ("README.md", "second.txt", "first.txt")
    in_turn = [n for n in names if any(n in line for line in listed[turn:start])]
    assert in_turn == ["README.md", "second.txt"]
    assert all(any(n in line for line in listed[start:]) for n in names)
    assert "~ modified  README.md" in text and "+ created   second.txt" in text
    dash.send("\r")  # the diff of the selected file: README.md, the first of the last turn
    dash.wait("diff · README.md")
    dash.wait("+more")
    assert " hello" in dash.text()
    dash.send("q")  # back to the list
    dash.wait("since the start: 3 path(s)")
    dash.send("q")
    dash.wait_gone("since the start")


def test_restoring_one_file_changes_the_disk_and_a_later_edit_is_kept_without_force(
    sessions, dashboard, nono, workspace
):
    dash = two_turns(sessions, dashboard, nono, workspace)
    dash.prefix("u")
    dash.wait("since the start: 3 path(s)")
    select(dash, "second.txt")
    dash.send("r")
    dash.wait("restore second.txt as before the last turn? (y/n)")
    dash.send("y")
    dash.wait("restored 0, removed 1 (snapshot 1)")
    assert not (workspace / "second.txt").exists()
    assert (workspace / "first.txt").exists()  # only the one file

    # The person edits README.md after the latest snapshot; restoring everything keeps it.
    (workspace / "README.md").write_text("hello\nmore\nmine, after the agent\n")
    dash.send("a")
    dash.wait("y: keep your later changes · F: overwrite them")
    assert "README.md changed after the latest snapshot: y keeps it" in dash.text()
    dash.send("y")
    dash.wait("kept README.md: changed after the latest snapshot")
    assert not (workspace / "first.txt").exists()
    assert (workspace / "README.md").read_text() == "hello\nmore\nmine, after the agent\n"

    # The control: F at the question overwrites it.
    dash.send("a")
    dash.wait("F: overwrite them")
    dash.send("F")
    dash.wait("overwrote README.md")
    assert (workspace / "README.md").read_text() == "hello\n"


def test_restoring_the_last_turn_keeps_the_first(sessions, dashboard, nono, workspace):
    dash = two_turns(sessions, dashboard, nono, workspace)
    dash.prefix("u")
    dash.wait("since the start: 3 path(s)")
    dash.send("t")
    dash.wait("restore the last turn? (y/n)")
    dash.send("y")
    dash.wait("(snapshot 1)")
    assert not (workspace / "second.txt").exists()
    assert (workspace / "README.md").read_text() == "hello\n"
    assert (workspace / "first.txt").read_text() == "one\n"


def test_undoing_the_last_turn_keeps_a_file_of_it_the_person_edited_since(
    sessions, dashboard, nono, workspace
):
    dash = two_turns(sessions, dashboard, nono, workspace)
    (workspace / "second.txt").write_text("two, and the person's own line\n")
    dash.prefix("u")
    dash.wait("since the start: 3 path(s)")
    dash.send("t")
    dash.wait("y: keep your later changes · F: overwrite them")
    assert "second.txt changed after the latest snapshot: y keeps it" in dash.text()
    dash.send("y")
    dash.wait("kept second.txt")
    assert (workspace / "second.txt").read_text() == "two, and the person's own line\n"
    assert (workspace / "README.md").read_text() == "hello\n"  # the rest of the turn undone


def test_review_after_the_session_exited_uses_its_final_snapshot(
    sessions, dashboard, nono, workspace
):
    sessions("agent", "sh", "-c", 'echo made > made.txt; echo READY-"agent"; read x',
             extra=("--rollback",))  # fmt: skip
    dash = dashboard()
    dash.wait("READY-agent")
    dash.send("\r")
    deadline = time.monotonic() + 20
    while json.loads(nono("inspect", "agent", "--json").stdout)["status"] != EXITED:
        assert time.monotonic() < deadline
        dash.pump(0.1)
    dash.prefix("u")
    dash.wait("since the start: 1 path(s)")
    assert "last turn (turn 1, snapshot 0 to 1): 1 path(s)" in dash.text()
    dash.send("a")
    dash.wait("restore everything, as at the start? (y/n)")
    dash.send("y")
    dash.wait("restored 0, removed 1 (snapshot 0)")
    assert not (workspace / "made.txt").exists()


def test_a_session_without_rollback_says_so(sessions, dashboard):
    sessions("plain")
    dash = dashboard()
    dash.wait("READY-plain")
    dash.prefix("u")
    dash.wait("plain has no rollback")


def test_a_file_the_person_added_in_a_directory_the_agent_made_keeps_that_directory(
    workspace,
):
    from nono.mux import undo

    rb = Rollback.create([str(workspace)])
    (workspace / "made").mkdir()
    (workspace / "made" / "out.o").write_text("agent\n")
    (workspace / "notes.txt").write_text("agent\n")
    rb.snapshot()
    (workspace / "made" / "mine.txt").write_text("the person's\n")  # after the snapshot

    done = undo.restore(rb.id, 0, None, None, force=False)
    assert done.conflicts == (str(workspace / "made" / "mine.txt"),)
    assert done.skipped == ()  # the directory is spared with the file, not tried and refused
    assert not (workspace / "notes.txt").exists() and not (workspace / "made" / "out.o").exists()
    assert (workspace / "made" / "mine.txt").read_text() == "the person's\n"

    forced = undo.restore(rb.id, 0, None, None, force=True)  # the control: F removes it all
    assert forced.conflicts and not (workspace / "made").exists()
