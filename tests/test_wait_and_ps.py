"""Agent awareness from the command line: `nono ps`'s STATE and --waiting, `nono inspect`'s
explanation, `nono wait`'s answers and exit statuses.

The first half writes session records by hand (as a supervisor would) to pin what each command
shows for each activity; a "live" record's supervisor is a plain `sleep`, so the record reads as
running. The second half drives real sessions whose agent is a small script.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from nono.session import registry
from nono.session.registry import Record


@pytest.fixture
def records(home):
    """Write session records as a supervisor would; a live one gets a stand-in supervisor (a
    `sleep`, killed afterwards) so that nono reads it as running, not as a lost session."""
    stand_ins: list[subprocess.Popen] = []
    written: list[Record] = []

    def write(name: str, activity: dict | None = None, *, exited: int | None = None,
              created_ago: float = 3600, note: str | None = None) -> Record:  # fmt: skip
        if exited is None:
            stand_in = subprocess.Popen(["sleep", "600"])
            stand_ins.append(stand_in)
            pid = stand_in.pid
            started = None
            while started is None:  # /proc has it as soon as the fork returns
                started = registry.process_start(pid)
        else:
            pid, started = dead_supervisor()
        record = Record(
            id=f"{len(written) + 1:012x}",
            name=name,
            command=("agent",),
            workdir=str(home),
            profile="default",
            network="allowed",
            sandbox={},
            created=time.time() - created_ago,
            supervisor_pid=pid,
            supervisor_start=started,
            socket=f"nono-test-none-{name}",  # nobody listens: a status request finds nobody
            status=registry.RUNNING if exited is None else registry.EXITED,
            exit_code=exited,
            ended=None if exited is None else time.time() - 30,
            note=note,
            activity=activity,
        )
        registry.write_record(record)
        written.append(record)
        return record

    yield write
    for stand_in in stand_ins:
        stand_in.kill()
        stand_in.wait()
    # The home fixture kills every record's supervisor pid at the end: none of these are ours.
    for record in written:
        registry.remove(record)


def dead_supervisor() -> tuple[int, float]:
    """A pid and start time that no live process has: a supervisor that is gone."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid, time.time() - 7200


def lose_supervisor(record: Record) -> None:
    """The supervisor dies without writing its last change (a SIGKILL, say)."""
    pid, started = dead_supervisor()
    registry.write_record(Record.from_json({**record.to_json(), "supervisor_pid": pid,
                                            "supervisor_start": started}))  # fmt: skip


def activity(state: str, ago: float, reason: str = "", source: str = "screen") -> dict:
    """An activity entered `ago` seconds before now (now: each test's own; the labels count)."""
    return {"state": state, "since": time.time() - ago, "reason": reason, "source": source}


def ps_rows(nono, *args: str) -> dict[str, list[str]]:
    """`nono ps`'s table as NAME -> its cells, after checking the header."""
    r = nono("ps", *args)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    header = lines[0].split()
    assert header[:3] == ["ID", "NAME", "STATE"]
    # STATE may be two words ("waiting 3m"): split on the column's two-space gaps.
    rows = {}
    for line in lines[1:]:
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        rows[cells[1]] = cells
    return rows


# ---------------------------------------------------------------- ps


def test_ps_state_column_says_what_each_agent_is_doing(nono, records):
    records("asking", activity("waiting", 200, "screen rule default.confirm matched row 3"))
    records("busy", activity("working", 5, "output"))
    records("done-turn", activity("idle", 750, "screen rule codex.prompt matched row 22"))
    records("older", None)  # a record from before activity: its plain status
    records("finished", activity("working", 40), exited=0)
    records("failed", None, exited=3)
    rows = ps_rows(nono, "--all")
    assert {name: cells[2] for name, cells in rows.items()} == {
        "asking": "waiting 3m",
        "busy": "working",
        "done-turn": "idle 12m",
        "older": "running",
        "finished": "exited(0)",  # exited whatever its last activity said
        "failed": "exited(3)",
    }
    assert "finished" not in ps_rows(nono)  # exited ones still only with --all


def test_ps_json_carries_each_activity_cleaned_and_null_when_unknown(nono, records):
    hostile = "Proceed?\x1b]52;c;ZXZpbA==\x07\x1b[2J [y/N]"
    asked = records("asking", activity("waiting", 60, hostile, "notification")).activity
    records("older", None)
    records("finished", activity("waiting", 100), exited=2)
    r = nono("ps", "--all", "--json")
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\\u001b" not in r.stdout
    by_name = {row["name"]: row for row in json.loads(r.stdout)}
    asking = by_name["asking"]["activity"]
    assert set(asking) == {"state", "since", "reason", "source"}
    assert asking["state"] == "waiting" and asking["source"] == "notification"
    assert asking["since"] == asked["since"]
    assert asking["reason"].startswith("Proceed?") and asking["reason"].endswith("[y/N]")
    assert by_name["older"]["activity"] is None
    assert by_name["finished"]["activity"]["state"] == "exited"
    assert by_name["asking"]["state"] == "running"  # the plain status is unchanged


def test_ps_waiting_lists_only_sessions_waiting_oldest_first(nono, records):
    records("newer", activity("waiting", 30), created_ago=100)
    records("busy", activity("working", 5))
    records("oldest", activity("waiting", 900), created_ago=50)
    records("idle", activity("idle", 2000))
    records("gone", activity("waiting", 5000), exited=0)
    rows = ps_rows(nono, "--waiting")
    assert list(rows) == ["oldest", "newer"]
    assert rows["oldest"][2] == "waiting 15m"
    listed = json.loads(nono("ps", "--waiting", "--json").stdout)
    assert [row["name"] for row in listed] == ["oldest", "newer"]
    assert [row["name"] for row in json.loads(nono("ps", "-w", "-a", "--json").stdout)] == [
        "oldest",
        "newer",
    ]


def test_ps_waiting_with_none_waiting_says_so(nono, records):
    records("busy", activity("working", 5))
    r = nono("ps", "--waiting")
    assert r.returncode == 0 and r.stdout == ""
    assert "no session is waiting" in r.stderr
    assert json.loads(nono("ps", "--waiting", "--json").stdout) == []


# ---------------------------------------------------------------- inspect


def test_inspect_explains_the_state_with_its_reason(nono, records):
    reason = 'screen rule claude-code.permission matched row 38 "Do you want to make this edit?"'
    since = records("claude-1", activity("waiting", 120, reason + "\x07\x1b")).activity["since"]
    at = time.strftime("%H:%M:%S", time.localtime(since))
    r = nono("inspect", "claude-1")
    assert r.returncode == 0, r.stderr
    assert f"activity    waiting since {at}: {reason}\n" in r.stdout
    assert "\x1b" not in r.stdout
    data = json.loads(nono("inspect", "claude-1", "--json").stdout)
    assert data["activity"]["state"] == "waiting"
    assert data["activity"]["reason"] == reason
    assert data["activity"]["source"] == "screen"


def test_inspect_of_a_session_with_no_activity_has_no_explanation(nono, records):
    records("older", None)
    r = nono("inspect", "older")
    assert r.returncode == 0, r.stderr
    assert "activity" not in r.stdout and "status      running" in r.stdout
    assert json.loads(nono("inspect", "older", "--json").stdout)["activity"] is None


def test_inspect_of_a_session_whose_supervisor_died_says_exited(nono, records):
    lose_supervisor(records("lost", activity("working", 10)))
    r = nono("inspect", "lost")
    assert r.returncode == 0, r.stderr
    assert "status      exited\n" in r.stdout
    assert "activity    exited since" in r.stdout and "the supervisor died" in r.stdout
    assert ps_rows(nono, "--all")["lost"][2] == "exited"


# ---------------------------------------------------------------- wait, without a supervisor


def test_wait_for_exit_of_an_exited_session_returns_its_exit_code(nono, records):
    records("failed", activity("idle", 100), exited=3)
    records("fine", None, exited=0)
    r = nono("wait", "failed", "--state", "exited")
    assert (r.returncode, r.stderr) == (3, "nono: failed exited(3)\n")
    r = nono("wait", "fine", "--state", "exited", "--timeout", "5")
    assert (r.returncode, r.stderr) == (0, "nono: fine exited(0)\n")


def test_wait_for_exit_when_the_code_died_with_the_supervisor_fails(nono, records):
    lose_supervisor(records("lost", None))
    r = nono("wait", "lost", "--state", "exited")
    assert r.returncode == 1
    assert "lost exited, and its exit code is unknown (its supervisor died)" in r.stderr


def test_wait_for_another_state_of_an_exited_session_fails_clearly(nono, records):
    records("done", activity("idle", 100), exited=0)
    r = nono("wait", "done", "--state", "idle")
    assert r.returncode == 1
    assert r.stderr == (
        "nono: session done has exited(0); it will never be idle "
        "(nono capture done shows its last screen)\n"
    )
    r = nono("wait", "done", "--pattern", "anything")
    assert r.returncode == 1
    assert "session done has exited(0); its screen is no longer watched" in r.stderr


def test_wait_without_state_or_pattern_is_a_usage_error(nono, records):
    records("busy", activity("working", 5))
    r = nono("wait", "busy")
    assert r.returncode == 1
    assert "nono wait needs --state or --pattern" in r.stderr
    r = nono("wait", "busy", "--state", "asleep")
    assert r.returncode == 1 and "invalid choice: 'asleep'" in r.stderr


def test_wait_with_a_bad_regex_is_refused_before_connecting(nono, records):
    records("busy", activity("working", 5))  # nobody listens on its socket
    r = nono("wait", "busy", "--pattern", "Proceed? [y/N")
    assert r.returncode == 1
    assert r.stderr.startswith("nono: bad --pattern 'Proceed? [y/N': unterminated character set")
    assert "cannot reach" not in r.stderr


@pytest.mark.parametrize("timeout", ["0", "-1", "nan"])
def test_wait_with_a_timeout_not_above_zero_is_refused(nono, records, timeout):
    records("busy", activity("working", 5))
    r = nono("wait", "busy", "--state", "idle", "--timeout", timeout)
    assert r.returncode == 1 and "--timeout must be a number of seconds above 0" in r.stderr


def test_wait_for_an_unknown_session_errors_as_other_commands_do(nono, records):
    records("busy", activity("working", 5))
    r = nono("wait", "nosuch", "--state", "idle")
    assert r.returncode == 1
    assert r.stderr == nono("capture", "nosuch").stderr
    assert "no session matches 'nosuch'" in r.stderr


# ---------------------------------------------------------------- real sessions

# The agent: idle at "> " until told; "ask" asks "Proceed? [y/N] " (waiting, by the default
# rules); "y" works, writing a line every 0.2 s until the test creates `go-on`; "exit N" exits.
AGENT = """\
import os, sys, time
while True:
    line = input("> ").strip()
    if line.startswith("exit"):
        sys.exit(int(line.split()[1]))
    if line == "ask" and input("Proceed? [y/N] ").strip() == "y":
        n = 0
        while not os.path.exists("go-on"):
            n += 1
            print(f"burst {n}", flush=True)
            time.sleep(0.2)
        os.remove("go-on")
        print("finished", flush=True)
"""


@pytest.fixture
def agents(nono, workspace):
    """Start the scripted agent in detached sessions; each is force-stopped afterwards."""
    (workspace / "agent.py").write_text(AGENT)
    started: list[str] = []

    def start(name: str) -> str:
        r = nono("run", "--detached", "--name", name, "--allow-cwd", "--", "python3", "agent.py")
        assert r.returncode == 0, r.stderr
        started.append(name)
        return name

    yield start
    for name in started:
        nono("stop", name, "--force")


def wait(nono, name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return nono("wait", name, *args, timeout=timeout)


def waiting_in_background(nono, workspace, name: str, *args: str) -> subprocess.Popen:
    """`nono wait` left running, once its request is with the supervisor (a second control
    client besides the one `inspect` itself is), so that it hears the answer live."""
    waiting = subprocess.Popen([sys.executable, "-m", "nono", "wait", name, *args],
                               cwd=workspace, stderr=subprocess.PIPE, text=True)  # fmt: skip

    def controls() -> int:
        clients = json.loads(nono("inspect", name, "--json").stdout).get("clients", [])
        return sum(1 for client in clients if client["mode"] == "control")

    end = time.monotonic() + 30
    while controls() < 2:
        assert time.monotonic() < end and waiting.poll() is None, "the wait never connected"
        time.sleep(0.05)
    return waiting


def test_wait_follows_a_scripted_agent_through_its_turn(nono, agents, workspace):
    agents("agent-1")
    r = wait(nono, "agent-1", "--state", "idle", "--timeout", "30")
    assert (r.returncode, r.stderr.startswith("nono: agent-1 is idle")) == (0, True), r.stderr
    nono("send-keys", "agent-1", "ask", "Enter")
    r = wait(nono, "agent-1", "--state", "waiting", "--timeout", "30")
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("nono: agent-1 is waiting (screen rule default.confirm matched ")
    assert ps_rows(nono)["agent-1"][2].startswith("waiting ")
    shown = nono("inspect", "agent-1").stdout
    assert "activity    waiting since " in shown and '"Proceed? [y/N]"' in shown
    nono("send-keys", "agent-1", "y", "Enter")
    r = wait(nono, "agent-1", "--state", "working", "--timeout", "30")
    assert (r.returncode, r.stderr.startswith("nono: agent-1 is working")) == (0, True), r.stderr
    r = wait(nono, "agent-1", "--pattern", r"^burst [3-9]$", "--timeout", "30")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"nono: agent-1's screen matches .* at row \d+: 'burst [3-9]'\n", r.stderr)
    (workspace / "go-on").touch()
    r = wait(nono, "agent-1", "--state", "idle", "--timeout", "30")
    assert r.returncode == 0, r.stderr
    assert "finished" in nono("capture", "agent-1").stdout


def test_wait_timeout_exits_124_saying_the_state_it_left_the_session_in(nono, agents):
    agents("agent-1")
    assert wait(nono, "agent-1", "--state", "idle", "--timeout", "30").returncode == 0
    r = wait(nono, "agent-1", "--state", "waiting", "--timeout", "1")
    assert r.returncode == 124
    assert re.fullmatch(r"nono: timed out after 1s; agent-1 is idle \d+s\n", r.stderr)
    r = wait(nono, "agent-1", "--pattern", "never shown", "--timeout", "0.5")
    assert (r.returncode, r.stderr.startswith("nono: timed out after 0.5s;")) == (124, True)


def test_wait_for_exit_returns_the_agents_exit_code(nono, agents, workspace):
    agents("agent-1")
    assert wait(nono, "agent-1", "--state", "idle", "--timeout", "30").returncode == 0
    waiting = waiting_in_background(nono, workspace, "agent-1", "--state", "exited")
    try:
        nono("send-keys", "agent-1", "exit 5", "Enter")
        assert waiting.wait(timeout=60) == 5
        assert waiting.stderr.read() == "nono: agent-1 exited(5)\n"
    finally:
        waiting.kill()
    r = wait(nono, "agent-1", "--state", "exited")  # and from the record, once it is gone
    assert (r.returncode, r.stderr) == (5, "nono: agent-1 exited(5)\n")


def test_wait_for_a_state_fails_when_the_agent_exits_first(nono, agents, workspace):
    agents("agent-1")
    assert wait(nono, "agent-1", "--state", "idle", "--timeout", "30").returncode == 0
    waiting = waiting_in_background(nono, workspace, "agent-1", "--state", "waiting")
    try:
        nono("send-keys", "agent-1", "exit 3", "Enter")
        assert waiting.wait(timeout=60) == 1
        assert waiting.stderr.read() == "nono: agent-1 exited(3) before it was waiting\n"
    finally:
        waiting.kill()


def test_ps_waiting_lists_real_sessions_by_how_long_they_have_waited(nono, agents):
    agents("first")
    agents("second")  # newer: plain `ps` lists it first
    for name in ("first", "second"):  # ... but "first" starts waiting first
        assert wait(nono, name, "--state", "idle", "--timeout", "30").returncode == 0
        nono("send-keys", name, "ask", "Enter")
        assert wait(nono, name, "--state", "waiting", "--timeout", "30").returncode == 0
    assert list(ps_rows(nono)) == ["second", "first"]
    assert list(ps_rows(nono, "--waiting")) == ["first", "second"]
    nono("send-keys", "first", "y", "Enter")  # answered: it leaves the list
    assert wait(nono, "first", "--state", "working", "--timeout", "30").returncode == 0
    assert list(ps_rows(nono, "--waiting")) == ["second"]
    listed = json.loads(nono("ps", "--waiting", "--json").stdout)
    assert [(row["name"], row["activity"]["state"]) for row in listed] == [("second", "waiting")]


def test_wait_when_the_supervisor_dies_mid_wait_says_the_code_is_lost(nono, agents, workspace):
    agents("agent-1")
    assert wait(nono, "agent-1", "--state", "idle", "--timeout", "30").returncode == 0
    for_exit = waiting_in_background(nono, workspace, "agent-1", "--state", "exited")
    for_prompt = waiting_in_background(nono, workspace, "agent-1", "--pattern", "never shown")
    try:
        supervisor = json.loads(nono("inspect", "agent-1", "--json").stdout)["supervisor_pid"]
        os.kill(supervisor, signal.SIGKILL)
        assert for_exit.wait(timeout=60) == 1
        assert for_exit.stderr.read() == (
            "nono: agent-1 exited, and its exit code is unknown (its supervisor died)\n"
        )
        assert for_prompt.wait(timeout=60) == 1
        assert "session agent-1 has exited; its screen is no longer watched" in (
            for_prompt.stderr.read()
        )
    finally:
        for_exit.kill()
        for_prompt.kill()


def test_inspect_says_when_logging_out_may_end_the_session(nono, records):
    # session/logout.py stores why it could not keep the session past a logout; the person
    # reads it here (nono run printed it once, at the start).
    said = "logind ends this login's processes at logout and no systemd user manager answers"
    record = records("kept", activity("working", 5))
    registry.write_record(dataclasses.replace(record, extra={"logout": said}))
    r = nono("inspect", "kept")
    assert r.returncode == 0, r.stderr
    assert f"logout      {said}\n" in r.stdout
    records("plain", activity("working", 5))
    assert "logout" not in nono("inspect", "plain").stdout
