"""The session chooser (choose-session, prefix w): every session with its state, profile, host,
last screen line and rollback change count, waiting ones first; typing filters by name, Enter
opens the one picked in a pane (or focuses it), s swaps it into the focused pane."""

from __future__ import annotations

import json
import re
import time

from nono.mux.chooser import ordered
from nono.session.registry import EXITED, RUNNING, Record
from tests import test_mux
from tests.mux_helpers import Dashboard

# The dashboard tests' fixtures: detached sessions, and `nono mux` in a PTY.
sessions, dashboard = test_mux.sessions, test_mux.dashboard

# Before the supervisor computes activity the state is the record's; after, the activity's.
STATE = r"(running|starting|working|idle \d+[smhd]|waiting \d+[smhd])"


def chooser_row(dash: Dashboard, name: str) -> str:
    """The chooser's line for session `name` (its columns split on runs of spaces)."""
    for line in dash.lines()[:-1]:
        if re.match(rf"^[│ ]*[*+ ]? {re.escape(name)}\s", line.strip("│")):
            return line
    raise AssertionError(f"no line for {name} in the chooser:\n{dash.text()}")


def fields(dash: Dashboard, name: str) -> list[str]:
    """The columns of `name`'s line, without its mark."""
    found = chooser_row(dash, name).split()
    return found[1:] if found[0] in ("*", "+") else found


def open_chooser(dash: Dashboard) -> None:
    dash.prefix("w")
    dash.wait("LAST LINE")


def test_the_chooser_lists_state_profile_host_last_line_and_changes(sessions, dashboard, nono):
    sessions("alpha", "sh", "-c", 'echo LAST-"alpha"; exec sleep 600')
    done = sessions("gamma", "sh", "-c", 'echo made > made.txt; echo LAST-"gamma"',
                    extra=("--rollback",))  # fmt: skip
    deadline = time.monotonic() + 20
    while json.loads(nono("inspect", done, "--json").stdout)["status"] != EXITED:
        assert time.monotonic() < deadline, "gamma did not exit"
        time.sleep(0.1)
    dash = dashboard(cols=120)
    dash.wait("LAST-alpha")
    sessions("beta", "sh", "-c", 'echo LAST-"beta"; exec sleep 600', extra=("--rollback",))
    open_chooser(dash)
    # The last lines come in after the list is drawn: from beta's supervisor, gamma's file.
    dash.wait(lambda t: "LAST-beta" in t and "LAST-gamma" in t and "…" not in t)
    alpha, beta, gamma = (chooser_row(dash, n).split() for n in ("alpha", "beta", "gamma"))
    assert alpha[0] == "*"  # the focused pane's session
    assert re.fullmatch(STATE, alpha[2] if alpha[2] != "idle" else " ".join(alpha[2:4]))
    assert alpha[-3:] == ["local", "-", "LAST-alpha"]  # no rollback: no count
    assert beta[-3:] == ["local", "0", "LAST-beta"]  # a rollback with no snapshot yet
    assert gamma[:2] == ["gamma", "exited(0)"]  # exited: no mark, never in a pane here
    assert gamma[-3:] == ["local", "1", "LAST-gamma"]  # made.txt, from its final snapshot
    assert "default" in gamma
    # Live sessions before exited ones, each in the order they were started.
    names = [n for line in dash.lines() for n in ("alpha", "beta", "gamma") if f" {n} " in line]
    assert names == ["alpha", "beta", "gamma"]


def test_typing_filters_by_name_and_enter_opens_the_one_picked_in_a_new_pane(sessions, dashboard):
    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    sessions("beta")
    sessions("bravo")
    open_chooser(dash)
    dash.send("br")
    dash.wait("filter: br_")
    text = dash.text()
    assert "bravo" in text and " beta " not in text and " alpha " not in text
    dash.send("\x1b")  # the first Esc drops the filter, the list stays
    dash.wait(lambda t: " beta " in t and "filter: " not in t)
    dash.send("/bet")  # / starts a filter that may begin with a command key
    dash.wait("filter: bet_")
    dash.send("\r")
    dash.wait("READY-beta")
    assert sorted(h[2] for h in dash.headers()) == ["alpha", "beta"]
    # Enter on a session already in a pane focuses it: no third pane.
    open_chooser(dash)
    dash.send("/alpha\r")
    dash.wait_gone("LAST LINE")
    dash.type_line("echo typed-$((6*7))")
    dash.wait("typed-42")
    assert len(dash.headers()) == 2
    assert "alpha*" in dash.status()


def test_s_swaps_the_picked_session_into_the_focused_pane(sessions, dashboard, nono):
    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    sessions("beta")
    open_chooser(dash)
    dash.wait(lambda t: " beta " in t)
    dash.send("j")  # alpha (started first) is on top; beta below it
    dash.send("s")
    dash.wait("READY-beta")
    assert [h[2] for h in dash.headers()] == ["beta"]
    assert re.search(r"\d+:alpha- ", dash.status())  # hidden, not stopped
    assert json.loads(nono("inspect", "alpha", "--json").stdout)["status"] == RUNNING
    # Swapped back with Tab, which works while a filter is typed.
    open_chooser(dash)
    dash.send("alp\t")
    dash.wait("READY-alpha")
    assert [h[2] for h in dash.headers()] == ["alpha"]


def test_an_exited_session_picked_in_the_chooser_shows_its_last_screen(sessions, dashboard, nono):
    sessions("alpha")
    gone = sessions("gone", "sh", "-c", 'echo FINAL-"gone"')
    deadline = time.monotonic() + 20
    while json.loads(nono("inspect", gone, "--json").stdout)["status"] != EXITED:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    dash = dashboard()
    dash.wait("READY-alpha")
    assert "gone" not in dash.status()  # exited sessions are not in the status bar
    open_chooser(dash)
    dash.send("/gone\r")
    dash.wait(lambda t: "FINAL-gone" in t and "LAST LINE" not in t)
    assert sorted(h[2] for h in dash.headers()) == ["alpha", "gone"]


def test_the_tmux_keymap_opens_the_chooser_with_prefix_w_as_choose_tree(sessions, dashboard):
    sessions("alpha")
    dash = dashboard("--keymap", "tmux")
    dash.wait("READY-alpha")
    dash.send("\x02w")
    dash.wait("LAST LINE")
    dash.send("q")
    dash.wait_gone("LAST LINE")


def _record(name: str, created: float, status: str = RUNNING, **activity: object) -> Record:
    return Record(id=name, name=name, command=("sh",), workdir="/", profile=None,
                  network="allowed", sandbox={}, created=created, supervisor_pid=1,
                  supervisor_start=0.0, socket="x", status=status,
                  activity=dict(activity) if activity else None)  # fmt: skip


def test_waiting_sessions_come_first_the_longest_waiting_on_top() -> None:
    now = 1000.0
    records = [
        _record("old-exited", 1.0, EXITED),
        _record("working", 2.0, state="working", since=900.0, reason="", source="output"),
        _record("waits-briefly", 3.0, state="waiting", since=990.0, reason="", source="screen"),
        _record("waits-long", 4.0, state="waiting", since=700.0, reason="", source="hook"),
        _record("no-activity", 5.0),
    ]
    entries = ordered(records, now)
    assert [e.record.name for e in entries] == [
        "waits-long", "waits-briefly", "working", "no-activity", "old-exited",
    ]  # fmt: skip
    assert [e.state for e in entries] == ["waiting 5m", "waiting 10s", "working", "running",
                                          "exited"]  # fmt: skip


def test_the_chooser_follows_sessions_that_start_and_end_while_it_is_open(
    sessions, dashboard, nono
):
    sessions("alpha")
    dash = dashboard(cols=120)
    dash.wait("READY-alpha")
    open_chooser(dash)
    sessions("late", "sh", "-c", 'echo LAST-"late"; read x')
    dash.wait("LAST-late")
    assert chooser_row(dash, "late").split()[1] != "exited(0)"
    nono("send-keys", "late", "Enter")
    dash.wait(lambda t: "exited(0)" in t)
    assert chooser_row(dash, "late").split()[:2] == ["late", "exited(0)"]
    assert chooser_row(dash, "late").split()[-1] == "LAST-late"


def test_sessions_waiting_for_the_person_come_first_the_longest_waiting_on_top(
    sessions, dashboard, nono
):
    asks = "read x; printf '\\033]777;nono;waiting;approve?\\007'; echo ASKED; read y"
    sessions("calm", "sh", "-c", 'echo LAST-"calm"; exec sleep 600')
    sessions("asks-late", "sh", "-c", asks)
    sessions("asks-early", "sh", "-c", asks)
    for name in ("asks-early", "asks-late"):
        nono("send-keys", name, "Enter")
        deadline = time.monotonic() + 20
        while (json.loads(nono("inspect", name, "--json").stdout).get("activity") or {}).get(
            "state"
        ) != "waiting":
            assert time.monotonic() < deadline, f"{name} never waited"
            time.sleep(0.1)
    dash = dashboard(cols=120)
    dash.wait("LAST-calm")
    open_chooser(dash)
    dash.wait(lambda t: "…" not in t)
    order = [line.split()[1 if line.split()[0] in "*+" else 0] for line in dash.lines()[2:5]]
    assert order == ["asks-early", "asks-late", "calm"]
    assert re.fullmatch(r"waiting \d+s", " ".join(fields(dash, "asks-early")[1:3]))
