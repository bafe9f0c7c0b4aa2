"""Starting sessions from `nono mux`, driven as a person does: the new-pane prompts check each
answer when it is given, a restart keeps names unique, a pane's border names its command."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.mux_helpers import PREFIX
from tests.test_mux import SHELL, dashboard, sessions  # noqa: F401 (fixtures)

CLEAR = "\x15"  # ctrl-u: the prompt's line is emptied


def records(nono) -> list[dict]:
    return json.loads(nono("ps", "--all", "--json").stdout or "[]")


def test_new_pane_prompts_refuse_a_wrong_answer_where_it_is_given(
    sessions,  # noqa: F811
    dashboard,  # noqa: F811
    nono,
    workspace,
):
    sessions("alpha")
    dash = dashboard(cols=140)
    dash.wait("READY-alpha")
    dash.send(PREFIX + "%")
    dash.wait("new pane profile: default")
    # An unknown profile: named at the profile prompt, with the one meant, the text kept.
    dash.send(CLEAR + "defualt\r")
    dash.wait("no profile 'defualt': did you mean default?")
    assert "new pane profile: defualt" in dash.status()
    dash.send(CLEAR + "default\r")
    dash.wait(f"directory: {workspace}")
    # A directory that does not exist is named as such at the directory prompt.
    (workspace / "there").mkdir()
    dash.send(CLEAR + f"{workspace}/gone\r")
    dash.wait(f"directory: {workspace}/gone  no such directory")
    dash.send(CLEAR + "there\r")  # relative to where the dashboard runs
    dash.wait("command: ")
    # A command that cannot be read, then one nono refuses: the prompt stays, the text too.
    dash.send(CLEAR + "echo 'oops\r")
    dash.wait("command: echo 'oops  cannot read the command: no closing quotation")
    dash.send(CLEAR + "no-such-command-here\r")
    dash.wait("command not found: no-such-command-here")
    assert "command: no-such-command-here" in dash.status()
    # The earlier answers were kept: the session starts with them.
    dash.send(CLEAR + " ".join(SHELL) + "\r")
    dash.wait(lambda t: len(dash.headers()) == 2)
    new = [r for r in records(nono) if r["name"] != "alpha"]
    assert len(new) == 1 and new[0]["state"] == "running"
    assert new[0]["profile"] == "default" and new[0]["workdir"] == str(workspace / "there")


def test_a_profile_that_exists_goes_through_without_a_word(sessions, dashboard, workspace):  # noqa: F811
    # The control: the defaults as offered are accepted at once, as before.
    sessions("alpha")
    dash = dashboard(cols=140)
    dash.wait("READY-alpha")
    dash.send(PREFIX + "%")
    dash.wait("new pane profile: default")
    dash.send("\r")
    dash.wait(f"directory: {workspace}")
    assert "no profile" not in dash.status()


def stop_in_the_dashboard(dash, name: str) -> None:
    dash.prefix("x")
    dash.wait(f"stop {name}? (y/n)")
    dash.send("y")
    dash.wait("exited(")


def test_restart_reuses_the_name_and_ps_lists_it_once(sessions, dashboard, nono):  # noqa: F811
    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    stop_in_the_dashboard(dash, "alpha")
    dash.prefix("R")
    dash.wait(lambda t: "exited(" not in t and "READY-alpha" in t)
    named = [r for r in records(nono) if r["name"] == "alpha"]
    assert [r["state"] for r in named] == ["running"]
    assert "alpha" in dash.status() and "alpha-2" not in dash.status()


def test_restart_takes_a_fresh_name_when_another_session_holds_it(
    sessions,  # noqa: F811
    dashboard,  # noqa: F811
    nono,
):
    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    stop_in_the_dashboard(dash, "alpha")
    # Another record by that name, as a nono that let names repeat left them.
    (old,) = records(nono)
    sessions_dir = Path(os.environ["XDG_STATE_HOME"]) / "nono" / "sessions"
    twin = {**old, "id": "0123456789ab", "created": old["created"] - 60}
    (sessions_dir / "0123456789ab.json").write_text(json.dumps(twin))
    dash.prefix("R")
    dash.wait(lambda t: "exited(" not in t and "alpha-2" in t)
    names = sorted((r["name"], r["state"]) for r in records(nono))
    assert names == [("alpha", old["state"]), ("alpha-2", "running")]


def test_a_name_an_exited_session_holds_is_refused_until_pruned(nono, workspace):
    r = nono("run", "--detached", "--allow-cwd", "--name", "once", "--", "true")
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + 15
    while [x["state"] for x in records(nono)] != ["exited(0)"]:
        assert time.monotonic() < deadline, records(nono)
        time.sleep(0.05)
    r = nono("run", "--detached", "--allow-cwd", "--name", "once", "--", "true")
    assert r.returncode == 1
    assert "an exited session is already named 'once'" in r.stderr and "nono prune" in r.stderr
    assert len(records(nono)) == 1
    nono("prune")
    r = nono("run", "--detached", "--allow-cwd", "--name", "once", "--", "true")
    assert r.returncode == 0, r.stderr
