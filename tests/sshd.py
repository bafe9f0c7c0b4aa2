"""A real OpenSSH server on 127.0.0.1 for the remote tests: its own host key, an authorised
client key and a client config, all in a temporary directory (the real ~/.ssh is never read or
written), logging in as the current user. The remote nono is this checkout's, with a state
directory of its own, so a test sees a remote host's sessions apart from the local ones.

`Sshd.start(dir)` for any caller (a benchmark, say); the `sshd` fixture for tests."""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from nono.remote.hosts import Host

SSHD = "/usr/sbin/sshd"
CHECKOUT = Path(__file__).resolve().parent.parent
ALIAS = "nono-test-host"  # the Host of the client config: what a test's address names


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)  # fmt: skip


@dataclass
class Sshd:
    dir: Path
    port: int
    process: subprocess.Popen
    user: str

    @property
    def ssh_command(self) -> str:
        """NONO_SSH_COMMAND: ssh reading only the temporary client config."""
        return f"ssh -F {shlex.quote(str(self.dir / 'ssh_config'))}"

    @property
    def address(self) -> str:
        return f"{self.user}@{ALIAS}"

    def remote_state(self) -> Path:
        """The remote side's XDG_STATE_HOME (its sessions), apart from the local one."""
        return self.dir / "remote-state"

    def nono_command(self, *, version: str | None = None) -> str:
        """The `nono` of a host config: this checkout, run by this interpreter, its state in
        remote_state(). `version` makes the remote nono claim another version (a mismatch)."""
        env = {"PYTHONPATH": str(CHECKOUT), "XDG_STATE_HOME": str(self.remote_state()),
               "XDG_CONFIG_HOME": str(self.dir / "remote-config"),
               "HOME": str(self.dir / "remote-home")}  # fmt: skip
        run = ["-m", "nono"]
        if version is not None:  # no hook in nono for this: the version is set before it runs
            code = (f"import runpy, nono; nono.__version__ = {version!r}; "
                    "runpy.run_module('nono', run_name='__main__', alter_sys=True)")  # fmt: skip
            run = ["-c", code]
        assigns = [shlex.quote(f"{k}={v}") for k, v in env.items()]
        return " ".join(["env", *assigns, shlex.quote(sys.executable),
                         *(shlex.quote(a) for a in run)])  # fmt: skip

    def host(self, name: str = "test", **kw: str | None) -> Host:
        return Host(name, self.address, (), self.nono_command(**kw))

    def config_toml(self, name: str = "test", **kw: str | None) -> str:
        """A [hosts.NAME] table for this server, for a test's config.toml."""
        return (f"[hosts.{name}]\naddress = {_toml(self.address)}\n"
                f"nono = {_toml(self.nono_command(**kw))}\n")  # fmt: skip

    def remote_workdir(self) -> Path:
        work = self.dir / "remote-home" / "project"
        work.mkdir(exist_ok=True)
        return work

    def nono(self, *args: str, host: Host | None = None, timeout: float = 60
             ) -> subprocess.CompletedProcess:  # fmt: skip
        """`nono ARGS` run on the remote side through ssh (ssh_argv), as a local nono would."""
        from nono.remote.hosts import ssh_argv

        argv = ssh_argv(host or self.host(), args, environ={"NONO_SSH_COMMAND": self.ssh_command})
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    def start_session(self, name: str, *command: str) -> None:
        """A detached session on the remote side (`nono run --detached` over ssh)."""
        done = self.nono("run", "--detached", "--name", name, "--workdir",
                         str(self.remote_workdir()), "--allow-cwd", "--", *command)  # fmt: skip
        assert done.returncode == 0, done.stderr

    @classmethod
    def start(cls, root: Path) -> Sshd:
        root.mkdir(parents=True, exist_ok=True)
        user = pwd.getpwuid(os.getuid()).pw_name
        _keygen(root / "host_key")
        _keygen(root / "client_key")
        (root / "authorized_keys").write_bytes((root / "client_key.pub").read_bytes())
        for sub in ("remote-state", "remote-config", "remote-home"):
            (root / sub).mkdir(mode=0o700, exist_ok=True)
        port = _free_port()
        (root / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {root / 'host_key'}\n"
            f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {root / 'authorized_keys'}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            f"AllowUsers {user}\nPrintMotd no\nLogLevel ERROR\n"
            # The real ~/.ssh/rc is not run, nor ~/.ssh/environment read (keys: this directory's).
            "PermitUserRC no\nPermitUserEnvironment no\n"
        )
        (root / "ssh_config").write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n"
            f"  IdentityFile {root / 'client_key'}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {root / 'known_hosts'}\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n"
        )
        if os.getuid() == 0:  # sshd's privilege separation directory (Debian makes it at boot)
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = (root / "sshd.log").open("wb")
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(root / "sshd_config")],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log)  # fmt: skip
        server = cls(root, port, process, user)
        server._wait_listening()
        return server

    def _wait_listening(self) -> None:
        # Start-up, not an assertion: how long sshd takes to bind is no behaviour of ours.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.dir / 'sshd.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kill_remote_supervisors(server: Sshd) -> None:
    from tests.conftest import kill_supervisors

    kill_supervisors(server.remote_state())


@pytest.fixture
def sshd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A running sshd for this test, NONO_SSH_COMMAND pointing at it; stopped afterwards, with
    every session the test started on its remote side."""
    if not os.path.exists(SSHD):
        pytest.skip("no sshd here (apt-get install openssh-server)")
    server = Sshd.start(tmp_path / "sshd")
    monkeypatch.setenv("NONO_SSH_COMMAND", server.ssh_command)
    try:
        yield server
    finally:
        kill_remote_supervisors(server)
        server.stop()
