"""`nono detach`: detach whoever is attached to a session, from another terminal."""

from __future__ import annotations

import argparse

from nono.session import registry
from nono.session.client import Control


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    if args.host or ":" in args.session:  # maybe another host's: what that costs only then
        from nono.remote.target import RemoteControl, target

        host, ref = target(args.session, args.host)
        if host is not None:
            with RemoteControl(host, ref) as remote:
                count = remote.request("detach")["detached"]
            print(f"detached {count} client(s) from {remote.name}")
            return 0
    record = registry.resolve(args.session)
    with Control(record) as control:
        count = control.request("detach")["detached"]
    print(f"detached {count} client(s) from {record.name}")
    return 0
