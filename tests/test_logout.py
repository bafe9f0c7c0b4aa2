"""A supervisor started from a login that systemd-logind ends at logout moves into a scope of
its own (session/logout.py); elsewhere it stays where it is, and where it cannot move the
person is told why. The decision is pure (read from /proc/self/cgroup's text as data); the
move itself is tried where systemd runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nono.session.logout import Login, kills_user, plan, session_scope, unit_name

V2_SESSION = "0::/user.slice/user-1000.slice/session-3.scope\n"
HYBRID_SESSION = ("12:pids:/user.slice/user-1000.slice/session-7.scope\n"
                  "1:name=systemd:/user.slice/user-1000.slice/session-7.scope\n"
                  "0::/user.slice/user-1000.slice/session-7.scope\n")  # fmt: skip
V1_SESSION = "4:memory:/user.slice\n1:name=systemd:/user.slice/user-1000.slice/session-c2.scope\n"
USER_MANAGER = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/tmux-spawn-1.scope\n"
CONTAINER = "9:name=systemd:/\n8:pids:/\n0::/\n"
SERVICE = "0::/system.slice/ssh.service\n"


def _login(cgroup: str = V2_SESSION, **kw) -> Login:
    facts = {"kills": True, "user_bus": True, "lingering": True, "bounded": False, **kw}
    return Login(cgroup=cgroup, **facts)


@pytest.mark.parametrize("cgroup", [V2_SESSION, HYBRID_SESSION, V1_SESSION])
def test_a_logind_session_scope_is_found_in_every_cgroup_layout(cgroup):
    assert session_scope(cgroup) is not None
    assert "session-" in session_scope(cgroup)


@pytest.mark.parametrize("cgroup", [USER_MANAGER, CONTAINER, SERVICE, "", "garbage\n"])
def test_outside_a_session_scope_nothing_is_found(cgroup):
    assert session_scope(cgroup) is None


def test_root_s_pids_cgroup_inside_a_session_scope_is_still_in_it():
    assert session_scope("0::/user.slice/user-0.slice/session-3.scope/nono-1a2b\n")


def test_a_supervisor_in_a_session_scope_logind_kills_moves_out():
    assert plan(_login()) == plan(_login(HYBRID_SESSION)) == plan(_login(V1_SESSION))
    assert plan(_login()).move and plan(_login()).warning is None


@pytest.mark.parametrize("cgroup", [USER_MANAGER, CONTAINER, SERVICE])
def test_a_supervisor_already_outside_a_login_stays_and_says_nothing(cgroup):
    assert plan(_login(cgroup)) == plan(_login(cgroup, kills=None, user_bus=False))
    assert not plan(_login(cgroup)).move and plan(_login(cgroup)).warning is None


def test_where_logind_leaves_processes_at_logout_it_stays_in_the_session_scope():
    # A scope under the user manager would end with it at the last logout (no lingering):
    # moving there would end sessions that survive today.
    assert plan(_login(kills=False, lingering=False)).move is False
    assert plan(_login(kills=False, lingering=False)).warning is None


def test_without_lingering_it_moves_and_says_how_to_outlive_the_last_login():
    decided = plan(_login(lingering=False))
    assert decided.move and "loginctl enable-linger" in decided.warning


@pytest.mark.parametrize(("facts", "words"), [
    ({"user_bus": False}, "no systemd user manager answers"),
    ({"bounded": True}, "root's process bound"),
    ({"kills": None}, "could not be asked"),
])  # fmt: skip
def test_where_it_cannot_move_it_stays_and_says_why(facts, words):
    decided = plan(_login(**facts))
    assert not decided.move
    assert words in decided.warning and "logout" in decided.warning


def test_logind_s_exclude_and_only_lists_decide_before_its_switch():
    assert kills_user(True, [], ["root"], "root") is False  # logind's default exclusion
    assert kills_user(True, [], ["root"], "me") is True
    assert kills_user(True, ["other"], [], "me") is False
    assert kills_user(False, ["me"], [], "me") is True
    assert kills_user(False, [], [], "me") is False


def test_a_unit_name_is_a_valid_scope_name_whatever_the_id():
    assert unit_name("a1b2c3") == "nono-a1b2c3.scope"
    assert unit_name("x/y z") == "nono-x_y_z.scope"


def _systemd_logout_missing() -> str | None:
    """Why the real move cannot be tried here, or None."""
    if not Path("/run/systemd/system").is_dir():
        return "systemd is not running here (no /run/systemd/system)"
    if session_scope(Path("/proc/self/cgroup").read_text()) is None:
        return "this test does not run inside a logind session scope"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    if not Path(runtime, "bus").exists() or shutil.which("busctl") is None:
        return "no systemd user manager answers on $XDG_RUNTIME_DIR/bus"
    return None


def test_a_session_started_in_a_login_logind_kills_runs_in_its_own_scope(nono):
    missing = _systemd_logout_missing()
    if missing:
        pytest.skip(missing)
    asked = subprocess.run(["busctl", "get-property", "org.freedesktop.login1",
                            "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                            "KillUserProcesses"], capture_output=True, text=True)  # fmt: skip
    done = nono("run", "--detached", "--name", "kept", "--allow-cwd", "--", "sleep", "600")
    assert done.returncode == 0, done.stderr
    listed = json.loads(nono("ps", "--json").stdout)
    (record,) = [r for r in listed if r["name"] == "kept"]
    supervisor = Path(f"/proc/{record['supervisor_pid']}/cgroup").read_text()
    agent = Path(f"/proc/{record['child_pid']}/cgroup").read_text()
    if asked.stdout.strip() != "b true":  # logind leaves it alone at logout: so does nono
        assert session_scope(supervisor) is not None and session_scope(agent) is not None
    elif os.getuid() == 0:
        pytest.skip("logind kills at logout, but excludes root by default")
    else:
        assert f"/{unit_name(record['id'])}" in supervisor
        assert f"/{unit_name(record['id'])}" in agent  # the agent was born there too
