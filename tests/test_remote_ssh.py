"""nono reaching another host through a real sshd on 127.0.0.1 (tests/sshd.py)."""

from __future__ import annotations

import subprocess

from nono import __version__
from nono.remote.hosts import ssh_argv
from tests.sshd import sshd  # noqa: F401 (fixture)


def test_ssh_argv_runs_nono_on_the_remote_host(sshd):  # noqa: F811
    argv = ssh_argv(sshd.host(), ["--version"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, f"nono {__version__}"), done.stderr


def test_the_remote_nono_can_be_made_to_claim_another_version(sshd):  # noqa: F811
    argv = ssh_argv(sshd.host(version="9.9.9"), ["--version"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.stdout.strip() == "nono 9.9.9", done.stderr
