"""A session's activity state, as its supervisor tells it: real sessions running a scripted agent
that says and shows things on cue; the state read from the record and the `wait` request."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from nono.session import registry
from nono.session.activity import Activity, clean_text
from nono.session.client import Control, connect
from nono.session.protocol import Hello
from nono.session.rules import AgentRules, load
from nono.session.watch import (
    CLAIM_HOLD,
    ECHO_WINDOW,
    IDLE_AFTER,
    START_GRACE,
    ProcessInfo,
    Watch,
)

# The agent: reads cues from a FIFO in its workspace (not its terminal, so that a cue is not
# typing, which answers whatever it asked) and writes what each says to its terminal.
AGENT = r"""
import sys
import time
def w(s):
    sys.stdout.write(s)
    sys.stdout.flush()
while True:
    with open(sys.argv[1]) as cues:
        for line in cues:
            cmd, _, arg = line.rstrip("\n").partition(" ")
            if cmd == "say":
                w(arg + "\n")
            elif cmd == "osc":
                w("\x1b]" + arg + "\x07")
            elif cmd == "bell":
                w("\x07")
            elif cmd == "ask":
                w(arg)
                w("got " + sys.stdin.readline().strip() + "\n")
            elif cmd == "sleep":
                time.sleep(float(arg))
            elif cmd == "exit":
                sys.exit(int(arg or 0))
"""


class Agent:
    def __init__(self, nono, workspace: Path, name: str, size: str = "80x24") -> None:
        (workspace / "agent.py").write_text(AGENT)
        self.cues = workspace / f"{name}.cues"
        os.mkfifo(self.cues)
        r = nono("run", "--detached", "--size", size, "--allow-cwd", "--name", name, "--",
                 "python3", "agent.py", self.cues.name)  # fmt: skip
        assert r.returncode == 0, r.stderr
        self.id = r.stdout.split()[0]
        self.nono = nono

    def cue(self, *lines: str) -> None:
        fd = os.open(self.cues, os.O_WRONLY)  # blocks until the agent opens it
        try:
            os.write(fd, "".join(line + "\n" for line in lines).encode())
        finally:
            os.close(fd)

    def record(self) -> registry.Record:
        return registry.read_record(self.id)

    def activity(self) -> Activity:
        found = Activity.from_json(self.record().activity)
        assert found is not None
        return found

    def wait(self, state: str | None = None, pattern: str | None = None) -> dict:
        with Control(self.record()) as control:
            return control.request("wait", wait=20, state=state, pattern=pattern)

    def leaves(self, state: str, seconds: float = 10) -> Activity:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = self.activity()
            if now.state != state:
                return now
            time.sleep(0.05)
        raise AssertionError(f"{self.id} stayed {state}: {self.activity()}")

    def keys(self, *keys: str) -> None:
        r = self.nono("send-keys", self.id, *keys)
        assert r.returncode == 0, r.stderr

    def stop(self) -> None:
        self.nono("stop", self.id, "--force")


@pytest.fixture
def agents(nono, workspace):
    started: list[Agent] = []

    def start(name: str, size: str = "80x24") -> Agent:
        agent = Agent(nono, workspace, name, size)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def events(session_id: str) -> list[dict]:
    lines = registry.events_path(session_id).read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == "activity"]


# ---------------------------------------------------------------- the screen


def test_a_question_on_screen_is_waiting_and_an_answer_ends_it(agents):
    agent = agents("asks")
    agent.cue("say starting", "ask Overwrite config.py? [y/N] ")
    answer = agent.wait("waiting")
    assert answer["reached"] == "state"
    now = agent.activity()
    assert (now.state, now.source) == ("waiting", "screen")
    assert now.reason == 'screen rule default.confirm matched row 2 "Overwrite config.py? [y/N]"'
    assert now.explain().startswith("waiting since ")
    agent.keys("y", "Enter")
    after = agent.leaves("waiting")
    assert after.state in ("working", "idle")
    assert agent.wait(pattern=r"got y")["text"] == "got y"


def test_a_rejected_question_asked_again_is_waiting_again(agents):
    agent = agents("again")
    agent.cue("ask Continue? [y/N] ")
    agent.wait("waiting")
    agent.keys("n", "Enter")
    agent.leaves("waiting")
    agent.cue("ask Continue? [y/N] ")
    assert agent.wait("waiting")["activity"]["source"] == "screen"


def test_output_is_working_and_a_program_asleep_on_its_terminal_is_idle(agents):
    agent = agents("reads")
    agent.cue("say step 1", "say step 2")
    assert agent.wait("working")["activity"]["source"] in ("output", "process")
    # Asked for a line with nothing on screen that looks like a question: the process, asleep
    # in the terminal's read, says its turn is over (well before the 5 s of quiet).
    agent.cue("ask ")
    idle = agent.wait("idle")["activity"]
    assert idle["source"] == "process"
    assert "python3" in idle["reason"] and "waits for input" in idle["reason"]


def test_an_agent_that_writes_nothing_leaves_starting_when_the_grace_ends(nono, workspace):
    # Nothing on its terminal, ever: no output schedules a look, so the start must.
    r = nono("run", "--detached", "--allow-cwd", "--name", "silent", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    session = r.stdout.split()[0]
    try:
        with Control(registry.read_record(session)) as control:
            reached = control.request("wait", wait=20, state="idle", pattern=None)
        assert reached["activity"]["state"] == "idle"
        found = Activity.from_json(registry.read_record(session).activity)
        assert found is not None and found.state == "idle"
    finally:
        nono("stop", session, "--force")


# ---------------------------------------------------------------- what the agent says


@pytest.mark.parametrize(
    ("osc", "reason"),
    [
        ("9;Claude needs your permission", 'notification (OSC 9) "Claude needs your permission"'),
        ("777;notify;Codex;Approve the command?",
         'notification (OSC 777) "Codex: Approve the command?"'),
        ("99;i=1:p=body;Your turn", 'notification (OSC 99) "Your turn"'),
    ],
)  # fmt: skip
def test_notifications_say_waiting_with_their_text(agents, osc, reason):
    agent = agents("notifies")
    agent.cue("say working hard", f"osc {osc}")
    now = Activity.from_json(agent.wait("waiting")["activity"])
    assert now is not None and (now.source, now.reason) == ("notification", reason)


def test_typing_answers_what_the_agent_said(agents):
    agent = agents("answered")
    agent.cue("osc 9;Pick one")
    agent.wait("waiting")
    agent.keys("C-c")  # Ctrl-C: the person dealt with it, whatever the agent does next
    assert agent.leaves("waiting").source != "notification"


def test_a_hook_sequence_sets_the_state_and_a_bad_one_is_ignored(agents):
    agent = agents("hooked")
    agent.cue("say busy", "osc 777;nono;idle;turn over")
    now = Activity.from_json(agent.wait("idle")["activity"])
    assert now is not None and (now.source, now.reason) == ("hook", 'hook said idle: "turn over"')
    agent.cue("osc 777;nono;sleeping;zzz", "osc 777;nono;waiting;Allow rm -rf build?")
    now = Activity.from_json(agent.wait("waiting")["activity"])
    assert now is not None and now.reason == 'hook said waiting: "Allow rm -rf build?"'
    states = [e["state"] for e in events(agent.id)]
    assert "sleeping" not in states


def test_progress_is_working(agents):
    agent = agents("progress")
    agent.cue("osc 777;nono;idle;done")
    agent.wait("idle")
    agent.cue("osc 9;4;1;40")
    now = agent.wait("working")["activity"]
    assert now["reason"] == "progress shown (OSC 9;4)"


def test_a_bell_means_what_the_agents_kind_says(agents, home):
    agent = agents("rings")
    agent.cue("bell", "osc 777;nono;idle;rang")
    agent.wait("idle")
    assert all(e["state"] != "waiting" for e in events(agent.id))  # the default: ignored
    agent.stop()
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "agents"
    user.mkdir(parents=True)
    (user / "default.yaml").write_text("extends: none\nbell: waiting\n")
    agent = agents("rings2")
    agent.cue("say hi", "bell")
    assert agent.wait("waiting")["activity"]["reason"] == "the agent rang the bell"


def test_agent_text_never_carries_control_characters(agents):
    agent = agents("evil")
    agent.cue("osc 9;ok\u009b2J\u009d0;title" + "x" * 500)
    reason = agent.wait("waiting")["activity"]["reason"]
    assert "\u009b" not in reason and "\u009d" not in reason and len(reason) <= 200
    assert reason == clean_text(reason)


def test_an_agent_flipping_its_state_cannot_flood_the_event_log(agents):
    agent = agents("flips")
    flips = []
    for _ in range(20):
        flips += ["osc 777;nono;idle;a", "sleep 0.08", "osc 777;nono;waiting;b", "sleep 0.08"]
    agent.cue(*flips, "osc 777;nono;working;end")
    end = time.monotonic() + 20
    while agent.activity().reason != 'hook said working: "end"' and time.monotonic() < end:
        time.sleep(0.1)
    logged = events(agent.id)
    # ~3.2 s of flipping: at most one line a second (and the first), with the count of the rest.
    assert 2 <= len(logged) <= 6, logged
    assert sum(e.get("unlogged", 0) for e in logged) >= 10


# ---------------------------------------------------------------- the process, resize, exit


def test_a_foreground_job_is_working_and_ctrl_c_makes_the_shell_idle(sessions_shell):
    shell = sessions_shell
    shell.wait("idle")
    shell.keys("sleep 60", "Enter")
    found = shell.wait_reason("runs in the foreground")
    assert shell.activity().state == "working"
    assert "sleep" in found
    shell.keys("C-c")
    idle = shell.wait("idle")["activity"]
    assert idle["source"] == "process" and "bash" in idle["reason"]


def test_a_job_reading_the_terminal_waits_for_the_person(sessions_shell):
    shell = sessions_shell
    shell.wait("idle")
    shell.keys("cat", "Enter")  # a job of the shell's, asleep in its read of the terminal
    reason = shell.wait_reason("cat (pid")
    assert "waits for input" in reason and shell.activity().state == "idle"
    shell.keys("C-c")


def test_a_resize_does_not_make_an_idle_shell_work(sessions_shell):
    shell = sessions_shell
    shell.wait("idle")
    before = len(events(shell.id))
    conn, _ = connect(shell.record(), Hello("raw", 100, 30))  # an attach at another size
    conn.close()
    # The redraw has come and been looked at (the look is due ECHO_WINDOW after the resize).
    time.sleep(ECHO_WINDOW + 1.0)
    assert shell.record().size == (100, 30)
    assert [e["state"] for e in events(shell.id)[before:]] == []


def test_a_question_stays_waiting_through_a_resize(agents):
    agent = agents("resized")
    agent.cue("ask Apply the patch? [y/N] ")
    since = agent.wait("waiting")["activity"]["since"]
    for cols, rows in ((100, 30), (60, 20), (80, 24)):
        conn, _ = connect(agent.record(), Hello("raw", cols, rows))
        conn.close()
    time.sleep(ECHO_WINDOW + 1.0)  # each resize looked at
    now = agent.activity()
    assert (now.state, now.since) == ("waiting", since)
    assert [e["state"] for e in events(agent.id)][-1] == "waiting"


def test_exit_is_the_last_state_and_wait_returns_it(agents):
    agent = agents("exits")
    agent.cue("say done", "exit 3")
    answer = agent.wait("exited")
    assert (answer["reached"], answer["exit_code"]) == ("state", 3)
    assert agent.activity().reason == "the agent exited with code 3"


def test_wait_for_a_state_the_session_never_reaches_ends_with_its_exit(agents):
    agent = agents("never")
    answers: list[dict] = []
    waiting = threading.Thread(target=lambda: answers.append(agent.wait("waiting")))
    waiting.start()
    agent.cue("say no questions", "exit 0")
    waiting.join(30)
    assert answers and (answers[0]["reached"], answers[0]["exit_code"]) == ("exited", 0)


def test_wait_refuses_a_bad_pattern_and_an_unknown_state(agents):
    agent = agents("badwait")
    with Control(agent.record()) as control, pytest.raises(Exception, match="bad pattern"):
        control.request("wait", pattern="(")
    with Control(agent.record()) as control, pytest.raises(Exception, match="unknown state"):
        control.request("wait", state="sleepy")


def test_a_broken_agents_file_is_refused_before_the_session_starts(nono, workspace):
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "agents"
    user.mkdir(parents=True)
    (user / "default.yaml").write_text("rules:\n  - name: x\n    state: waiting\n    match: '('\n")
    r = nono("run", "--detached", "--allow-cwd", "--", "true")
    assert r.returncode != 0
    assert "default.yaml:4: rules.match: not a valid regular expression" in r.stderr


# ---------------------------------------------------------------- the rules, unit by unit


def watch(**rules) -> Watch:
    return Watch(AgentRules("test", **rules), started=0.0)


def test_a_claim_holds_until_the_person_types_or_the_agent_goes_on_without_them():
    w = watch()
    w.output(1.0, 100)
    w.said(1.0, "waiting", "asked", "notification")
    assert w.decide(1.5, [], 0, None)[0] == "waiting"
    w.output(1.0 + CLAIM_HOLD / 2, 100)  # a redraw soon after: still the question
    assert w.decide(2.0, [], 0, None)[0] == "waiting"
    w.output(1.0 + CLAIM_HOLD + 0.1, 100)
    assert w.decide(5.0, [], 0, None)[0] == "working"
    w.said(6.0, "waiting", "asked", "notification")
    w.input(6.5)
    assert w.decide(6.6, [], 0, None)[0] == "working"


def test_drawing_the_first_screen_is_starting_not_a_turn_of_work():
    w = watch()
    w.output(0.2, 5000)
    assert w.look(0.3, 0.3, [], 0, None) is None  # still starting: no turn began
    w.output(START_GRACE + 0.5, 100)
    assert w.look(START_GRACE + 0.6, 10.0, [], 0, None).state == "working"
    quiet = watch()
    quiet.output(0.2, 5000)
    asleep = ProcessInfo(10, "python3", False, "wait_woken", cpu=0.0)
    assert quiet.look(0.3, 0.3, [], 0, asleep) is None
    assert quiet.look(1.0, 1.0, [], 0, asleep).state == "idle"  # straight from starting
    assert IDLE_AFTER > START_GRACE


def test_an_echo_or_a_redraw_is_not_work():
    w = watch()
    w.output(0.1, 10)
    w.input(20.0)
    w.output(20.05, 1)  # the keystroke's echo
    assert w.decide(21.0, [], 0, None)[0] == "idle"
    w.resized(30.0)
    w.output(30.1, 2000)  # the program's redraw at the new size
    assert w.decide(31.0, [], 0, None)[0] == "idle"
    w.output(40.0, 10)
    assert w.decide(40.1, [], 0, None)[0] == "working"


def test_quiet_spells_have_a_look_due_and_claims_none():
    w = watch()
    assert w.next_look(0.0) == START_GRACE
    w.output(1.0, 10)
    w.look(1.0, 1.0, [], 0, None)
    assert w.next_look(1.1) == 1.5  # an asleep process could be idle then
    w.said(2.0, "waiting", "asked", "hook")
    w.look(2.0, 2.0, [], 0, None)
    assert w.next_look(2.1) is None


def test_a_busy_foreground_process_is_working_measured_over_half_a_second():
    w = watch()
    w.output(0.0, 10)
    asleep = ProcessInfo(10, "node", False, "ep_poll", cpu=1.0)
    assert w.decide(1.0, [], 0, asleep)[0] == "working"  # output 1 s ago
    busy = ProcessInfo(10, "node", False, "", cpu=1.5)
    assert w.decide(1.1, [], 0, busy)[0] == "working"
    assert w.decide(1.6, [], 0, ProcessInfo(10, "node", False, "", cpu=1.3))[1].endswith(
        "uses 50% of a CPU"
    )


def test_the_builtin_rules_read_a_default_question_and_nothing_else():
    rules = load(None)
    lines = ["$ rm -i x", "rm: remove regular file 'x'? [y/N] ", ""]
    w = Watch(rules, 0.0)
    assert w.decide(0.1, lines, 1, None)[0] == "waiting"
    assert w.decide(0.1, lines, 2, None)[0] != "waiting"  # answered: the cursor moved on


# ---------------------------------------------------------------- a shell, for the process


class Shell(Agent):
    def __init__(self, nono, workspace: Path) -> None:
        r = nono("run", "--detached", "--size", "80x24", "--allow-cwd", "--name", "sh", "--",
                 "bash", "--norc", "--noprofile", "-i")  # fmt: skip
        assert r.returncode == 0, r.stderr
        self.id = r.stdout.split()[0]
        self.nono = nono

    def wait_reason(self, text: str, seconds: float = 10) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            reason = self.activity().reason
            if text in reason:
                return reason
            time.sleep(0.05)
        raise AssertionError(f"never {text!r}: {self.activity()}")


@pytest.fixture
def sessions_shell(nono, workspace):
    shell = Shell(nono, workspace)
    yield shell
    shell.stop()


def test_only_a_client_that_asks_hears_activity_frames(agents):
    """A client from before ACTIVITY frames existed would refuse an unknown frame kind: it is
    sent none, and one that asks gets the state at once and each change."""
    from nono.session.protocol import ActivityChanged, Kind

    agent = agents("asks-or-not")
    agent.cue("say hello")

    def kinds(hello: Hello, then: str | None = None) -> list:
        conn, _ = connect(agent.record(), hello)
        try:
            if then:
                agent.cue(then)
            seen = []
            end = time.monotonic() + 2
            while time.monotonic() < end:
                try:
                    frame = conn.read(0.2)
                except TimeoutError:
                    continue
                if frame is None:
                    break
                seen.append(frame)
            return seen
        finally:
            conn.close()

    old = kinds(Hello("screen", 80, 24, read_only=True), then="osc 777;nono;waiting;one")
    assert old and Kind.ACTIVITY not in [f.kind for f in old]
    new = kinds(Hello("screen", 80, 24, read_only=True, activity=True),
                then="osc 777;nono;idle;two")  # fmt: skip
    said = [ActivityChanged.decode(f).activity for f in new if f.kind == Kind.ACTIVITY]
    assert said[0]["state"] == "waiting"  # the state at once
    assert said[-1]["reason"] == 'hook said idle: "two"'  # and the change


def test_a_refused_connection_is_waiting_only_while_the_agent_looks_busy():
    w = watch()
    w.output(1.0, 100)
    w.refused(1.2, "blocked: network: example.org:443 denied")
    # Busy (output just now): it may be stuck on that host.
    assert w.decide(1.5, [], 0, None)[:2] == ("waiting", "blocked: network: example.org:443 denied")
    # At its prompt, the refusal was a side call: idle stands.
    asleep = ProcessInfo(10, "python3", False, "wait_woken", cpu=0.0)
    assert w.decide(2.0, [], 0, asleep)[0] == "idle"
    # An agent's own question is not replaced by a refusal.
    w.said(3.0, "waiting", "asked", "notification")
    w.refused(3.1, "blocked: network: example.org:443 denied")
    assert w.decide(3.2, [], 0, None)[1] == "asked"
