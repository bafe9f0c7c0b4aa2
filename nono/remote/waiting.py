"""`nono wait --host NAME` / `nono wait NAME:SESSION`: the wait asked of that session's
supervisor over its own ssh (remote/direct.py), as a local wait asks it. The supervisor's
answer carries the agent's exit code as a number, so the status given here is exactly the
local one's (0 reached, 124 timed out, the agent's own code, 1 ended first), 255 included:
ssh's status is never taken for the agent's.

A session that has no supervisor there (it exited, or it ends mid-wait) is judged from its
record, which that host's own `nono inspect --json` reads."""

from __future__ import annotations

import argparse
import time

from nono.commands.wait import TIMED_OUT, answer_to_wait, ended_as, reached, say
from nono.errors import NonoError
from nono.remote.hosts import Host
from nono.remote.target import RemoteControl
from nono.remote.wire import LinkLost
from nono.session import activity as act
from nono.session.protocol import ProtocolError, Request, read_response

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GONE_WITHIN = 3.0  # seconds a supervisor that hung up on a wait has to show as exited there


def wait_on_host(host: Host, ref: str, args: argparse.Namespace) -> int:
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        control = RemoteControl(host, ref)
    except LinkLost:
        raise  # the host itself: not reached, or another nono
    except NonoError as exc:  # no live session by that name there: its record says why
        return _ended(host, ref, args, exc)
    with control:
        wanted = {"state": args.state, "pattern": args.pattern}
        try:
            control.conn.send(Request("wait", {k: v for k, v in wanted.items() if v is not None}))
            answer = answer_to_wait(control.conn, deadline)
        except TimeoutError:  # ours to take: hanging up drops the wait there
            return _timed_out(control, args)
        except (OSError, ProtocolError):
            answer = None  # the supervisor (or the link) went away mid-wait
        except NonoError as exc:
            said = act.clean_text(exc.one_line(), 500)
            if exc.message.startswith("unknown request"):
                old = f"session {control.name}'s supervisor cannot wait"
                raise NonoError(old, "it was started by an older nono; restart it") from None
            raise NonoError(f"session {control.name}: {said}") from None
    if answer is None:
        hung_up = NonoError(f"session {control.name} hung up during the wait")
        return _ended(host, ref, args, hung_up, settle=GONE_WITHIN)
    return reached(control.name, args, answer)


def _timed_out(control: RemoteControl, args: argparse.Namespace) -> int:
    """Our deadline passed: say what the agent is now (its supervisor's word, asked on the
    same connection). An answer to the wait that crossed the deadline is taken as reached."""
    label = ""
    try:
        control.conn.send(Request("status", {}))
        end = time.monotonic() + 10
        while time.monotonic() < end:
            frame = control.conn.read(end - time.monotonic())
            answer = read_response(frame, "status") if frame is not None else None
            if frame is None or answer is None:
                if frame is None:
                    break
                continue
            if "reached" in answer:
                return reached(control.name, args, answer)
            activity = act.Activity.from_json(answer.get("activity"))
            label = f"; {control.name} is {activity.label()}" if activity else ""
            break
    except (OSError, TimeoutError, NonoError):
        pass  # the label is a courtesy; the timeout stands
    say(f"timed out after {args.timeout:g}s{label}")
    return TIMED_OUT


def _ended(host: Host, ref: str, args: argparse.Namespace, error: NonoError,
           settle: float = 0.0) -> int:  # fmt: skip
    """The session's record on that host, read by its nono: an exited session's end as a
    local wait would say it; a session there that is not exited: `error` stands."""
    from nono.remote import oneshot

    end = time.monotonic() + settle
    while True:
        done = oneshot.run(host, ["inspect", "--json", ref])
        if done.code != 0:  # no such session there, say: in that host's words
            return oneshot.outcome(host, done)
        record = oneshot.strict_json(host, done.output, dict)
        status, name, state, code = _ending(record)
        if status == "exited":
            return ended_as(f"{host.name}:{name}", state, code, args)
        if time.monotonic() >= end:
            raise error
        time.sleep(0.2)  # its supervisor is dying: its record says so in a moment


def _ending(record: dict[str, Any]) -> tuple[str, str, str, int | None]:
    """(status, name, state, exit code) of a record from that host, cleaned and typed."""

    def text(key: str) -> str:
        value = record.get(key)
        return act.clean_text(value, 200) if isinstance(value, str) else "?"

    code = record.get("exit_code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    return text("status"), text("name"), text("state"), code
