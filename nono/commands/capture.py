"""`nono capture`: the session's screen (and scrollback) as text, like tmux capture-pane -p."""

from __future__ import annotations

import argparse
import sys

from nono.errors import NonoError
from nono.session import registry
from nono.session.client import Control

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from nono.remote.hosts import Host


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")
    parser.add_argument(
        "--history",
        "-S",
        type=int,
        default=0,
        metavar="N",
        help="also the last N lines of scrollback",
    )
    parser.add_argument("--ansi", "-e", action="store_true", help="keep colours and attributes")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    host, ref = None, args.session
    if args.host or ":" in ref:  # maybe another host's: what that costs only then
        from nono.remote.target import target

        host, ref = target(args.session, args.host)
    if host is not None:
        return _capture_remote(host, ref, args)
    record = registry.resolve(args.session)
    if record.status == registry.EXITED:
        text = _final(record, args)
    else:
        with Control(record) as control:
            text = control.request("capture", history=args.history, ansi=args.ansi)["text"]
    sys.stdout.write(text + "\n")
    return 0


def _capture_remote(host: Host, ref: str, args: argparse.Namespace) -> int:
    """The screen from the session's supervisor there; an exited session's last screen from
    that host's nono, which keeps it. Either way cleaned: it is another host's."""
    from nono.remote.target import RemoteControl, clean_screen
    from nono.remote.wire import LinkLost

    try:
        remote = RemoteControl(host, ref)
    except LinkLost:
        raise
    except NonoError:  # no supervisor answers for it there: exited, or no such session
        from nono.remote import oneshot

        wanted = ["capture", "--history", str(args.history), *(["--ansi"] if args.ansi else [])]
        done = oneshot.run(host, [*wanted, ref])
        if done.code == 0:
            sys.stdout.write(clean_screen(done.output.decode(errors="replace"), args.ansi))
        return oneshot.outcome(host, done)
    with remote:
        answer = remote.request("capture", history=args.history, ansi=args.ansi)
    sys.stdout.write(clean_screen(str(answer.get("text", "")), args.ansi) + "\n")
    return 0


def _final(record: registry.Record, args: argparse.Namespace) -> str:
    """An exited session keeps its last screen and up to 2000 lines of scrollback."""
    final = registry.read_final(record)
    if final is None:
        raise NonoError(f"session {record.name} exited and left no screen")
    text = final["capture_ansi" if args.ansi else "capture"]
    lines = text.split("\n")
    screen_rows = record.size[1]
    keep = screen_rows + max(0, args.history)
    return "\n".join(lines[-keep:])
