"""Shared fixtures: every test gets its own HOME and XDG dirs, outside the temp directories.

Inside the sandbox /tmp, /var/tmp and /dev/shm are private (fresh, empty), so a test HOME there
would simply be absent, not present-and-refused, and the tests that assert what the kernel
refuses would test the wrong wall. Test dirs live under the invoking user's cache directory
(the one writable place every user has outside them), or $NONO_TEST_TMPDIR; the real HOME only
holds them: every test still gets a HOME of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_OWN_BASETEMP: Path | None = None


# What a person's shell exports must not reach the tests' shells and terminals: an activated
# venv exports PS1 (tests wait for bash's own prompt), a tmux pane exports TMUX.
_CALLERS_SHELL = ("PS1", "PROMPT_COMMAND", "TMUX", "TMUX_PANE", "NONO_PS1", "NONO_SANDBOXED")


def pytest_configure(config: pytest.Config) -> None:
    global _OWN_BASETEMP
    for name in _CALLERS_SHELL:
        os.environ.pop(name, None)
    if not config.option.basetemp:
        root = os.environ.get("NONO_TEST_TMPDIR") or _user_cache() / "nono-pytest"
        root = Path(root)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        _OWN_BASETEMP = root / f"{os.getuid()}-{os.getpid()}"
        config.option.basetemp = str(_OWN_BASETEMP)


def _user_cache() -> Path:
    import pwd

    return Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_BASETEMP is not None:
        shutil.rmtree(_OWN_BASETEMP, ignore_errors=True)


def kill_supervisors(state_home: Path) -> None:
    """Sessions outlive their clients by design; a test must still end what it started."""
    import json
    import signal

    sessions = state_home / "nono" / "sessions"
    if not sessions.is_dir():
        return
    for path in sessions.glob("*.json"):
        if path.name.endswith(".final.json"):
            continue
        with contextlib.suppress(OSError, ValueError, KeyError):
            os.kill(json.loads(path.read_text())["supervisor_pid"], signal.SIGKILL)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh home directory with secrets in it, and XDG dirs of its own."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text("[default]\naws_secret_access_key=x\n")
    (home / ".bashrc").write_text("# rc\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("TMPDIR", raising=False)
    yield home
    kill_supervisors(tmp_path / "state")


@pytest.fixture
def workspace(home: Path) -> Path:
    """A project directory inside the test's home, with one file in it."""
    work = home / "project"
    work.mkdir()
    (work / "README.md").write_text("hello\n")
    return work


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str):
    """A tmpfs of `size` mounted at `path` for a full-disk test; skips where mounting is not
    allowed (an ordinary user), and is unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


RunNono = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def nono(workspace: Path) -> RunNono:
    """Run the real CLI (`python -m nono ...`) in the workspace; returns the finished process."""

    def run(
        *args: str, cwd: Path | None = None, timeout: float = 60, **kw
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "nono", *args],
            cwd=cwd or workspace,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            **kw,
        )

    return run
