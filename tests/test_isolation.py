"""Isolation from the rest of the machine: signals, abstract sockets, and refused syscalls."""

from __future__ import annotations

import socket
import subprocess
import uuid

import pytest


def test_child_cannot_signal_a_process_outside_its_sandbox(nono):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        r = nono("run", "--", "kill", "-TERM", str(victim.pid))
        assert r.returncode != 0
        # The sandbox has its own PID namespace: outside processes do not exist in it.
        assert "no such process" in r.stderr.lower()
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_child_can_signal_its_own_children(nono):
    r = nono("run", "--", "sh", "-c", "sleep 30 & kill -TERM $! && wait $!; echo $?")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(128 + 15)


def test_child_cannot_reach_an_abstract_socket_created_outside(nono):
    name = f"nono-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0" + name)
    server.listen()  # a listening socket accepts connects into its backlog: no thread needed
    script = f"import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\0{name}'); print('in')"
    try:
        r = nono("run", "--", "python3", "-c", script)
    finally:
        server.close()
    assert r.returncode != 0
    assert "PermissionError" in r.stderr
    assert "in" not in r.stdout


def test_child_can_use_its_own_abstract_sockets(nono):
    script = (
        "import socket\n"
        "a=socket.socket(socket.AF_UNIX); a.bind('\\0nono-own-test'); a.listen()\n"
        "b=socket.socket(socket.AF_UNIX); b.connect('\\0nono-own-test'); print('ok')\n"
    )
    r = nono("run", "--", "python3", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


SYSCALL_PROBE = """
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
nr = {nr}
ret = libc.syscall(nr, {args})
err = ctypes.get_errno()
print(errno.errorcode.get(err, err) if ret == -1 else "ALLOWED")
"""

# x86_64 numbers; the filter is built from names, so this checks what the kernel enforces.
REFUSED = {
    "ptrace": (101, "0, 0, 0, 0"),
    "io_uring_setup": (425, "1, 0"),
    "bpf": (321, "0, 0, 0"),
    "keyctl": (250, "0, 0, 0, 0, 0"),
    "add_key": (248, "0, 0, 0, 0, 0"),
    "init_module": (175, "0, 0, 0"),
    "process_vm_readv": (310, "1, 0, 0, 0, 0, 0"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_seccomp_refuses_syscall(nono, name):
    import platform

    if platform.machine() != "x86_64":
        pytest.skip("syscall numbers in this test are x86_64's")
    nr, args = REFUSED[name]
    r = nono("run", "--", "python3", "-c", SYSCALL_PROBE.format(nr=nr, args=args))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "EPERM"


def test_child_cannot_read_another_process_environment(nono):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        r = nono("run", "--", "cat", f"/proc/{victim.pid}/environ")
        assert r.returncode != 0
        assert "No such file or directory" in r.stderr
    finally:
        victim.kill()
        victim.wait()


def test_no_new_privileges_is_set(nono):
    r = nono("run", "--", "grep", "NoNewPrivs", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["NoNewPrivs:", "1"]


def test_child_is_a_landlock_domain_after_exec_of_a_shell(nono, workspace):
    r = nono("run", "--", "sh", "-c", "sh -c 'cat /etc/shadow'")
    assert r.returncode != 0
    assert "Permission denied" in r.stderr


def test_grandchildren_can_read_their_own_proc_self(nono):
    r = nono(
        "run", "--", "sh", "-c", "sh -c 'head -1 /proc/self/status; ls /proc/self/fd >/dev/null'"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Name:")


def test_admin_capabilities_are_dropped_even_for_root(nono):
    r = nono("run", "--", "grep", "CapBnd", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    bounding = int(r.stdout.split()[1], 16)
    for cap in (19, 21, 38, 39, 40):  # SYS_PTRACE, SYS_ADMIN, PERFMON, BPF, CHECKPOINT_RESTORE
        assert not bounding & (1 << cap), f"capability {cap} kept"
