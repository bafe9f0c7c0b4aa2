"""The dashboard knows what each agent is doing, as its supervisor says: a coloured word on each
pane's border and in the status bar, a key that goes to the session waiting longest, and a
notice on the outer terminal when a session the person is not looking at needs them. Driven as
a person does: `nono mux` in a PTY read through pyte, scripted agents behind it that print a
`[y/N]` prompt on cue (the default agent rules make that `waiting`)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.mux_helpers import Dashboard
from tests.test_mux import dashboard, sessions  # noqa: F401 (fixtures)

AGENT = """\
import sys, time
print("AGENT-" + "READY", flush=True)
for line in sys.stdin:
    cue = line.strip()
    if cue == "ask":
        sys.stdout.write("Proceed? [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip()
        print("answered " + answer, flush=True)
    elif cue == "work":
        for i in range(20):
            print("step", i, flush=True)
            time.sleep(0.05)
    elif cue == "exit":
        sys.exit(3)
"""

OSC9 = re.compile(rb"\x1b\]9;nono: ([\w-]+) (\w+)[^\x07]*\x07")
OSC777 = re.compile(rb"\x1b\]777;notify;nono;([\w-]+) (\w+)[^\x07;]*\x07")


@pytest.fixture
def agents(sessions, workspace, nono):  # noqa: F811
    """Start scripted agents by name, and let each settle (idle at its prompt) before the test
    looks: a dashboard opened while one still worked would rightly hear it end its turn."""
    (workspace / "agent.py").write_text(AGENT)

    def start(*names: str) -> None:
        for name in names:
            sessions(name, "python3", str(workspace / "agent.py"))
        for name in names:
            r = nono("wait", name, "--state", "idle", "--timeout", "30")
            assert r.returncode == 0, r.stderr

    return start


def cue(nono, name: str, text: str) -> None:
    r = nono("send-keys", name, text, "Enter")
    assert r.returncode == 0, r.stderr


def word_at(dash: Dashboard, y: int, word: str, after: int = 0) -> tuple[int, int]:
    """(row, column) where `word` starts on row y, at or after column `after`."""
    x = dash.lines()[y].find(word, after)
    assert x >= 0, f"no {word!r} on row {y}:\n{dash.text()}"
    return y, x


def header_row(dash: Dashboard, name: str) -> int:
    for y, _, found in dash.headers():
        if found == name:
            return y
    raise AssertionError(f"no pane named {name}:\n{dash.text()}")


def header_says(dash: Dashboard, name: str, word: str) -> bool:
    line = next((dash.lines()[y][x:] for y, x, n in dash.headers() if n == name), "")
    return re.match(rf"─ \d+:{name}\S*\s+{word}\b", line) is not None


def status_says(dash: Dashboard, name: str, word: str) -> bool:
    return re.search(rf"\d+:{name}[*Z!#-]* {word}\b", dash.status()) is not None


def focused(dash: Dashboard) -> str:
    match = re.search(r"\d+:([\w-]+)\*", dash.status())
    assert match, dash.status()
    return match.group(1)


def notices(dash: Dashboard) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]], int]:
    """(OSC 9 notices, OSC 777 notices, BELs outside any OSC) the outer terminal was sent."""
    raw = bytes(dash.raw)
    bells = re.sub(rb"\x1b\][^\x07\x1b]*(\x07|\x1b\\)", b"", raw).count(b"\x07")
    return OSC9.findall(raw), OSC777.findall(raw), bells


def test_a_waiting_agent_shows_a_yellow_word_on_its_border_and_in_the_status_bar(
    agents,
    dashboard,  # noqa: F811
    nono,
):
    agents("alpha", "beta")
    dash = dashboard()
    dash.wait(lambda t: t.count("AGENT-READY") == 2)
    dash.wait(lambda t: header_says(dash, "beta", "idle") and status_says(dash, "beta", "idle"))
    y = header_row(dash, "beta")
    _, x = word_at(dash, y, "idle", dash.lines()[y].find("beta"))
    assert dash.screen.buffer[y][x].fg == "blue"

    cue(nono, "beta", "ask")
    dash.wait(
        lambda t: header_says(dash, "beta", "waiting") and status_says(dash, "beta", "waiting")
    )
    _, x = word_at(dash, y, "waiting", dash.lines()[y].find("beta"))
    cell = dash.screen.buffer[y][x]
    assert (cell.bg, cell.fg, cell.bold) == ("brown", "black", True)  # pyte's name for yellow
    status_y = dash.rows - 1
    _, x = word_at(dash, status_y, "waiting")
    cell = dash.screen.buffer[status_y][x]
    assert (cell.bg, cell.bold) == ("brown", True)
    # The other agent still says it is idle: the word belongs to the session that waits.
    assert header_says(dash, "alpha", "idle")

    # Answered: the state leaves waiting (the agent reads the answer and goes quiet).
    nono("send-keys", "beta", "y", "Enter")
    dash.wait(lambda t: "answered y" in t and header_says(dash, "beta", "idle"))
    assert not status_says(dash, "beta", "waiting")

    cue(nono, "beta", "work")
    dash.wait(lambda t: header_says(dash, "beta", "working"))
    _, x = word_at(dash, y, "working", dash.lines()[y].find("beta"))
    assert dash.screen.buffer[y][x].fg == "green"


def test_the_jump_key_focuses_the_longest_waiting_pane_then_the_next(agents, dashboard, nono):  # noqa: F811
    agents("alpha", "beta", "gamma")
    dash = dashboard()
    dash.wait(lambda t: t.count("AGENT-READY") == 3)
    assert focused(dash) == "alpha"
    dash.prefix("a")
    dash.wait("no session is waiting")

    cue(nono, "gamma", "ask")
    dash.wait(lambda t: status_says(dash, "gamma", "waiting"))
    cue(nono, "beta", "ask")  # beta waits too, but gamma has waited longer
    dash.wait(lambda t: status_says(dash, "beta", "waiting"))
    dash.prefix("a")
    dash.wait(lambda t: focused(dash) == "gamma")
    dash.prefix("a")  # again: the next one waiting
    dash.wait(lambda t: focused(dash) == "beta")
    dash.prefix("a")  # and round again
    dash.wait(lambda t: focused(dash) == "gamma")

    # Typed into the focused pane: gamma is answered and no longer waits; the key now finds
    # beta alone.
    dash.type_line("y")
    dash.wait(lambda t: "answered y" in t and not status_says(dash, "gamma", "waiting"))
    dash.prefix("a")
    dash.wait(lambda t: focused(dash) == "beta")


def test_the_jump_key_opens_a_waiting_session_that_is_not_on_screen(agents, dashboard, nono):  # noqa: F811
    agents("alpha")
    dash = dashboard()
    dash.wait("AGENT-READY")
    agents("beta")  # started after the dashboard: in the status bar, in no pane
    dash.wait(lambda t: status_says(dash, "beta", r"\w+"))
    assert "beta" not in [name for _, _, name in dash.headers()]
    cue(nono, "beta", "ask")
    dash.wait(lambda t: status_says(dash, "beta", "waiting"))  # from its record
    dash.settle(quiet=1.0)
    assert notices(dash) == ([(b"beta", b"waiting")], [(b"beta", b"waiting")], 1)
    dash.prefix("a")
    dash.wait(lambda t: header_says(dash, "beta", "waiting") and focused(dash) == "beta")
    dash.wait("Proceed? [y/N]")
    dash.type_line("n")
    dash.wait("answered n")
    # Heard again through its new pane: the same change, not told twice.
    assert notices(dash) == ([(b"beta", b"waiting")], [(b"beta", b"waiting")], 1)


def test_notices_reach_the_outer_terminal_once_per_change_and_not_for_the_focused_pane(
    agents,
    dashboard,  # noqa: F811
    nono,
):
    agents("alpha", "beta")
    dash = dashboard()
    dash.wait(lambda t: t.count("AGENT-READY") == 2)
    dash.wait(lambda t: header_says(dash, "beta", "idle") and header_says(dash, "alpha", "idle"))
    assert focused(dash) == "alpha"
    assert notices(dash) == ([], [], 0)  # the states heard on opening are no news

    cue(nono, "beta", "ask")
    dash.wait(lambda t: header_says(dash, "beta", "waiting"))
    dash.settle(quiet=1.0)
    osc9, osc777, bells = notices(dash)
    assert osc9 == [(b"beta", b"waiting")]
    assert osc777 == [(b"beta", b"waiting")]
    assert bells == 1
    raw = bytes(dash.raw)
    assert b"\x1b]9;nono: beta waiting: screen rule default.confirm matched row" in raw
    assert b"Proceed? [y/N]" in raw.split(b"\x1b]777;notify;nono;")[1]  # the reason, no `;`

    # The focused pane is the one the person looks at: it waits without a notice.
    cue(nono, "alpha", "ask")
    dash.wait(lambda t: header_says(dash, "alpha", "waiting"))
    dash.settle(quiet=1.0)
    assert notices(dash) == ([(b"beta", b"waiting")], [(b"beta", b"waiting")], 1)

    # A turn that ends (working, then idle) is news too; answering a prompt is not.
    nono("send-keys", "beta", "y", "Enter")
    dash.wait(lambda t: "answered y" in t and header_says(dash, "beta", "idle"))
    cue(nono, "beta", "work")
    dash.wait(lambda t: header_says(dash, "beta", "working"))
    dash.wait(lambda t: header_says(dash, "beta", "idle"))
    dash.settle(quiet=1.0)
    osc9, osc777, bells = notices(dash)
    assert osc9 == [(b"beta", b"waiting"), (b"beta", b"idle")]
    assert osc777 == osc9
    assert bells == 2


def test_notify_config_silences_the_terminal_and_runs_the_command_without_a_shell(
    agents,
    dashboard,  # noqa: F811
    nono,
    home,
    workspace,
):
    out = workspace / "notified.txt"
    script = workspace / "record.py"
    script.write_text(
        "import json, os, sys\n"
        f"with open({str(out)!r}, 'a') as f:\n"
        "    f.write(json.dumps([sys.argv[1:], os.environ['NONO_SESSION'],"
        " os.environ['NONO_STATE'], os.environ['NONO_REASON']]) + '\\n')\n"
    )
    config = Path(home.parent / "config" / "nono")
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f'[notify]\nbell = false\ndesktop = false\ncommand = ["python3", "{script}", "--"]\n'
    )
    agents("alpha", "beta")
    dash = dashboard()
    dash.wait(lambda t: t.count("AGENT-READY") == 2)
    dash.wait(lambda t: header_says(dash, "beta", "idle"))
    cue(nono, "beta", "ask")
    dash.wait(lambda t: header_says(dash, "beta", "waiting"))
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        dash.pump(0.1)
    dash.settle(quiet=1.0)
    assert notices(dash) == ([], [], 0)
    (args, session, state, reason), *more = [
        json.loads(line) for line in out.read_text().splitlines()
    ]
    assert not more
    assert (session, state) == ("beta", "waiting")
    assert args[0] == "--" and args[1].startswith("beta waiting: screen rule default.confirm")
    assert "Proceed? [y/N]" in reason and len(args) == 2  # one argument, however it is spaced


def test_an_agent_written_reason_cannot_end_the_notice_or_start_a_sequence_of_its_own():
    from nono.mux.notify import notice_for, terminal_bytes
    from nono.session.activity import Activity

    working = Activity("working", 1.0, "output", "output")
    hostile = Activity("waiting", 2.0, "ok\x07\x1b]52;c;QUFB\x07\x1b[2J; rm -rf ~;", "hook")
    notice = notice_for("beta", working, hostile)
    assert notice is not None
    out = terminal_bytes(notice, bell=True, desktop=True)
    assert out.count("\x1b") == 2  # the two notices' own ESC ] and nothing the agent wrote
    assert out.count("\x07") == 3  # their two terminators and the bell
    osc777 = out.split("\x1b]777;")[1].split("\x07")[0]
    assert osc777.split(";")[:2] == ["notify", "nono"] and osc777.count(";") == 2
    assert terminal_bytes(notice, bell=False, desktop=False) == ""


def test_only_a_turn_that_needs_the_person_is_news():
    from nono.mux.notify import notice_for
    from nono.session.activity import Activity

    def a(state: str, since: float = 1.0) -> Activity:
        return Activity(state, since, "", "")

    assert notice_for("s", None, a("waiting")) is None  # the first word heard: no change
    assert notice_for("s", a("idle"), a("waiting")) is not None
    assert notice_for("s", a("working"), a("idle")) is not None
    assert notice_for("s", a("working"), a("exited")) is not None
    assert notice_for("s", a("waiting"), a("idle")) is None  # answered, then quiet
    assert notice_for("s", a("idle"), a("working")) is None
    assert notice_for("s", a("starting"), a("idle")) is None


def test_an_agent_flipping_its_state_is_noticed_at_most_every_few_seconds():
    """What the agent says decides the state: one flipping between working and waiting at every
    look must not ring ten times a second or start a command per flip."""
    from nono.config import NotifyConfig
    from nono.mux.notify import NOTICE_INTERVAL, Notifier
    from nono.session.activity import Activity

    written: list[str] = []
    spawned: list[object] = []

    def spawn(coro) -> None:
        spawned.append(coro)
        coro.close()  # never run: what counts is how many were asked for

    notifier = Notifier(NotifyConfig(command=("true",)), written.append, spawn, print)
    old = Activity("working", 0.0, "", "output")
    for i in range(50):
        state = "waiting" if i % 2 == 0 else "working"
        new = Activity(state, float(i + 1), "flip", "hook")
        notifier.changed("s1", "flipper", old, new, looking=False)
        old = new
    assert len([w for w in written if w.startswith("\x1b]9;")]) == 1
    assert len(spawned) == 1
    notifier.noticed_at["s1"] -= NOTICE_INTERVAL  # as if the interval had passed
    notifier.changed("s1", "flipper", old, Activity("waiting", 99.0, "again", "hook"), False)
    assert len([w for w in written if w.startswith("\x1b]9;")]) == 2
    assert len(spawned) == 1  # the first command has not finished: not another
