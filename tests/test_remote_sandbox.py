"""A session started on a host through `nono run --host NAME --detached` is sandboxed by that
host's kernel: its agent cannot read the remote user's ~/.ssh (the remote side's HOME is one
of tests/sshd.py's own, with a key in it), and can read what it was granted."""

from __future__ import annotations

import json

import pytest

from tests.sshd import sshd  # noqa: F401 (fixture)
from tests.test_config import write_config
from tests.test_remote_commands import _capture_until

KEY = "REMOTE PRIVATE KEY"


@pytest.mark.parametrize("profile", ["claude-code", "default"])
def test_a_remote_agent_cannot_read_the_remote_ssh_dir(nono, sshd, profile):  # noqa: F811
    write_config(sshd.config_toml("build"))
    ssh_dir = sshd.dir / "remote-home" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "id_ed25519").write_text(f"{KEY}\n")
    work = sshd.remote_workdir()
    (work / "notes.txt").write_text("granted-and-readable\n")
    # The agent reads the key, then a file of its granted workdir, then says it is done; its
    # screen is the remote supervisor's model, read back through capture --host.
    script = (f"cat {ssh_dir / 'id_ed25519'} || echo key-refused; "
              f"cat {work / 'notes.txt'}; echo agent-done; exec sleep 600")  # fmt: skip
    done = nono("run", "--host", "build", "--detached", "--name", "reader",
                "--profile", profile, "--workdir", str(work), "--allow-cwd", "--",
                "sh", "-c", script)  # fmt: skip
    assert done.returncode == 0, done.stderr
    screen = _capture_until(nono, "agent-done", "build:reader")
    assert "agent-done" in screen
    assert "Permission denied" in screen and "key-refused" in screen
    assert KEY not in screen
    assert "granted-and-readable" in screen  # the control: a granted path reads
    # And the session is the remote host's, sandboxed there under that profile.
    (listed,) = json.loads(nono("ps", "--host", "build", "--json").stdout)
    assert (listed["name"], listed["profile"]) == ("reader", profile)
    assert "reader" not in nono("ps").stdout
