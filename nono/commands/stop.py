"""`nono stop`: SIGHUP and SIGTERM through the supervisor, SIGKILL after the timeout; the code
is kept."""

from __future__ import annotations

import argparse
import sys

from nono.errors import NonoError
from nono.session import registry
from nono.session.client import Control


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")
    parser.add_argument(
        "--timeout",
        "-t",
        type=float,
        default=10.0,
        help="seconds between SIGHUP/SIGTERM and SIGKILL (default 10)",
    )
    parser.add_argument("--force", "-f", action="store_true", help="SIGKILL at once")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    if args.host or ":" in args.session:  # maybe another host's: what that costs only then
        from nono.remote.target import RemoteControl, target

        host, ref = target(args.session, args.host)
        if host is not None:
            with RemoteControl(host, ref) as remote:
                how = {"timeout": args.timeout, "force": args.force}
                response = remote.request("stop", wait=args.timeout + 30, **how)
            code = response.get("exit_code")
            print(f"stopped {remote.name}: exit code {code if isinstance(code, int) else None}")
            return 0
    record = registry.resolve(args.session)
    if record.status == registry.EXITED:
        raise NonoError(f"session {record.name} has already exited ({record.state})")
    if not args.force:  # the wait can be long; say what for and how to cut it short
        name, wait = record.name, f"{args.timeout:g}s"
        print(f"nono: SIGHUP/SIGTERM to {name}: waiting up to {wait} for {name} to exit "
              "before SIGKILL; --force kills at once", file=sys.stderr)  # fmt: skip
    with Control(record) as control:
        response = control.request("stop", wait=args.timeout + 30,
                                   **{"timeout": args.timeout, "force": args.force})  # fmt: skip
    print(f"stopped {record.name} ({record.id}): exit code {response.get('exit_code')}")
    return 0
