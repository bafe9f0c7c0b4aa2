"""`nono send-keys`: type into a session without attaching (tmux's key names, or -l literal)."""

from __future__ import annotations

import argparse

from nono.keys import send_keys_bytes
from nono.session import registry
from nono.session.client import Control

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from nono.remote.target import RemoteControl


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")
    parser.add_argument(
        "-l", "--literal", action="store_true", help="send the arguments as text, no key names"
    )
    parser.add_argument("keys", nargs="+", help="key names (Enter, C-c, Up, ...) or text")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    host, ref = None, args.session
    if args.host or ":" in ref:  # maybe another host's: what that costs only then
        from nono.remote.target import target

        host, ref = target(args.session, args.host)
    if host is not None:
        from nono.remote.target import RemoteControl

        control: Control | RemoteControl = RemoteControl(host, ref)
    else:
        control = Control(registry.resolve(ref))
    with control:
        app_cursor = bool(control.request("status").get("app_cursor"))
        data = send_keys_bytes(args.keys, literal=args.literal, app_cursor=app_cursor)
        control.request("send", hex=data.hex())
    return 0
