"""`nono wait`: block until a session's agent reaches a state or its screen shows a pattern.

For scripts that drive agents: `send-keys`, then `wait --state idle`, then `capture`. The
supervisor decides (it owns the state and the screen, and answers the `wait` request the moment
either is reached); this side only keeps the clock, so a timeout is ours to take: we hang up.
Exit status as timeout(1) has it: 0 reached, 124 timed out; `--state exited` is the agent's own
exit code.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from nono.commands.sessions import activity_of, state_label
from nono.errors import NonoError
from nono.session import activity as act
from nono.session import registry
from nono.session.client import Control
from nono.session.protocol import ProtocolError, Request

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from nono.remote.hosts import Host

TIMED_OUT = 124  # timeout(1)'s status, so scripts can tell "not yet" from "failed"
GONE_WITHIN = 2.0  # seconds a supervisor that hung up on a wait has to finish dying
WAITABLE = (act.WAITING, act.IDLE, act.WORKING, act.EXITED)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")
    parser.add_argument(
        "--state",
        "-s",
        choices=WAITABLE,
        help="wait until the agent is in this state (exited: exit with the agent's exit code)",
    )
    parser.add_argument(
        "--pattern",
        "-p",
        metavar="REGEX",
        help="wait until a row of the screen matches this Python regular expression",
    )
    parser.add_argument(
        "--timeout",
        "-t",
        type=float,
        metavar="SECONDS",
        help="give up after this many seconds and exit 124 (default: wait as long as it takes)",
    )


def check(args: argparse.Namespace) -> None:
    """What can be said wrong before a supervisor is asked anything."""
    if args.state is None and args.pattern is None:
        raise NonoError("nono wait needs --state or --pattern (or both)",
                        "e.g. nono wait NAME --state idle; see: nono wait --help")  # fmt: skip
    if args.pattern is not None:
        try:
            re.compile(args.pattern)
        except re.error as exc:
            raise NonoError(f"bad --pattern {args.pattern!r}: {exc}",
                            "it is a Python regular expression") from None  # fmt: skip
    if args.timeout is not None and not args.timeout > 0:  # not > 0: NaN too
        raise NonoError(f"--timeout must be a number of seconds above 0, not {args.timeout:g}")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    check(args)
    if args.host or ":" in args.session:  # maybe another host's: what that costs only then
        from nono.remote.target import target

        host, ref = target(args.session, args.host)
        if host is not None:
            return _on_host(host, ref, args)
    record = registry.resolve(args.session)
    if record.status == registry.EXITED:
        return ended(record, args)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        control = Control(record)
    except NonoError as exc:  # it may have ended since it was listed
        return ended_or_raise(record, args, exc)
    with control:
        wanted = {"state": args.state, "pattern": args.pattern}
        try:
            control.conn.send(Request("wait", {k: v for k, v in wanted.items() if v is not None}))
            answer = control.conn.response("wait", deadline)
        except TimeoutError:  # ours to take: leaving hangs up, and the supervisor drops the wait
            return timed_out(registry.reconcile(registry.read_record(record.id)), args)
        except (OSError, ProtocolError):
            answer = None  # the supervisor went away mid-wait: the record says how it ended
        except NonoError as exc:
            if exc.message.startswith("unknown request"):
                old = f"session {record.name}'s supervisor cannot wait"
                raise NonoError(old, "it was started by an older nono; restart it") from None
            raise
    if answer is None:
        # A supervisor that dies closes its sockets before /proc shows it gone: give its exit
        # the moment it takes, so that the record, reconciled, says it ended.
        end = time.monotonic() + GONE_WITHIN
        while registry.supervisor_alive(record) and time.monotonic() < end:
            time.sleep(0.01)
        hung_up = NonoError(f"session {record.name} hung up during the wait")
        return ended_or_raise(record, args, hung_up)
    return reached(record.name, args, answer)


def _on_host(host: Host, ref: str, args: argparse.Namespace) -> int:
    """The same wait of a session on another host; its outcome read as a local one's."""
    from nono.remote.waiting import wait_on_host

    asked = {"state": args.state, "pattern": args.pattern}
    wanted = {k: v for k, v in asked.items() if v is not None}
    waited = wait_on_host(host, ref, wanted, args.timeout)
    if waited.answer is not None:
        return reached(waited.name, args, waited.answer)
    if waited.timed_out is not None:
        label = f"; {waited.name} is {waited.timed_out}" if waited.timed_out else ""
        say(f"timed out after {args.timeout:g}s{label}")
        return TIMED_OUT
    assert waited.ended is not None
    return ended_as(waited.name, *waited.ended, args)


def say(line: str) -> None:
    print(f"nono: {line}", file=sys.stderr)


def reached(name: str, args: argparse.Namespace, answer: dict[str, Any]) -> int:
    """The exit status for the supervisor's answer to a wait (`name`: the session's, as said)."""
    how = answer.get("reached")
    activity = act.Activity.from_json(answer.get("activity"))
    code = answer.get("exit_code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    if how == "pattern":
        row, text = answer.get("row"), act.clean_text(str(answer.get("text") or ""))
        at = f" at row {row + 1}" if isinstance(row, int) else ""  # 1-based, as rules say
        say(f"{name}'s screen matches {args.pattern!r}{at}: {text!r}")
        return 0
    if how == "state" and args.state == act.EXITED:
        return said_exit(name, code)
    if how == "state":
        why = f" ({activity.reason})" if activity is not None and activity.reason else ""
        say(f"{name} is {activity.state if activity else args.state}{why}")
        return 0
    if how == "exited":
        exited = "exited" if code is None else f"exited({code})"
        say(f"{name} {exited} before {_goal(args)}")
        return 1
    raise NonoError(f"session {name} answered the wait oddly: {act.clean_text(repr(answer))}")


def said_exit(name: str, code: int | None) -> int:
    if code is None:  # its supervisor died with it: there is no code to pass on
        say(f"{name} exited, and its exit code is unknown (its supervisor died)")
        return 1
    say(f"{name} exited({code})")
    return code


def _goal(args: argparse.Namespace) -> str:
    goals = []
    if args.state is not None:
        goals.append(f"it was {args.state}")
    if args.pattern is not None:
        goals.append(f"its screen matched {args.pattern!r}")
    return " or ".join(goals)


def ended(record: registry.Record, args: argparse.Namespace) -> int:
    """A session whose supervisor is gone: its record is all there is to go by."""
    return ended_as(record.name, record.state, record.exit_code, args)


def ended_as(name: str, state: str, exit_code: int | None, args: argparse.Namespace) -> int:
    if args.state == act.EXITED:
        return said_exit(name, exit_code)
    gone = f"session {name} has {state}"
    hint = f"nono capture {name} shows its last screen"
    if args.pattern is not None:
        raise NonoError(f"{gone}; its screen is no longer watched", hint)
    raise NonoError(f"{gone}; it will never be {args.state}", hint)


def ended_or_raise(record: registry.Record, args: argparse.Namespace, error: NonoError) -> int:
    """After a failed connection or a hang-up: the session ended (decide from its record), or
    the failure is real (say it)."""
    current = registry.reconcile(registry.read_record(record.id))
    if current.status == registry.EXITED:
        return ended(current, args)
    raise error


def timed_out(record: registry.Record, args: argparse.Namespace) -> int:
    label = state_label(record, activity_of(record))
    say(f"timed out after {args.timeout:g}s; {record.name} is {label}")
    return TIMED_OUT
