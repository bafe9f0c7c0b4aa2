"""`nono attach`: this terminal onto a session, redrawn at once from the supervisor's model."""

from __future__ import annotations

import argparse
import os
import sys

from nono.config import load_config
from nono.errors import NonoError
from nono.session import registry
from nono.session.client import attach, attach_message

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from nono.config import Config
    from nono.remote.hosts import Host


def configure(parser: argparse.ArgumentParser) -> None:
    try:
        sequence = load_config().ui.detach_sequence
    except NonoError:  # a broken config must not hide --help; running attach reports it
        sequence = "ctrl-] d"
    parser.epilog = (
        f"detach with {sequence} (detach_sequence in [ui] of config.toml); the session keeps "
        "running and nono attach SESSION comes back to it"
    )
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")
    parser.add_argument("--read-only", "-r", action="store_true", help="watch without typing")
    parser.add_argument(
        "--steal",
        "-d",
        action="store_true",
        help="take the session over from another attached client",
    )


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    config = load_config()
    if args.host or ":" in args.session:  # maybe another host's: what that costs only then
        from nono.remote.target import target

        host, ref = target(args.session, args.host)
        if host is not None:
            return _attach_remote(args, config, host, ref)
    record = registry.resolve(args.session)
    if record.status == registry.EXITED:
        raise NonoError(
            f"session {record.name} ({record.id}) has exited ({record.state})",
            "nono capture still shows its last screen",
        )
    if not os.isatty(0) or not os.isatty(1):
        raise NonoError("nono attach needs a terminal", "use nono capture or send-keys instead")
    result = attach(record, detach_keys=config.detach_keys, read_only=args.read_only,
                    steal=args.steal, clipboard=config.ui.clipboard)  # fmt: skip
    print(attach_message(record, result), file=sys.stderr)
    if result.how == "exited":
        return result.exit_code if result.exit_code is not None else 1
    return 0 if result.how == "detached" else 1


def _attach_remote(args: argparse.Namespace, config: Config, host: Host, ref: str) -> int:
    """A session on another host, through its own ssh; its output through the same
    passthrough filter as a local agent's."""
    from nono.remote.target import dial

    if not os.isatty(0) or not os.isatty(1):
        raise NonoError("nono attach needs a terminal", "use nono capture or send-keys instead")
    result = attach(None, detach_keys=config.detach_keys, read_only=args.read_only,
                    steal=args.steal, clipboard=config.ui.clipboard,
                    dial=dial(host, ref))  # fmt: skip
    where = f"{host.name}:{ref}"
    if result.how == "detached":
        print(f"[detached from session {where}; back with: nono attach {where}]", file=sys.stderr)
        return 0
    if result.how == "exited":
        print(f"[session {where} exited with code {result.exit_code}]", file=sys.stderr)
        return result.exit_code if result.exit_code is not None else 1
    from nono.session.activity import clean_text  # the reason may be that host's words

    print(f"[lost session {where}: {clean_text(result.reason)}]", file=sys.stderr)
    return 1
