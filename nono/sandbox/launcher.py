"""Start a command in a fresh confined process: fork, enforce, exec; report failures exactly."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from nono import __version__
from nono.errors import NonoError
from nono.sandbox import env as env_mod
from nono.sandbox.caps import drop_bounding
from nono.sandbox.kernel import Kernel, Plan, plan, probe
from nono.sandbox.policy import Policy, evaluate

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

    def close(self) -> None:
        self.ruleset.close()


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
    }


def prepare(
    policy: Policy,
    argv: list[str],
    environ: Mapping[str, str],
    kernel: Kernel | None = None,
) -> Prepared:
    from nono.sandbox.landlock import build_ruleset
    from nono.sandbox.seccomp import build_filter

    if not argv:
        raise NonoError("no command given", "usage: nono run [options] -- COMMAND [ARGS...]")
    the_plan = plan(policy, kernel or probe())
    child_env = env_mod.sanitize(environ, policy.env, nono_vars(policy, the_plan))
    program = resolve_program(argv[0], child_env.get("PATH", os.defpath), policy.workdir)
    decision = evaluate(policy, program, "read")
    if not decision.allowed:
        hint = f"grant it with {decision.suggestion}" if decision.suggestion else decision.reason
        raise NonoError(f"{argv[0]} ({program}) cannot be run inside the sandbox", hint)
    ruleset = build_ruleset(policy, the_plan)
    try:
        flt = build_filter(the_plan)
    except BaseException:
        ruleset.close()
        raise
    return Prepared(policy, the_plan, list(argv), program, child_env, ruleset, flt)


def resolve_program(name: str, path: str, workdir: str) -> str:
    if "/" in name:
        return os.path.realpath(os.path.join(workdir, name))
    found = shutil.which(name, path=path)
    if not found:
        raise CommandNotFound(f"command not found: {name}")
    return os.path.realpath(found)


def _child(prepared: Prepared, errfd: int, before: Callable[[], None] | None) -> NoReturn:
    """Runs in the forked child. Any failure is written to errfd and ends the child."""
    stage = "setup"
    code = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        # Die with the parent: a supervisor that is gone must not leave an agent running.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        if before is not None:
            before()
        stage = "capabilities"
        drop_bounding()
        stage = "chdir"
        os.chdir(prepared.policy.workdir)
        stage = "landlock"
        prepared.ruleset.restrict()
        stage = "seccomp"
        prepared.filter.load()
        stage = "exec"
        os.execve(prepared.program, prepared.argv, prepared.env)
    except OSError as exc:
        if stage == "exec":
            code = EXIT_CANNOT_EXECUTE
            message = f"cannot execute {prepared.argv[0]}: {exc.strerror}"
        else:
            message = f"cannot sandbox the child ({stage}): {exc.strerror or exc}"
    except BaseException as exc:  # anything here must be reported, not raised
        message = f"cannot sandbox the child ({stage}): {exc}"
    try:
        os.write(errfd, f"{code}\0{message}".encode())
    finally:
        os._exit(code)


@dataclass(frozen=True)
class Started:
    pid: int


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
    before: Callable[[], None] | None = None,
) -> Started:
    """Fork the confined child. Returns once it has exec'd; raises if it could not."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
                if fd is not None and fd != target:
                    os.dup2(fd, target)
        except OSError as exc:
            os.write(write_end, f"1\0cannot set up standard streams: {exc}".encode())
            os._exit(1)
        _child(prepared, write_end, before)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    if chunks:
        code_text, _, message = b"".join(chunks).decode(errors="replace").partition("\0")
        os.waitpid(pid, 0)
        raise ChildSetupFailed(message, int(code_text or 1))
    return Started(pid)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + signal number."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code
