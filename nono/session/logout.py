"""Keeping a session past its person's logout where systemd-logind would end it.

With `KillUserProcesses=yes`, logind stops a login's session scope when the person logs out
(an ssh connection closing is one), and with it every process started from that login:
a supervisor too, although it left the terminal's session with setsid. tmux moves its server
out for the same reason. A supervisor that finds itself in such a scope asks the person's
systemd user manager for a transient scope of its own (`StartTransientUnit` with its pid)
before it forks the sandbox, so the agent is born there too.

Only where logind would kill it: a scope under the user manager ends with that manager,
which stops at the person's last logout unless lingering is on, whereas with the default
`KillUserProcesses=no` the session scope is left alone and its processes outlive it. So
moving when logind would not kill would make a session die where it lives today.

Fail-open: this is about liveness, not the sandbox; when the move cannot be made the session
runs as before and the person is told why (a warning, and `logout` in the record's extra).
Root's process bound (a pids cgroup inside the current scope) is never left for this."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from nono.sandbox.limits import read_or_empty

# A logind session's scope: /user.slice/user-UID.slice/session-ID.scope (or below it).
_SESSION_SCOPE = re.compile(r"/user-\d+\.slice/session-[^/]+\.scope(?:/|$)")
_BUSCTL = "busctl"
_LOGIND = ("org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager")
_SYSTEMD = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager")  # fmt: skip
_ENABLE_LINGER = "loginctl enable-linger"


@dataclass(frozen=True)
class Login:
    """What the decision reads, as data (gathered by `observe`)."""

    cgroup: str  # /proc/self/cgroup
    kills: bool | None  # logind ends this user's processes at logout (None: could not ask)
    user_bus: bool  # a systemd user manager answers on $XDG_RUNTIME_DIR/bus
    lingering: bool  # its user manager outlives the last logout
    bounded: bool  # root's process bound: a pids cgroup inside the current one holds it


@dataclass(frozen=True)
class Plan:
    move: bool
    warning: str | None = None  # what the person is told (the session may end at logout)


def session_scope(cgroup: str) -> str | None:
    """The logind session scope a process is in, from /proc/PID/cgroup's text, or None. The
    unified line (0::) is systemd's on v2 and hybrid hosts; name=systemd on v1."""
    for line in cgroup.splitlines():
        number, controllers, path = [*line.split(":", 2), "", ""][:3]
        systemds = (number == "0" and not controllers) or controllers == "name=systemd"
        if systemds and _SESSION_SCOPE.search(path):
            return path
    return None


def kills_user(kill: bool, only: list[str], exclude: list[str], user: str) -> bool:
    """logind.conf(5): KillExcludeUsers first, then KillOnlyUsers, then KillUserProcesses."""
    if user in exclude:
        return False
    if only:
        return user in only
    return kill


def plan(login: Login) -> Plan:
    """Whether to move into a scope of its own, and what to tell the person otherwise."""
    if session_scope(login.cgroup) is None or login.kills is False:
        return Plan(False)  # nothing here ends it at logout
    if login.kills is None:
        return Plan(False, "logind could not be asked whether logging out ends this "
                    "session's processes (KillUserProcesses): it may end at logout")  # fmt: skip
    if login.bounded:
        return Plan(False, "logind ends this login's processes at logout, and root's process "
                    "bound keeps this session in the login's scope: it ends at logout")  # fmt: skip
    if not login.user_bus:
        return Plan(False, "logind ends this login's processes at logout and no systemd user "
                    "manager answers ($XDG_RUNTIME_DIR/bus) to give it a scope of its own: "
                    "it ends at logout")  # fmt: skip
    if not login.lingering:
        return Plan(True, "it outlives this login while another login of yours is open; "
                    f"to outlive the last one too: {_ENABLE_LINGER}")  # fmt: skip
    return Plan(True)


def unit_name(session_id: str) -> str:
    return f"nono-{re.sub(r'[^A-Za-z0-9_-]', '_', session_id)}.scope"


def keep_past_logout(session_id: str, description: str, *, bounded: bool) -> str | None:
    """Move this process (a supervisor, before it forks its sandbox) into a transient scope
    of the user manager when logind would end it at logout. Returns a warning, or None."""
    cgroup = read_or_empty("/proc/self/cgroup")
    if session_scope(cgroup) is None:
        return None  # the common case costs one small read
    decided = plan(observe(cgroup, bounded=bounded))
    if not decided.move:
        return decided.warning
    unit = unit_name(session_id)
    failure = _start_scope(unit, os.getpid(), description)
    if failure is not None:
        return f"could not give it a scope of its own ({failure}): it may end at logout"
    # The reply comes when the job is queued; the move is done when the scope runs.
    for _ in range(100):
        if f"/{unit}" in read_or_empty("/proc/self/cgroup"):
            return decided.warning
        time.sleep(0.01)
    return f"its scope {unit} was not joined in 1 s: it may end at logout"


def observe(cgroup: str, *, bounded: bool) -> Login:
    """The facts `plan` decides on, asked of this host."""
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    return Login(cgroup=cgroup, kills=_logind_kills(user), user_bus=_user_bus().exists(),
                 lingering=Path("/var/lib/systemd/linger", user).exists(),
                 bounded=bounded)  # fmt: skip


def _logind_kills(user: str) -> bool | None:
    import shlex

    names = ("KillUserProcesses", "KillOnlyUsers", "KillExcludeUsers")
    out = _busctl(["get-property", *_LOGIND, *names])
    if out is None:
        return None
    try:
        kill, only, exclude = (shlex.split(line) for line in out.splitlines()[:3])
        return kills_user(kill == ["b", "true"], only[2:], exclude[2:], user)
    except ValueError:
        return None


def _start_scope(unit: str, pid: int, description: str) -> str | None:
    """StartTransientUnit on the user manager: a scope holding `pid`, removed once empty."""
    import subprocess  # here: most supervisors never need it

    props = ["3", "PIDs", "au", "1", str(pid), "Description", "s", description,
             "CollectMode", "s", "inactive-or-failed"]  # fmt: skip
    args = ["--user", "call", *_SYSTEMD, "StartTransientUnit", "ssa(sv)a(sa(sv))", unit, "fail"]
    try:
        done = subprocess.run([_BUSCTL, *args, *props, "0"], capture_output=True, text=True,
                              timeout=5, env=_bus_env(), stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "busctl failed"
    return None


def _busctl(args: list[str]) -> str | None:
    import subprocess

    try:
        done = subprocess.run([_BUSCTL, *args], capture_output=True, text=True, timeout=5,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _user_bus() -> Path:
    return Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}", "bus")


def _bus_env() -> dict[str, str]:
    # ssh logins through pam_systemd set XDG_RUNTIME_DIR; a bare environment may not have it.
    return {**os.environ, "XDG_RUNTIME_DIR": str(_user_bus().parent)}
