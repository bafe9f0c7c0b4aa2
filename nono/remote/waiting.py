"""`nono wait --host NAME` / `nono wait NAME:SESSION`: the wait asked of that session's
supervisor over its own ssh (remote/direct.py), as a local wait asks it. The supervisor's
answer carries the agent's exit code as a number, so the status commands/wait.py gives from it
is exactly the local one's (0 reached, 124 timed out, the agent's own code, 1 ended first),
255 included: ssh's status is never taken for the agent's.

A session that has no supervisor there (it exited, or it ends mid-wait) is judged from its
record, which that host's own `nono inspect --json` reads. This module only fetches; what each
outcome means is wait.py's, as for a local session."""

from __future__ import annotations

import time
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Waited:
    """How a wait on a host ended: the supervisor's `answer`; or its deadline passed
    (`timed_out`: what the agent was then, "" if unknown); or the session had ended
    (`ended`: its state and exit code, from its record there)."""

    name: str  # HOST:SESSION
    answer: dict[str, Any] | None = None
    timed_out: str | None = None
    ended: tuple[str, int | None] | None = None


def wait_on_host(host: Host, ref: str, wanted: dict[str, str], timeout: float | None) -> Waited:
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        control = RemoteControl(host, ref)
    except LinkLost:
        raise  # the host itself: not reached, or another nono
    except NonoError as exc:  # no live session by that name there: its record says why
        return _ended(host, ref, exc)
    with control:
        try:
            control.conn.send(Request("wait", wanted))
            answer = control.conn.response("wait", deadline)
        except TimeoutError:  # ours to take: hanging up drops the wait there
            return _timed_out(control)
        except (OSError, ProtocolError):
            answer = None  # the supervisor (or the link) went away mid-wait
        except NonoError as exc:
            if exc.message.startswith("unknown request"):
                old = f"session {control.name}'s supervisor cannot wait"
                raise NonoError(old, "it was started by an older nono; restart it") from None
            said = act.clean_text(exc.one_line(), 500)
            raise NonoError(f"session {control.name}: {said}") from None
    if answer is None:
        hung_up = NonoError(f"session {control.name} hung up during the wait")
        return _ended(host, ref, hung_up, settle=GONE_WITHIN)
    return Waited(control.name, answer=answer)


def _timed_out(control: RemoteControl) -> Waited:
    """Our deadline passed: what the agent is now (its supervisor's word, asked on the same
    connection). An answer to the wait that crossed the deadline is taken as reached."""
    label = ""
    try:
        control.conn.send(Request("status", {}))
        answer, end = None, time.monotonic() + 10
        while answer is None:
            frame = control.conn.read(max(0.0, end - time.monotonic()))
            if frame is None:
                break
            answer = read_response(frame, "status")
        if answer is not None and "reached" in answer:
            return Waited(control.name, answer=answer)
        activity = act.Activity.from_json(answer.get("activity")) if answer else None
        label = activity.label() if activity else ""
    except (OSError, TimeoutError, NonoError):
        pass  # the label is a courtesy; the timeout stands
    return Waited(control.name, timed_out=label)


def _ended(host: Host, ref: str, error: NonoError, settle: float = 0.0) -> Waited:
    """The session's record on that host, read by its nono. Not exited there: `error`
    stands; no such session there: that host's words."""
    from nono.remote import oneshot

    end = time.monotonic() + settle
    while True:
        done = oneshot.run(host, ["inspect", "--json", ref])
        if done.code != 0:
            raise oneshot.failure(host, done)
        record = oneshot.strict_json(host, done.output, dict)
        status, name, state, code = _ending(record)
        if status == "exited":
            return Waited(f"{host.name}:{name}", ended=(state, code))
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
