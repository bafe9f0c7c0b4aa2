"""`nono run --host NAME ...`: the same command run by the nono on that host, over ssh, so
that the session, its sandbox and its paths (--workdir, --allow) are that host's. What it
prints comes back cleaned, line by line.

With --detached that is all. Without, it is what an attached run is here: the session starts
there (detached, at this terminal's size), then this terminal attaches to it through the same
raw attach and passthrough filter as `nono attach HOST:NAME`; the detach sequence leaves it
running there, and its agent's exit code is this command's."""

from __future__ import annotations

import argparse
import os
import re
import sys

from nono.errors import NonoError
from nono.remote.command import run_on_hosts
from nono.remote.hosts import Host, resolve
from nono.session.activity import clean_text

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from nono.config import Config

_STARTED = re.compile(r"^([0-9a-f]{1,64}) (\S{1,200})(?: rollback ([0-9a-f]{1,64}))?$")


def without_host(argv: list[str]) -> list[str]:
    """The typed arguments less `--host NAME` / `--host=NAME`: the rest means the same there."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--host":
            skip = True
        elif not arg.startswith("--host="):
            out.append(arg)
    return out


def remote_run_argv(args: argparse.Namespace, extra: Sequence[str] = ()) -> list[str]:
    """`run`, the options as typed (less --host; `extra` added), `--` and the command. A
    command typed without `--` is at the end of what was typed: it is taken off there, once."""
    from nono.cli import build_parser

    typed = list(getattr(args, "argv", None) or ["run"])
    again, _ = build_parser(only="run").parse_known_args(typed)
    remainder = len(getattr(again, "cmd", None) or [])
    options = without_host(typed[: len(typed) - remainder])
    if options[:1] == ["run"]:
        options = options[1:]
    return ["run", *extra, *options, "--", *args.cmd]


def run_detached(args: argparse.Namespace) -> int:
    from nono.config import load_config

    config = load_config()
    host = resolve(args.host, config.hosts)
    if not args.detached and not args.dry_run:
        return run_attached(args, config, host)
    (outcome,) = run_on_hosts([host], remote_run_argv(args))
    if outcome.error is not None:  # its last line of error is in it
        raise NonoError(f"host {host.name}: {outcome.error}")
    for line in outcome.said.decode(errors="replace").splitlines():
        if line.strip():
            print(clean_text(line, 1000), file=sys.stderr)
    for line in outcome.output.decode(errors="replace").splitlines():
        print(clean_text(line, 10_000))
    return 0


def run_attached(args: argparse.Namespace, config: Config, host: Host) -> int:
    from nono.remote import oneshot
    from nono.session.client import terminal_size

    if not os.isatty(0) or not os.isatty(1):
        raise NonoError("nono run --host without --detached needs a terminal",
                        f"add --detached, then: nono attach {host.name}:NAME")  # fmt: skip
    extra = ["--detached"]
    if args.size is None:  # the session starts at this terminal's size, as a local run does
        cols, rows = terminal_size(1)
        extra += ["--size", f"{min(max(cols, 2), 1000)}x{min(max(rows, 2), 500)}"]
    # No time limit: a --rollback baseline of a large tree takes what it takes (Ctrl-C ends it).
    done = oneshot.run(host, remote_run_argv(args, extra), timeout=None)
    if done.code != 0:  # it did not start, or its agent exited at once: that host's words
        return oneshot.outcome(host, done)
    lines = [ln for ln in done.output.decode(errors="replace").splitlines() if ln.strip()]
    started = _STARTED.match(lines[-1]) if lines else None
    if started is None:
        raise NonoError(f"host {host.name}: its nono run answered no session id",
                        "is the nono there the same as this one? (nono --version)")  # fmt: skip
    oneshot.show_said(host, done)
    session_id, name, rollback_id = started.groups()
    where = f"{host.name}:{clean_text(name)}"
    if not args.silent:
        print(f"nono: session {where} started on {host.name} (sandboxed there); "
              f"detach {config.ui.detach_sequence}", file=sys.stderr)  # fmt: skip
    code = _attach(args, config, host, session_id, where)
    if rollback_id is not None and code is not None and not args.silent:
        if args.no_rollback_prompt or not os.isatty(0):
            rb = f"--host {host.name} {rollback_id}"
            print(f"nono: rollback on {host.name}: see it with: nono rollback show {rb}; undo "
                  f"with: nono rollback restore {rb}", file=sys.stderr)  # fmt: skip
        else:  # as after a local run: what it changed there, and keep it or undo it
            from nono.remote.rollbacks import review_on_host

            review_on_host(host, rollback_id)
    return 0 if code is None else code


def _attach(args: argparse.Namespace, config: Config, host: Host, session_id: str,
            where: str) -> int | None:  # fmt: skip
    """The agent's exit code once it exits; None when this terminal detached from it."""
    from nono.remote.target import dial
    from nono.remote.wire import LinkLost
    from nono.session.client import attach

    try:
        result = attach(None, detach_keys=config.detach_keys, clipboard=config.ui.clipboard,
                        dial=dial(host, session_id))  # fmt: skip
    except LinkLost:
        raise
    except NonoError:  # no supervisor answers for it any more: it ran and ended already
        return _ended_before_attach(host, session_id, where)
    if result.how == "detached":
        print(f"[detached from session {where}; back with: nono attach {where}]",
              file=sys.stderr)  # fmt: skip
        return None
    if result.how == "exited":
        return result.exit_code if result.exit_code is not None else 1
    print(f"[lost session {where}: {clean_text(result.reason)}; it may run on there: "
          f"nono ps --host {host.name}]", file=sys.stderr)  # fmt: skip
    return 1


def _ended_before_attach(host: Host, session_id: str, where: str) -> int:
    """An agent quicker than the attach: its last screen and its exit code, from that host's
    nono (which keeps both)."""
    from nono.remote import oneshot
    from nono.remote.target import clean_screen

    shown = oneshot.run(host, ["capture", session_id])
    if shown.code == 0:
        sys.stdout.write(clean_screen(shown.output.decode(errors="replace"), ansi=False))
    done = oneshot.run(host, ["inspect", "--json", session_id])
    if done.code != 0:
        return oneshot.outcome(host, done)
    code = oneshot.strict_json(host, done.output, dict).get("exit_code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    print(f"nono: {where} ended and its exit code is unknown", file=sys.stderr)
    return 1
