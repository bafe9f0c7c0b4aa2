"""What a session's agent is doing, as the person needs to know it: its activity state.

One `Activity` per session, computed in the supervisor (session/watch.py decides when to look)
and carried everywhere the person looks: the record (`nono ps`, `nono inspect`), the ACTIVITY
frame (the dashboard), a `wait` request (`nono wait`). The state is advisory: everything here
comes from the agent's own terminal and process tree, so it is shown with its source and never
decides anything about the sandbox.

States: starting (no output yet), working, waiting (the agent asked the person something: a
permission prompt, a question, a login), idle (its turn is over; it waits for a new
instruction), exited.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

STARTING = "starting"
WORKING = "working"
WAITING = "waiting"
IDLE = "idle"
EXITED = "exited"
STATES = (STARTING, WORKING, WAITING, IDLE, EXITED)

# Where a state came from, strongest first.
NOTIFICATION = "notification"  # OSC 9 / 777;notify / 99 / BEL the agent wrote to its terminal
HOOK = "hook"  # nono's own sequence, written by an agent hook (OSC 777;nono;STATE;REASON)
SCREEN = "screen"  # a rule of the agent's kind (agents/*.yaml) matched the screen
PROCESS = "process"  # the PTY's foreground process group and its CPU time
OUTPUT = "output"  # output activity, for any program
NETWORK = "network"  # nono's egress proxy refused a connection the agent asked for
SOURCES = (NOTIFICATION, HOOK, SCREEN, PROCESS, OUTPUT, NETWORK)

REASON_LIMIT = 200  # characters of a reason kept: it is shown in one line
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def clean_text(text: str, limit: int = REASON_LIMIT) -> str:
    """Agent-supplied text made safe to print on the person's terminal: no control characters
    (an ESC in a notification would be a sequence on the terminal that shows `nono ps`), one
    line, bounded."""
    text = _CONTROLS.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Activity:
    state: str
    since: float  # epoch seconds the session entered this state
    reason: str  # what decided it, in words: 'screen rule claude-code.permission matched ...'
    source: str  # one of SOURCES ("" for starting / exited, which nono knows itself)

    def to_json(self) -> dict[str, object]:
        return {"state": self.state, "since": self.since, "reason": self.reason,
                "source": self.source}  # fmt: skip

    @classmethod
    def from_json(cls, data: object) -> Activity | None:
        """The activity of a record or frame; None for anything that is not one (a record from
        before activity existed, a garbled frame): callers show the plain status instead."""
        if not isinstance(data, dict):
            return None
        state, since = data.get("state"), data.get("since")
        if state not in STATES or not isinstance(since, int | float) or isinstance(since, bool):
            return None
        reason, source = data.get("reason", ""), data.get("source", "")
        return cls(str(state), float(since), clean_text(str(reason)), clean_text(str(source)))

    def label(self, now: float | None = None, exit_code: int | None = None) -> str:
        """As `nono ps` shows it: `waiting 3m`, `working`, `idle 12m`, `exited(0)`."""
        if self.state == EXITED:
            return "exited" if exit_code is None else f"exited({exit_code})"
        if self.state in (WAITING, IDLE):
            return f"{self.state} {duration(max(0.0, (now or time.time()) - self.since))}"
        return self.state

    def explain(self) -> str:
        """`nono inspect`'s line: `waiting since 12:03:04: screen rule ... matched ...`."""
        at = time.strftime("%H:%M:%S", time.localtime(self.since))
        head = f"{self.state} since {at}"
        return f"{head}: {self.reason}" if self.reason else head


def duration(seconds: float) -> str:
    """A short age: 12s, 3m, 2h, 4d."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"
