"""A new user's first hour: pipes, messages, advice and stopping, through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def into_closed_pipe(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nono with stdout a pipe whose reader is already gone, as after `| head` exits."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "nono", *args],
            cwd=cwd,
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.fixture
def something_to_list(nono, workspace):
    """One session (stopped, so it has a log and a screen) and one rollback with a change."""
    r = nono("run", "--detached", "--allow-cwd", "--name", "piped", "--", "sh", "-c",
             "seq 1 50; sleep 60")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = nono("run", "--rollback", "--allow-cwd", "--", "sh", "-c", "echo x > made.txt")
    assert r.returncode == 0, r.stderr
    yield
    nono("stop", "piped", "--force")


@pytest.mark.parametrize(
    "args",
    [
        ("logs", "piped"),
        ("ps",),
        ("capture", "piped"),
        ("profile", "show", "claude-code"),
        ("profile", "list"),
        ("rollback", "list"),
    ],
    ids=" ".join,
)
def test_output_into_a_closed_pipe_ends_quietly(nono, workspace, something_to_list, args):
    r = into_closed_pipe(workspace, *args)
    assert r.stderr == "", r.stderr
    assert r.returncode == 141  # what a shell shows for a program ended by SIGPIPE
