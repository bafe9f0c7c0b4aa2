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
