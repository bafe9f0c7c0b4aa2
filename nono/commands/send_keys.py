"""`nono send-keys`: type into a session without attaching (tmux's key names, or -l literal)."""

from __future__ import annotations

import argparse

from nono.keys import send_keys_bytes
from nono.session import registry
from nono.session.client import Control


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name")
    parser.add_argument(
        "-l", "--literal", action="store_true", help="send the arguments as text, no key names"
    )
    parser.add_argument("keys", nargs="+", help="key names (Enter, C-c, Up, ...) or text")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    record = registry.resolve(args.session)
    with Control(record) as control:
        app_cursor = bool(control.request("status").get("app_cursor"))
        data = send_keys_bytes(args.keys, literal=args.literal, app_cursor=app_cursor)
        control.request("send", hex=data.hex())
    return 0
