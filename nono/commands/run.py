"""`nono run`: run a command in the sandbox, pass its exit code through, explain refusals."""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys

from nono.commands.options import add_sandbox_options, options_from_args
from nono.errors import NonoError
from nono.progress import Progress
from nono.sandbox import agent as agent_mod
from nono.sandbox import denials
from nono.sandbox import env as env_mod
from nono.sandbox.build import build_policy
from nono.sandbox.build import expand as expand_path
from nono.sandbox.launcher import (
    ChildSetupFailed,
    Prepared,
    exit_code,
    prepare,
    spawn,
)
from nono.sandbox.policy import Access
from nono.sandbox.profile import resolve

STDERR_TAIL = 256 * 1024


def configure(parser: argparse.ArgumentParser) -> None:
    add_sandbox_options(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the effective policy and the command; run nothing",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="with --dry-run: every path, skipped paths, environment changes",
    )
    parser.add_argument("--json", action="store_true", help="with --dry-run: JSON output")
    parser.add_argument("--silent", "-s", action="store_true", help="no output of nono's own")
    session = parser.add_argument_group("session")
    session.add_argument(
        "--detached",
        "-d",
        action="store_true",
        help="start the session in the background and print its id",
    )
    session.add_argument("--name", "-n", help="a name for the session (default: COMMAND-xxxx)")
    session.add_argument(
        "--host",
        metavar="HOST",
        help="start the session on this host ([hosts.NAME] of config.toml, or user@host), "
        "over ssh (attached to this terminal, or --detached)",
    )
    session.add_argument(
        "--size",
        type=_size,
        default=None,
        metavar="COLSxROWS",
        help="terminal size until a client attaches (default 80x24)",
    )
    undo = parser.add_argument_group("rollback")
    undo.add_argument(
        "--rollback",
        action="store_true",
        help="snapshot the writable directories before and after, to undo later",
    )
    undo.add_argument(
        "--no-rollback-prompt",
        action="store_true",
        help="no review of the changes after an interactive run",
    )
    undo.add_argument(
        "--rollback-exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="a gitignore-style pattern to leave out of the snapshots",
    )
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")


def _size(text: str) -> tuple[int, int]:
    cols, sep, rows = text.lower().partition("x")
    try:
        size = int(cols), int(rows)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected COLSxROWS, e.g. 120x40, not {text!r}") from None
    if not sep or not (2 <= size[0] <= 1000 and 2 <= size[1] <= 500):
        raise argparse.ArgumentTypeError(f"expected COLSxROWS within 2x2..1000x500, not {text!r}")
    return size


def execute(args: argparse.Namespace) -> int:
    if not args.cmd:
        raise NonoError("no command given", "usage: nono run [options] -- COMMAND [ARGS...]")
    if args.host:
        from nono.remote.forward import run_detached

        return run_detached(args)
    environ = dict(os.environ)
    if args.detached:  # drawn by nono's terminal model, not the terminal this was typed in
        environ = env_mod.rendered_by_model(environ)
    options = options_from_args(args)
    profile = resolve(options.profile or "default")
    cgroup = None if args.dry_run else _join_cgroup_early(options, profile)
    cwd = os.getcwd()

    def expand(text: str) -> str:
        return os.path.abspath(expand_path(text, environ, cwd))

    if not args.dry_run:
        # The agent's own state exists before the policy is made, so that it is granted.
        for step in agent_mod.prepare(profile.agent, expand, _refuse_secret(environ)):
            if not args.silent:
                print(f"nono: {step.text}", file=sys.stderr)
    policy = build_policy(options, environ, os.getcwd(), profile)
    excludes = (*profile.rollback_exclude, *args.rollback_exclude)
    steps = agent_mod.plan(profile.agent, args.cmd, expand)
    if args.dry_run:
        return _dry_run(policy, args, environ, profile, steps, expand)
    for step in steps:
        if step.what == "both" and not args.silent:
            print(f"nono: {step.text}", file=sys.stderr)
    # The command as the agent runs it; args.cmd stays as typed (a restart replays it).
    cmd = agent_mod.with_args(profile.agent, args.cmd)
    interactive = os.isatty(0) and os.isatty(1)
    if args.detached or interactive:
        from nono.session import registry

        registry.refuse_inside_sandbox()
        if not policy.isolate_ipc:
            # Session sockets are abstract sockets, kept from sandboxes by Landlock's scope.
            raise NonoError(
                "--unscoped cannot run as a session: the agent could reach session sockets",
                "run it without a terminal (pipe its output) or on a kernel with Landlock ABI 6",
            )
        prepared = prepare(policy, cmd, environ, cgroup=cgroup)
        return run_session(prepared, args, excludes, agent_kind(profile, args.cmd))
    # Pipes and scripts run directly: no PTY to turn their bytes into terminal output.
    # CommandNotFound exits 127, like a shell
    prepared = prepare(policy, cmd, environ, cgroup=cgroup)
    rb = start_rollback(policy, args, excludes, None) if args.rollback else None
    code = run_foreground(prepared, silent=args.silent)
    if rb is not None:
        with Progress("Snapshotting", enabled=False if args.silent else None) as progress:
            rb.snapshot(progress=progress)
        if not args.silent:
            count = len(rb.changes()) + len(rb.ref_changes())
            print(f"nono: rollback {rb.id}: {count} change(s); undo with: "
                  f"nono rollback restore {rb.id}" if count else
                  f"nono: rollback {rb.id}: no changes", file=sys.stderr)  # fmt: skip
        from nono.commands.review import apply_retention

        for line in apply_retention(rb.id):  # as a session's supervisor does after its own
            if not args.silent:
                print(line, file=sys.stderr)
    return code


def _refuse_secret(environ: dict[str, str]):
    """The policy's own refusal (check_conflicts), for a directory nono is about to make."""
    from nono.sandbox.build import protected_paths
    from nono.sandbox.policy import Grant, check_conflicts

    protected = protected_paths(environ.get("HOME") or os.path.expanduser("~"))

    def refuse(path: str, source: str) -> None:
        real = os.path.realpath(path)
        check_conflicts([Grant(real, Access.READWRITE, False, source, path)], protected)

    return refuse


def _join_cgroup_early(options, profile):
    """Root's process bound is a cgroup whose joining waits on the kernel for ~12 ms: begun
    here, it overlaps the policy's construction (see limits.CgroupJoin)."""
    from nono.sandbox.limits import CgroupJoin, plan_bound

    limit = options.max_processes if options.max_processes is not None else profile.max_processes
    bound = plan_bound(limit)
    return CgroupJoin(bound) if bound and bound.cgroup_parent else None


def rollback_roots(policy) -> list[str]:
    """The directories the person granted for writing; system groups and profiles are not
    the agent's work, so they are not snapshotted."""
    own = ("--allow", "--write", "--allow-cwd")
    roots = [g.path for g in policy.grants
             if g.source in own and not g.is_file and Access.WRITE in g.access]  # fmt: skip
    return list(dict.fromkeys(roots))


def start_rollback(policy, args: argparse.Namespace, excludes, session_id: str | None):
    """The baseline snapshot, durable before the agent starts (or the run is refused)."""
    from nono.rollback import Options, Rollback

    roots = rollback_roots(policy)
    if not roots:
        raise NonoError("--rollback has nothing to snapshot: no writable directory was granted",
                        "grant one with --allow-cwd or --allow DIR")  # fmt: skip
    with Progress("Snapshotting", enabled=False if args.silent else None) as progress:
        rb = Rollback.create(roots, Options(excludes=tuple(excludes)), session_id=session_id,
                             command=args.cmd, progress=progress)  # fmt: skip
    if not args.silent:
        for notice in rb.snapshots()[0].notices:
            print(f"nono: rollback: {notice}", file=sys.stderr)
    return rb


def run_options(args: argparse.Namespace) -> dict[str, object]:
    """How to start this session again (the multiplexer's restart): the options as typed,
    the command, and where it was started."""
    options = list(getattr(args, "argv", None) or [])
    if options[:1] == ["run"]:
        options = options[1:]
    # Without `--`, argparse took the command from the end of what was typed.
    tail = len(args.cmd)
    if tail and options[-tail:] == list(args.cmd):
        options = options[:-tail]
    return {"options": options, "command": list(args.cmd), "cwd": os.getcwd()}


def agent_kind(profile, cmd: list[str]) -> str | None:
    """The agent kind whose screen rules read this session: the profile's, when the command is
    its agent (`--profile claude-code -- bash` is a shell), else none (the generic rules)."""
    if profile.agent.kind and agent_mod.is_the_agent(profile.agent, cmd):
        return profile.agent.kind
    return None


def run_session(
    prepared: Prepared, args: argparse.Namespace, excludes=(), kind: str | None = None
) -> int:
    """Through a supervisor with a PTY: detached, or attached to this terminal."""
    from nono.config import load_config
    from nono.session import launch
    from nono.session.client import attach, attach_message, terminal_size

    config = load_config()  # a bad config is an error before anything starts
    if args.detached:
        cols, rows = args.size or (80, 24)
    else:
        cols, rows = terminal_size(1)
    from nono.session import rules
    from nono.session.registry import new_id

    rules.load(kind)  # a broken agents file is an error here, not a silent supervisor's
    session_id = new_id()
    rb = start_rollback(prepared.policy, args, excludes, session_id) if args.rollback else None
    try:
        record = launch.start(prepared, name=args.name, cols=cols, rows=rows,
                              detached=args.detached, session_id=session_id,
                              rollback_id=rb.id if rb else None,
                              extra={"run": run_options(args)},
                              agent=kind)  # fmt: skip
    except NonoError as exc:
        from nono.session.registry import record_path

        if rb is not None and not record_path(session_id).exists():
            rb.remove()  # the agent never ran: there is nothing to undo
        output = getattr(exc, "output", "")
        if output and not args.silent:
            sys.stderr.write(output.rstrip("\n") + "\n")
        if not args.silent:
            print(f"nono: {exc.one_line()}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    if args.detached:
        print(f"{record.id} {record.name}" + (f" rollback {rb.id}" if rb else ""))
        return 0
    if not args.silent:
        print(banner(prepared.policy, config.ui.detach_sequence), file=sys.stderr)
    result = attach(record, detach_keys=config.detach_keys, clipboard=config.ui.clipboard)
    if not args.silent and result.how != "exited":  # an exit speaks through its exit code
        print(attach_message(record, result), file=sys.stderr)
    if result.how == "exited":
        code = result.exit_code if result.exit_code is not None else 1
        if code != 0 and not args.silent:
            _summarize_from_screen(prepared, record)
        if rb is not None and not args.silent:
            from nono.commands.review import review

            if args.no_rollback_prompt or not os.isatty(0):
                print(
                    f"nono: rollback {rb.id}: undo with: nono rollback restore {rb.id}",
                    file=sys.stderr,
                )
            else:
                review(rb)
            from nono.commands.review import apply_retention

            for line in apply_retention(rb.id):  # the supervisor applied it; say what it kept
                print(line, file=sys.stderr)
        return code
    return 0 if result.how == "detached" else 1


def banner(policy, detach_sequence: str) -> str:
    """The one line that says an interactive run is in the sandbox, and how to get out."""
    home = os.path.expanduser("~")

    def short(path: str) -> str:
        return (
            "~" + path[len(home) :] if home != "/" and (path + "/").startswith(home + "/") else path
        )

    # What the person asked for on the command line first, then the profile's.
    grants = sorted(policy.grants, key=lambda g: not g.source.startswith("--"))
    writable = [short(g.path) for g in grants
                if Access.WRITE in g.access and not g.source.startswith("group ")]  # fmt: skip
    shown = ", ".join(writable[:3]) + (f" (+{len(writable) - 3})" if len(writable) > 3 else "")
    net = policy.network
    network = f"{len(net.allow_hosts)} hosts" if net.filtered else net.mode
    return (
        f"nono: sandboxed ({policy.profile or 'default'}), network {network}, "
        f"detach {detach_sequence}; writable: {shown or 'nothing of yours'}"
    )


def _summarize_from_screen(prepared: Prepared, record) -> None:
    """The denial summary, read from the session's last screen and scrollback."""
    from nono.session import registry

    final = registry.read_final(record, wait=10)
    if final is None:
        return
    seen: list[str] = []
    net_seen: list[str] = []
    for line in (final.get("tail") or final.get("capture", "")).splitlines():
        seen.extend(denials.scan_line(line))
        if prepared.policy.network.filtered:
            from nono.session.egress import scan_line

            net_seen.extend(scan_line(line))
    for line in denials.render(denials.explain(prepared.policy, seen)):
        print(line, file=sys.stderr)
    if prepared.policy.network.filtered:
        from nono import paths
        from nono.session.egress import print_report

        print_report(prepared, paths.egress_log(record.id), net_seen)


def _dry_run(
    policy, args: argparse.Namespace, environ: dict[str, str], profile, steps, expand
) -> int:
    from nono.sandbox.kernel import plan, probe
    from nono.sandbox.launcher import nono_code, nono_vars
    from nono.sandbox.report import describe, render
    from nono.sandbox.view import plan_view

    the_plan = plan(policy, probe())
    child_env = env_mod.sanitize(environ, policy.env, nono_vars(policy, the_plan))
    view = plan_view(policy, environ, nono_code())
    if the_plan.private_net:
        view = view._replace(proxy_port=0)  # its own network namespace; the port is chosen at start
    cmd = agent_mod.with_args(profile.agent, args.cmd)
    info = describe(policy, the_plan, cmd, child_env, environ, view)
    info["agent"] = agent_mod.describe(profile.agent, steps, dict(policy.env.set), expand)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(render(info, args.verbose))
    return 0


def run_foreground(prepared: Prepared, *, silent: bool) -> int:
    """Run attached to this terminal. stderr is teed (when not a terminal) to explain denials."""
    capture = not silent and not os.isatty(2)
    read_end = write_end = None
    if capture:
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
    # Like system(3): the terminal's ^C and ^\ belong to the child; nono only waits. The child
    # is in a session of its own (never the person's terminal), so nono passes them on.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGQUIT)}
    egress = None
    net_seen: list[str] = []
    try:
        try:
            started = spawn(prepared, stderr=write_end)
        except ChildSetupFailed as exc:
            if not silent:
                print(f"nono: {exc.message}", file=sys.stderr)
            return exc.exit_code
        finally:
            prepared.close()
            if write_end is not None:
                os.close(write_end)
        pid = started.pid
        if started.proxy is not None:
            from nono.session.egress import serve_in_thread

            egress = serve_in_thread(prepared, started.pid, started.proxy)

        def forward(signum: int, _frame: object) -> None:
            os.kill(pid, signum)

        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
            previous.setdefault(sig, signal.signal(sig, forward))
        seen: list[str] = []
        if read_end is not None:
            _tee(read_end, pid, seen, net_seen if egress is not None else None)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        code = exit_code(status)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if read_end is not None:
            os.close(read_end)
        if egress is not None:
            egress[0].stop()
    if code != 0 and seen and not silent:
        for line in denials.render(denials.explain(prepared.policy, seen)):
            print(line, file=sys.stderr)
    if code != 0 and egress is not None and not silent:
        from nono.session.egress import print_report

        print_report(prepared, egress[1], net_seen)
    return code


def _tee(fd: int, pid: int, seen: list[str], net_seen: list[str] | None = None) -> None:
    """Copy the child's stderr to ours, noting paths on permission errors (and, with a host
    list, signs of a program going around the proxy), until it exits."""
    pidfd = os.pidfd_open(pid)
    pending = b""
    try:
        while True:
            ready, _, _ = select.select([fd, pidfd], [], [])
            if fd in ready:
                data = os.read(fd, 65536)
                if not data:
                    break
                os.write(2, data)
                pending = _scan(pending + data, seen, net_seen)
            elif pidfd in ready:
                # The child is gone; take what it left in the pipe, but don't wait on
                # grandchildren that may hold it open.
                os.set_blocking(fd, False)
                try:
                    while data := os.read(fd, 65536):
                        os.write(2, data)
                        pending = _scan(pending + data, seen, net_seen)
                except BlockingIOError:
                    pass
                break
    finally:
        os.close(pidfd)
    _scan(pending + b"\n", seen, net_seen)


def _scan(data: bytes, seen: list[str], net_seen: list[str] | None = None) -> bytes:
    *lines, rest = data.split(b"\n")
    for line in lines:
        text = line.decode(errors="replace")
        if len(seen) < 200:
            seen.extend(denials.scan_line(text))
        if net_seen is not None and len(net_seen) < 200:
            from nono.session.egress import scan_line

            net_seen.extend(scan_line(text))
    return rest[-STDERR_TAIL:]
