"""Start a command in a fresh confined process: fork, enforce, exec; report failures exactly."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import signal
import struct
import sys
import termios
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from nono import __version__
from nono.errors import NonoError
from nono.sandbox import env as env_mod
from nono.sandbox.caps import drop_bounding
from nono.sandbox.kernel import Kernel, Plan, plan, probe
from nono.sandbox.limits import (
    CgroupExit,
    CgroupJoin,
    leave_cgroup,
    open_exit,
    set_rlimit,
)
from nono.sandbox.mounts import cloexec_from, close_all_but
from nono.sandbox.policy import Policy, evaluate
from nono.sandbox.view import View, enter_namespaces, host_socket_paths, map_root, plan_view
from nono.sandbox.view import build as build_view

if TYPE_CHECKING:
    import socket

PR_SET_PDEATHSIG = 1

EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127


@dataclass
class Prepared:
    """Everything the child needs, built (and checked) in the parent before fork."""

    policy: Policy
    plan: Plan
    argv: list[str]
    program: str
    env: dict[str, str]
    ruleset: Any  # landlockpy.Ruleset
    filter: Any  # pyseccomp.SyscallFilter
    view: View
    cgroup: CgroupJoin | None = None  # root's process bound, being joined (limits.CgroupJoin)

    def close(self) -> None:
        self.ruleset.close()
        if self.cgroup is not None:
            self.cgroup.leave()  # a no-op once spawn() left it; else the caller stays bounded


class CommandNotFound(NonoError):
    exit_code = EXIT_NOT_FOUND


def nono_vars(policy: Policy, plan: Plan) -> dict[str, str]:
    """What the child is told about its sandbox."""
    return {
        "NONO_SANDBOXED": "1",
        "NONO_VERSION": __version__,
        "NONO_PROFILE": policy.profile or "",
        "NONO_NETWORK": policy.network.mode,
        "NONO_WORKDIR": policy.workdir,
        "NONO_WRITABLE": os.pathsep.join(policy.writable_roots()),
        "NONO_LANDLOCK_ABI": str(plan.abi),
        "TMPDIR": "/tmp",  # the host's TMPDIR is not in the view; the private /tmp is
        # A prompt marker for shells: PS1='$NONO_PS1'"$PS1" in a shell's rc file.
        "NONO_PS1": f"[nono:{policy.profile or 'default'}] ",
    }


def prepare(
    policy: Policy,
    argv: list[str],
    environ: Mapping[str, str],
    kernel: Kernel | None = None,
    cgroup: CgroupJoin | None = None,
) -> Prepared:
    """Everything the child needs, checked before fork. `cgroup`: root's process bound, begun
    early by the caller to overlap its wait; started here when the caller did not."""
    from nono.sandbox.landlock import build_ruleset
    from nono.sandbox.seccomp import build_filter

    if not argv:
        raise NonoError("no command given", "usage: nono run [options] -- COMMAND [ARGS...]")
    the_plan = plan(policy, kernel or probe())
    port = None
    extra = nono_vars(policy, the_plan)
    if the_plan.private_net:
        from nono.sandbox import hosts, netns

        net = policy.network
        port = netns.choose_port((*net.open_ports, *net.connect_ports))
        extra.update(hosts.proxy_env(port, net))
    child_env = env_mod.sanitize(environ, policy.env, extra)
    program = resolve_program(argv[0], child_env.get("PATH", os.defpath), policy.workdir)
    decision = evaluate(policy, program, "read")
    if not decision.allowed:
        hint = f"grant it with {decision.suggestion}" if decision.suggestion else decision.reason
        raise NonoError(f"{argv[0]} ({program}) cannot be run inside the sandbox", hint)
    the_view = plan_view(policy, environ, nono_code(), prepare=True)._replace(proxy_port=port)
    ruleset = build_ruleset(policy, the_plan, port)
    try:
        flt = build_filter(the_plan)
    except BaseException:
        ruleset.close()
        raise
    bound = the_view.processes
    if cgroup is None and bound and bound.cgroup_parent:
        cgroup = CgroupJoin(bound)
    return Prepared(
        policy, the_plan, list(argv), program, child_env, ruleset, flt, the_view, cgroup
    )


def nono_code() -> tuple[str, ...]:
    """What runs, or is read as policy, when the person next types `nono`: its package, its
    built-in profiles and keymaps (shipped beside it, not inside it, in a checkout), and the
    Python environment it is installed in. An agent that could change any of them would run
    code outside, or weaken its own next sandbox."""
    import nono.keymaps
    import nono.profiles

    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    out = [package]
    for init in (nono.profiles.__file__, nono.keymaps.__file__):  # shipped as packages of data
        out.append(os.path.dirname(os.path.realpath(init)))
    if sys.prefix not in ("/", "/usr", "/usr/local"):
        out.append(os.path.realpath(sys.prefix))
    return tuple(dict.fromkeys(out))


def resolve_program(name: str, path: str, workdir: str) -> str:
    if "/" in name:
        return os.path.realpath(os.path.join(workdir, name))
    found = shutil.which(name, path=path)
    if not found:
        raise CommandNotFound(f"command not found: {name}")
    return os.path.realpath(found)


class Terminal(NamedTuple):  # a NamedTuple: see view.Bind
    """A PTY made inside the sandbox's own devpts: its master goes back over `channel`."""

    cols: int
    rows: int
    channel: int


def _new_pty(terminal: Terminal) -> str:
    """In the sandbox's init: a PTY of the sandbox's devpts (so the agent's terminal has a
    name that resolves inside, and no other terminal is in reach); the master is sent to the
    supervisor. Returns the slave's path."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
        size = struct.pack("HHHH", terminal.rows, terminal.cols, 0, 0)
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)
        import socket  # sessions only: 2 ms of a direct run's start-up otherwise

        with socket.socket(fileno=os.dup(terminal.channel)) as channel:
            socket.send_fds(channel, [b"m"], [master])
    finally:
        os.close(master)
    return f"/dev/pts/{number}"


TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430


def _report(errfd: int, code: int, message: str) -> NoReturn:
    try:
        os.write(errfd, f"{code}\0{message}".encode())
    finally:
        os._exit(code)


def _failure(stage: str, exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, OSError):
        if stage == "exec":
            return EXIT_CANNOT_EXECUTE, f"cannot execute the command: {exc.strerror}"
        detail = exc.strerror or str(exc)
        if stage == "namespaces":
            detail += "; " + USERNS_HINT
        return 1, f"cannot sandbox the child ({stage}): {detail}"
    return 1, f"cannot sandbox the child ({stage}): {exc}"


USERNS_HINT = "the private view needs user namespaces: check `nono setup --check-only`"

# Signals a supervisor or the terminal sends that the sandbox passes on to the agent.
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT)  # fmt: skip


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _child(
    prepared: Prepared,
    errfd: int,
    terminal: Terminal | None,
    maps: tuple[int, int] | None,
    proxy_channel: int | None = None,
) -> NoReturn:
    """The child's first process: enters the namespaces, then relays signals to the sandbox's
    init and its exit status back. Any failure is written to errfd and ends the child.
    `proxy_channel`: where the proxy's listening socket goes, made in the child's own network
    namespace."""
    stage = "setup"
    try:
        # Die with the parent: a supervisor that is gone must not leave an agent running.
        _die_with_parent()
        for sig in (*FORWARDED, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.setpgid(0, 0)  # the supervisor signals the group it knows
        keep = {errfd, *(maps or ()), prepared.ruleset.fileno()}
        keep |= {terminal.channel} if terminal else set()
        close_all_but(keep | ({proxy_channel} if proxy_channel is not None else set()))
        # Root's cgroup was joined before the fork (see spawn); this process removes it at the end.
        cgroup = open_exit(prepared.cgroup.path) if prepared.cgroup else None
        # Read while this process still shares the host's network namespace (see view.build).
        host_sockets = host_socket_paths()
        stage = "namespaces"
        enter_namespaces(prepared.view, maps)
        if prepared.view.proxy_port is not None:
            stage = "network namespace"
            if proxy_channel is None:
                raise OSError(errno.EINVAL, "no channel for the proxy's socket")
            from nono.sandbox.netns import hand_over_listener

            hand_over_listener(proxy_channel, prepared.view.proxy_port)
        init = os.fork()
        if init == 0:
            _init(prepared, errfd, terminal, host_sockets)
        os.close(errfd)
        if terminal:
            os.close(terminal.channel)
    except BaseException as exc:  # anything here must be reported, not raised
        _report(errfd, *_failure(stage, exc))
    _relay_until_exit(init, lambda sig: os.kill(init, sig), cgroup)


def _relay_until_exit(
    pid: int, forward: Callable[[int], None], cgroup: CgroupExit | None = None
) -> NoReturn:
    """Pass signals to `pid`; reap every child; leave with `pid`'s status once it ends."""

    def handler(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            forward(signum)

    for sig in FORWARDED:
        signal.signal(sig, handler)
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if done == pid:
            break
    if cgroup:
        leave_cgroup(cgroup)
    if os.WIFSIGNALED(status) and os.getpid() != 1:
        died_of = os.WTERMSIG(status)
        signal.signal(died_of, signal.SIG_DFL)
        os.kill(os.getpid(), died_of)
    os._exit(exit_code(status))


def _init(
    prepared: Prepared, errfd: int, terminal: Terminal | None, host_sockets: list[str]
) -> NoReturn:
    """PID 1 of the sandbox: builds the view, starts the agent, reaps orphans. When it exits
    the kernel kills every process left in the namespace: nothing outlives the session."""
    stage = "view"
    try:
        _die_with_parent()
        rules = build_view(prepared.view, host_sockets)
        slave = None
        if terminal is not None:
            stage = "terminal"
            slave = _new_pty(terminal)
        bound = prepared.view.processes
        if bound and not bound.cgroup_parent:
            stage = "process bound"
            set_rlimit(bound)
        agent = os.fork()
        if agent == 0:
            _agent(prepared, errfd, slave, rules)
        os.close(errfd)
    except BaseException as exc:
        _report(errfd, *_failure(stage, exc))

    def forward(sig: int) -> None:
        with contextlib.suppress(OSError):
            os.killpg(agent, sig)
        os.kill(agent, sig)

    _relay_until_exit(agent, forward)


def _agent(prepared: Prepared, errfd: int, slave: str | None, rules: list) -> NoReturn:
    """The agent's process: its own session (and terminal), then Landlock, seccomp, exec."""
    stage = "setup"
    try:
        _die_with_parent()
        for sig in FORWARDED:
            signal.signal(sig, signal.SIG_DFL)
        # Its own session, never the person's: TIOCSTI and job control stay out of reach.
        os.setsid()
        if slave is not None:
            stage = "terminal"
            fd = os.open(slave, os.O_RDWR)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
            for target in (0, 1, 2):
                os.dup2(fd, target)
            os.close(fd)
        stage = "capabilities"
        drop_bounding()
        stage = "chdir"
        os.chdir(prepared.policy.workdir)
        stage = "landlock"
        from nono.sandbox.landlock import add_rules  # loaded already by prepare()

        add_rules(prepared.ruleset, prepared.plan, rules)
        prepared.ruleset.restrict()
        stage = "seccomp"
        prepared.filter.load()
        # Descriptors the caller leaked (exec 7>>~/.bashrc) must not reach the agent.
        cloexec_from(3)
        stage = "exec"
        os.execve(prepared.program, prepared.argv, prepared.env)
    except BaseException as exc:
        code, message = _failure(stage, exc)
        if stage == "exec":
            message = f"cannot execute {prepared.argv[0]}: {getattr(exc, 'strerror', exc)}"
        _report(errfd, code, message)


@dataclass(frozen=True)
class Started:
    pid: int
    master: int | None = None  # the PTY's master, when spawn() was asked for a terminal
    # With a host list: the proxy's listening socket, bound in the child's network namespace.
    proxy: socket.socket | None = None


class ChildSetupFailed(NonoError):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def spawn(
    prepared: Prepared,
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    terminal: tuple[int, int] | None = None,
) -> Started:
    """Fork the confined child. Returns once it has exec'd; raises if it could not.

    With `terminal` (cols, rows) the child gets a new PTY, made inside its sandbox, as its
    controlling terminal and standard streams; Started.master is the PTY's master."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    if terminal or prepared.view.proxy_port is not None:
        import socket
    pair = None
    if terminal:
        pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    proxy_pair = None
    if prepared.view.proxy_port is not None:
        proxy_pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # Root's namespace maps are written from here (see view.enter_namespaces).
    asked = os.pipe2(os.O_CLOEXEC) if prepared.view.uid == 0 else None
    answer = os.pipe2(os.O_CLOEXEC) if prepared.view.uid == 0 else None
    if prepared.cgroup is not None:
        prepared.cgroup.wait()  # the child is forked inside it
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        maps = None
        if asked and answer:
            os.close(asked[0])
            os.close(answer[1])
            maps = (asked[1], answer[0])
        try:
            for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
                if fd is not None and fd != target:
                    os.dup2(fd, target)
        except OSError as exc:
            os.write(write_end, f"1\0cannot set up standard streams: {exc}".encode())
            os._exit(1)
        pty_request = None
        if pair and terminal:
            pair[0].close()
            pty_request = Terminal(terminal[0], terminal[1], pair[1].detach())
        proxy_channel = None
        if proxy_pair:
            proxy_pair[0].close()
            proxy_channel = proxy_pair[1].detach()
        _child(prepared, write_end, pty_request, maps, proxy_channel)
    if prepared.cgroup is not None:
        prepared.cgroup.leave()
    os.close(write_end)
    if asked and answer:
        os.close(asked[1])
        os.close(answer[0])
        try:
            if os.read(asked[0], 1) == b"1":
                try:
                    map_root(pid)
                    os.write(answer[1], b"1")
                except OSError:
                    os.write(answer[1], b"0")
        finally:
            os.close(asked[0])
            os.close(answer[1])
    proxy = None
    if proxy_pair:
        proxy_pair[1].close()
        from nono.sandbox.netns import receive_listener

        with proxy_pair[0]:
            proxy = receive_listener(proxy_pair[0])
    master = None
    if pair:
        pair[1].close()
        with pair[0]:
            _, fds, _, _ = socket.recv_fds(pair[0], 16, 1)
        master = fds[0] if fds else None
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    if not chunks and proxy_pair and proxy is None:
        # Never run without the host list: a child whose proxy socket did not arrive is
        # ended, not left running with a network no one enforces.
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        chunks = [b"1\0cannot sandbox the child (network namespace): the proxy's socket did "
                  b"not arrive"]  # fmt: skip
    if chunks:
        if master is not None:
            os.close(master)
        if proxy is not None:
            proxy.close()
        code_text, _, message = b"".join(chunks).decode(errors="replace").partition("\0")
        os.waitpid(pid, 0)
        raise ChildSetupFailed(message, int(code_text or 1))
    if master is not None:
        os.set_inheritable(master, False)
    return Started(pid, master, proxy)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + signal number."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code
