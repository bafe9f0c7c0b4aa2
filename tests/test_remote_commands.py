"""Session commands given `--host NAME` or `NAME:SESSION` reach the session on that host
(remote/target.py), through a real sshd; what comes back is cleaned before it is printed."""

from __future__ import annotations

import time

from nono.remote.target import clean_screen
from tests.sshd import sshd  # noqa: F401 (fixture)
from tests.test_config import write_config


def _capture_until(nono, text: str, *args: str) -> str:
    """The capture once the agent has drawn `text` (its start is not ours to time)."""
    for _ in range(300):
        done = nono("capture", *args)
        assert done.returncode == 0, done.stderr
        if text in done.stdout:
            return done.stdout
        time.sleep(0.05)
    return done.stdout


def test_send_keys_and_capture_reach_a_session_on_a_host(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("typist", "cat")
    done = nono("send-keys", "--host", "build", "typist", "-l", "over ssh")
    assert done.returncode == 0, done.stderr
    assert nono("send-keys", "build:typist", "Enter").returncode == 0
    screen = _capture_until(nono, "over ssh\nover ssh", "build:typist")
    assert screen.splitlines()[:2] == ["over ssh", "over ssh"]  # the echo, then cat's
    assert "over ssh" in _capture_until(nono, "over ssh", "--host", "build", "typist")


def test_a_local_name_with_a_colon_stays_local(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    started = nono("run", "--detached", "--name", "fix:tests", "--allow-cwd", "--", "cat")
    assert started.returncode == 0, started.stderr
    assert nono("send-keys", "fix:tests", "-l", "here").returncode == 0
    assert "here" in _capture_until(nono, "here", "fix:tests")


def test_a_session_missing_on_the_host_is_one_clear_line(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono("capture", "build:nope")
    assert done.returncode == 1
    assert done.stderr.startswith("nono: host build: no session matches 'nope'")
    assert len(done.stderr.splitlines()) == 1


def test_an_unknown_host_is_named_with_the_configured_ones(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono("capture", "--host", "biuld", "x")
    assert done.returncode == 1
    assert done.stderr.startswith("nono: unknown host 'biuld'") and "hosts: build" in done.stderr


def test_a_remote_screen_keeps_lines_and_colours_and_loses_every_other_sequence():
    hostile = "a\tb\x1b[1;31mred\x1b[0m\x1b]52;c;Zm9v\x07\x1b[2J\x1b[Hz\x9b1m\r\nnext"
    assert clean_screen(hostile, ansi=False) == "a\tb[1;31mred[0m]52;c;Zm9v[2J[Hz1m\nnext"
    assert clean_screen(hostile, ansi=True) == "a\tb\x1b[1;31mred\x1b[0m]52;c;Zm9v[2J[Hz1m\nnext"


def test_attach_to_a_session_on_a_host_types_resizes_and_detaches(nono, sshd, workspace):  # noqa: F811
    from tests.test_sessions import Screen

    write_config(sshd.config_toml("build"))
    sshd.start_session("shell", "bash", "--norc", "--noprofile", "-i")
    term = Screen(["attach", "build:shell"], workspace, rows=30, cols=100)
    try:
        term.pump(0.5)
        term.child.send(b"stty size; echo typed-from-afar\r")
        term.wait_for("30 100")
        term.wait_for("typed-from-afar")
        term.child.send(b"\x1d")  # ctrl-] then d: the default detach sequence
        term.child.send(b"d")
        assert term.finish() == 0
        assert "[detached from session build:shell; back with: nono attach build:shell]" in (
            term.child.before.decode()
        )
    finally:
        term.close()
    # Detaching left it running there.
    assert "typed-from-afar" in _capture_until(nono, "typed-from-afar", "build:shell")


def test_a_second_attach_on_a_host_is_refused_with_the_supervisors_reason(nono, sshd, workspace):  # noqa: F811
    from tests.test_sessions import Screen

    write_config(sshd.config_toml("build"))
    sshd.start_session("held", "bash", "--norc", "--noprofile", "-i")
    first = Screen(["attach", "--host", "build", "held"], workspace)
    try:
        first.pump(0.5)
        first.child.send(b"echo first-here\r")
        first.wait_for("first-here")
        second = Screen(["attach", "--host", "build", "held"], workspace)
        assert second.finish() == 1
        assert "already attached" in second.child.before.decode() + second.text()
    finally:
        first.close()


def test_detach_and_stop_reach_a_session_on_a_host(nono, sshd, workspace):  # noqa: F811
    from tests.test_sessions import Screen

    write_config(sshd.config_toml("build"))
    sshd.start_session("ending", "bash", "--norc", "--noprofile", "-i")
    term = Screen(["attach", "build:ending"], workspace)
    try:
        term.pump(0.5)
        term.child.send(b"echo attached-here\r")
        term.wait_for("attached-here")
        done = nono("detach", "--host", "build", "ending")
        assert (done.returncode, done.stdout) == (0, "detached 1 client(s) from build:ending\n")
        assert term.finish() == 0
    finally:
        term.close()
    done = nono("stop", "build:ending", "--force")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stopped build:ending: exit code ")
    listed = nono("ps", "--host", "build")
    assert "ending" not in listed.stdout


def test_run_host_detached_starts_the_session_on_that_host(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    work = sshd.remote_workdir()
    done = nono("run", "--host", "build", "--detached", "--name", "started-here",
                "--workdir", str(work), "--allow-cwd", "--",
                "sh", "-c", "echo made-remotely; exec sleep 600")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "started-here" in done.stdout
    assert "made-remotely" in _capture_until(nono, "made-remotely", "build:started-here")
    local = nono("ps")
    assert "started-here" not in local.stdout  # not a local session


def test_run_host_failing_there_is_one_line_with_that_hosts_words(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono("run", "--host=build", "--detached", "--profile", "no-such-profile", "--", "true")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("nono: host build: its nono failed (exit 1): ")
    assert "no-such-profile" in done.stderr
