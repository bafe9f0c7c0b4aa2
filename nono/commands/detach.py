"""`nono detach`: detach whoever is attached to a session, from another terminal."""

from __future__ import annotations

import argparse

from nono.session import registry
from nono.session.client import Control


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    record = registry.resolve(args.session)
    with Control(record) as control:
        count = control.request("detach")["detached"]
    print(f"detached {count} client(s) from {record.name}")
    return 0
