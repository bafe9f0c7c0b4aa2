"""Keys typed while `nono attach` is still connecting (an ssh to another host takes a while)
reach the session: the terminal is made raw without discarding what was typed ahead."""

from __future__ import annotations

import pytest

from tests.sshd import sshd  # noqa: F401 (fixture)
from tests.test_config import write_config
from tests.test_sessions import Screen


def _typed_ahead_reaches(args: list[str], cwd) -> None:
    term = Screen(args, cwd, rows=30, cols=100)
    try:
        term.child.send(b"typed-ahead\r")  # before nono has even started: in the PTY's queue
        term.wait_for("typed-ahead\ntyped-ahead")  # the terminal's echo, then cat's
    finally:
        term.close()


def test_keys_typed_while_attach_connects_reach_a_local_session(nono, workspace):
    done = nono("run", "--detached", "--name", "early", "--allow-cwd", "--", "cat")
    assert done.returncode == 0, done.stderr
    _typed_ahead_reaches(["attach", "early"], workspace)


@pytest.mark.usefixtures("home")
def test_keys_typed_while_attach_reaches_a_host_arrive(sshd, workspace):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("early", "cat")
    _typed_ahead_reaches(["attach", "build:early"], workspace)
