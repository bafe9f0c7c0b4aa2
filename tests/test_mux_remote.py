"""`nono mux` with remote hosts, through a real sshd (tests/sshd.py): a host's sessions in panes
beside this machine's, named HOST:NAME on their borders; typing reaches them; the link lost
(ssh killed) leaves the panes disconnected, never exited, and the dashboard reconnects by
itself and redraws; a host down at the start does not keep the dashboard from opening."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
from pathlib import Path

import pytest

from nono.mux.hosts import host_of, remote_record
from nono.mux.remote_screen import clean_screen
from nono.session.protocol import ProtocolError, Screen
from tests import test_mux, test_mux_activity
from tests.mux_helpers import Dashboard
from tests.sshd import sshd  # noqa: F401 (fixture)
from tests.test_config import write_config

sessions, dashboard = test_mux.sessions, test_mux.dashboard
CAT = ("sh", "-c", "echo REMOTE-READY; exec cat")
AGENT = test_mux_activity.AGENT  # prints `Proceed? [y/N]` when sent `ask`


def headers(dash: Dashboard) -> list[str]:
    """The names on the pane borders: `─ N:NAME`, a remote one's NAME being HOST:NAME."""
    found = []
    for line in dash.lines()[:-1]:
        found += re.findall(r"─ \d+:([\w.:-]+?)[!#]?(?= |─|$)", line)
    return found


def focus(dash: Dashboard, name: str) -> None:
    """Move the focus (prefix o) until the status bar marks `name` focused."""
    for _ in range(4):
        if re.search(rf"\d+:{re.escape(name)}\*", dash.status()):
            return
        dash.prefix("o")
        dash.settle(0.2)
    raise AssertionError(f"{name} never focused:\n{dash.text()}")


def ssh_children(pid: int) -> list[int]:
    """The ssh processes whose parent is `pid` (the dashboard's links)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if comm == "ssh" and int(rest.split()[1]) == pid:
            found.append(int(entry.name))
    return found


def remote_ps_all(server) -> list[dict]:
    done = server.nono("ps", "--json", "--all")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def remote_ps(server) -> list[dict]:
    done = server.nono("ps", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_remote_and_local_sessions_side_by_side_typing_reaches_the_remote_agent(
    sshd,  # noqa: F811
    sessions,
    dashboard,
):
    write_config(sshd.config_toml("build"))
    sshd.start_session("far", *CAT)
    sessions("near")
    dash = dashboard("--host", "build")
    dash.wait("REMOTE-READY")
    dash.wait("READY-near")
    assert sorted(headers(dash)) == ["build:far", "near"]
    assert "build:far" in dash.status()
    # Focus the remote pane and type: the remote cat echoes it back through the link.
    focus(dash, "build:far")
    dash.type_line("over-the-link")
    text = dash.wait(lambda t: t.count("over-the-link") >= 2)
    assert "exited" not in text
    # Detaching ends the link's ssh; the remote session runs on.
    (link,) = ssh_children(dash.child.pid)
    dash.prefix("d")
    assert dash.exit() == 0
    assert not Path(f"/proc/{link}").exists()
    assert [r["status"] for r in remote_ps(sshd)] == ["running"]


def test_killing_ssh_leaves_panes_disconnected_and_the_dashboard_reconnects_and_redraws(
    sshd,  # noqa: F811
    dashboard,
):
    write_config(sshd.config_toml("build") + '[mux]\nhosts = ["build"]\n')
    sshd.start_session("far", *CAT)
    dash = dashboard()
    dash.wait("REMOTE-READY")
    dash.type_line("before-the-cut")
    dash.wait(lambda t: t.count("before-the-cut") >= 2)
    (link,) = ssh_children(dash.child.pid)
    os.kill(link, signal.SIGKILL)
    text = dash.wait(
        lambda t: (
            "build disconnected" in t.splitlines()[-1]  # the host, in the status bar
            and re.search(r"0:build:far\S* disconnected", t.splitlines()[-1])
            is not None  # its session
            and re.search(r"─ 0:build:far.* disconnected", t) is not None
        )  # its pane's border
    )
    assert "exited" not in text
    # The agent runs on, on its host, and is typed into there while the dashboard is cut off.
    (far,) = [r for r in remote_ps(sshd) if r["name"] == "far"]
    assert far["status"] == "running"
    assert sshd.nono("send-keys", "far", "-l", "while-away").returncode == 0
    assert sshd.nono("send-keys", "far", "Enter").returncode == 0
    assert "while-away" not in dash.text()
    # Back by itself (no key pressed), over a new ssh, and redrawn from the supervisor's
    # model: what the agent printed meanwhile is on screen.
    dash.wait_gone("disconnected", timeout=30)
    assert ssh_children(dash.child.pid) not in ([], [link])
    dash.wait(lambda t: t.count("while-away") >= 2 and "before-the-cut" in t)
    dash.type_line("after-the-cut")
    dash.wait(lambda t: t.count("after-the-cut") >= 2)


def test_a_remote_session_is_stopped_and_scrolled_back_through_its_pane(
    sshd,  # noqa: F811
    dashboard,
):
    write_config(sshd.config_toml("build"))
    sshd.start_session("far", "sh", "-c", "for i in $(seq 1 60); do echo line-$i; done; exec cat")
    dash = dashboard("--host", "build")
    dash.wait("line-60")
    # Copy mode reads the history through the link.
    dash.prefix("[")
    dash.wait(lambda t: "COPY" in t.splitlines()[-1])
    dash.send("g")  # the oldest line
    dash.wait(lambda t: any(line.split()[:1] == ["line-1"] for line in t.splitlines()))
    dash.send("q")
    dash.wait(lambda t: "COPY" not in t.splitlines()[-1])
    dash.prefix("x")
    dash.wait("stop build:far?")
    dash.send("y")
    dash.wait(lambda t: re.search(r"build:far.*exited", t) is not None)
    (far,) = remote_ps_all(sshd)
    assert far["status"] == "exited"


def test_next_session_brings_back_a_remote_session_whose_pane_was_closed(
    sshd,  # noqa: F811
    sessions,
    dashboard,
):
    write_config(sshd.config_toml("build"))
    sshd.start_session("far", *CAT)
    sessions("near")
    dash = dashboard("--host", "build")
    dash.wait("REMOTE-READY")
    focus(dash, "build:far")
    dash.prefix("X")
    dash.wait(lambda _: "build:far" not in headers(dash))
    assert re.search(r"build:far-", dash.status())  # listed, not on screen
    dash.prefix("n")
    dash.wait(lambda _: "build:far" in headers(dash))
    dash.wait("REMOTE-READY")


def test_next_waiting_opens_a_remote_session_waiting_for_the_person(
    sshd,  # noqa: F811
    sessions,
    dashboard,
):
    write_config(sshd.config_toml("build"))
    sessions("near")
    dash = dashboard("--host", "build")
    dash.wait("READY-near")
    agent = sshd.remote_workdir() / "agent.py"
    agent.write_text(AGENT)
    sshd.start_session("asker", "python3", str(agent))
    assert sshd.nono("wait", "asker", "--state", "idle", "--timeout", "30").returncode == 0
    assert sshd.nono("send-keys", "asker", "ask", "Enter").returncode == 0
    # Heard from the host's listing: in the status bar, in no pane.
    dash.wait(lambda _: re.search(r"\d+:build:asker-? waiting", dash.status()) is not None)
    assert "build:asker" not in headers(dash)
    dash.prefix("a")
    dash.wait("Proceed? [y/N]")
    assert "build:asker" in headers(dash)
    dash.type_line("y")
    dash.wait("answered y")


def test_an_unknown_host_given_to_mux_is_named_with_the_configured_ones(dashboard):
    write_config('[hosts.build]\naddress = "me@build"\n')
    dash = dashboard("--host", "biuld")
    dash.exit()
    said = dash.raw.decode(errors="replace")
    assert "unknown host 'biuld'" in said and "hosts: build" in said


def test_a_dashboard_opened_with_a_host_down_still_runs_and_says_why(
    sessions,
    dashboard,
):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_config(
        f'[hosts.gone]\naddress = "me@127.0.0.1"\nssh_options = ["-p", "{port}"]\n'
        '[mux]\nhosts = ["gone"]\n'
    )
    sessions("near")
    dash = dashboard(env={"NONO_SSH_COMMAND": "ssh -F /dev/null"})
    dash.wait("READY-near")
    status = dash.wait(lambda t: "gone disconnected" in t.splitlines()[-1])
    assert "gone disconnected: cannot reach it (ssh failed)" in status.splitlines()[-1]
    dash.type_line("echo still-here")
    dash.wait(lambda t: "still-here" in [line.strip() for line in t.splitlines()])


def test_an_unknown_host_in_mux_hosts_is_named_with_its_line(nono):
    path = write_config('[hosts.build]\naddress = "me@build"\n\n[mux]\nhosts = ["biuld"]\n')
    done = nono("mux", "--default-keys")
    assert done.returncode == 1
    assert f"{path}:5" in done.stderr and "mux.hosts" in done.stderr
    assert "'biuld'" in done.stderr and "hosts: build" in done.stderr
    assert "[hosts.biuld]" in done.stderr


def test_mux_hosts_must_be_a_list_of_names(nono):
    write_config('[mux]\nhosts = "build"\n')
    done = nono("mux")
    assert done.returncode == 1
    assert "mux.hosts" in done.stderr and 'hosts = ["build"]' in done.stderr


def test_a_split_on_a_host_starts_the_session_there(sshd, dashboard):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("far", *CAT)
    dash = dashboard("--host", "build")
    dash.wait("REMOTE-READY")
    workdir = str(sshd.remote_workdir())
    dash.prefix("%")
    dash.wait("new pane host:")
    dash.send("\x15build\r")  # ctrl-u: the default is the focused pane's host already
    dash.wait("profile on build:")
    dash.send("\r")
    dash.wait("directory on build:")
    dash.send("\x15" + workdir + "\r")
    dash.wait("command:")
    dash.send("\x15sh -c 'echo SPLIT-THERE; exec cat'\r")
    dash.wait("SPLIT-THERE")
    names = [r["name"] for r in remote_ps(sshd)]
    assert len(names) == 2 and "far" in names
    (new,) = [n for n in names if n != "far"]
    assert f"build:{new}" in headers(dash)
    assert len(ssh_children(dash.child.pid)) == 1  # both panes share the host's one link


def test_mux_new_on_a_host_starts_it_there_and_opens_on_it(sshd, dashboard):  # noqa: F811
    write_config(sshd.config_toml("build"))
    dash = dashboard("new", "--host", "build", "--name", "fresh", "--workdir",
                     str(sshd.remote_workdir()), "--allow-cwd", "--", *CAT)  # fmt: skip
    dash.wait("REMOTE-READY")
    assert headers(dash) == ["build:fresh"]
    assert [r["name"] for r in remote_ps(sshd)] == ["fresh"]


def test_the_chooser_groups_sessions_by_host(sshd, sessions, dashboard):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("far", *CAT)
    sessions("near")
    dash = dashboard("--host", "build")
    dash.wait("REMOTE-READY")
    dash.prefix("w")
    dash.wait("LAST LINE")
    rows = [ln for ln in dash.lines()[:-1] if re.search(r"\b(near|build:far)\b", ln)]
    assert len(rows) == 2
    assert "local" in rows[0] and "near" in rows[0]
    assert "build" in rows[1].split("build:far", 1)[1]
    dash.wait(lambda t: "REMOTE-READY" in "".join(r for r in t.splitlines() if "build:far" in r))


# ---------------------------------------------------------------- what a host sends, made safe


def _screen(**kw) -> Screen:
    fields = {"rows": {"0": [["ok", 0]]}, "styles": [""], "full": True, "cursor": (0, 0),
              "cursor_visible": True, "size": (10, 2), "title": "t", "alternate": False,
              "modes": None, "bells": 0, "history": 0}  # fmt: skip
    fields.update(kw)
    return Screen(**fields)


def test_a_hosts_screen_loses_every_control_character_before_it_is_drawn():
    hostile = _screen(rows={"0": [["a\x1b]52;c;Zm9v\x07b\x9b2J", 0]]}, title="x\x1b[2Jy")
    clean = clean_screen(hostile)
    assert clean.rows == {"0": [["a?]52;c;Zm9v?b?2J", 0]]}
    assert "\x1b" not in clean.title and clean.title.startswith("x")
    assert clean_screen(_screen()) == _screen()  # an honest frame is drawn as sent


@pytest.mark.parametrize("bad", [
    {"rows": {"0": [["x", "bg:#ff0000"]]}},  # a style string of the host's own
    {"rows": {"0": [["x", 5]]}},  # a style not in the table
    {"rows": {"7": [["x", 0]]}},  # a row below the screen
    {"size": (100_000, 2)},
    {"cursor": (-1, 0)},
])  # fmt: skip
def test_a_hosts_screen_frame_of_the_wrong_shape_is_refused(bad):
    with pytest.raises(ProtocolError):
        clean_screen(_screen(**bad))


def test_a_hosts_record_is_rebuilt_cleaned_and_named_for_its_host():
    record = remote_record(
        "build",
        {
            "id": "abc",
            "name": "x\x1b[31my",
            "command": ["a\x07"],
            "status": "running",
            "exit_code": True,
            "size": [5, 9e9],
        },
    )
    assert record.id == "build:abc" and record.name.startswith("build:x")
    assert "\x1b" not in record.name and "\x07" not in record.command[0]
    assert record.exit_code is None and record.size == (80, 24)
    assert host_of(record) == "build"
    odd = remote_record("build", {"id": "../x\x1b", "status": "\x1b[2Jexited-ish"})
    assert odd.id == "build:?" and odd.status == "running"


def test_a_host_down_when_the_dashboard_opens_keeps_its_panes_in_the_layout(
    sshd,  # noqa: F811
    dashboard,
):
    write_config(sshd.config_toml("build") + '[mux]\nhosts = ["build"]\n')
    sshd.start_session("far", *CAT)
    dash = dashboard()
    dash.wait("REMOTE-READY")
    dash.prefix("d")
    assert dash.exit() == 0
    # The host cannot be reached: its pane is still there, disconnected, not pruned away.
    down = dashboard(env={"NONO_SSH_COMMAND": "false"})
    text = down.wait(lambda t: re.search(r"─ 0:build:\w+.* disconnected", t) is not None)
    assert "saved pane(s) named sessions that no longer exist" not in text
    down.prefix("d")
    assert down.exit() == 0
    # Reached again: the same pane, redrawn from its supervisor.
    back = dashboard()
    back.wait("REMOTE-READY")
    assert headers(back) == ["build:far"]
