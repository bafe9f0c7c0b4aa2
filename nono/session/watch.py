"""How the supervisor tells a session's activity state (session/activity.py) from what it sees.

Signals, strongest first (DESIGN.md, "Agent state"):
1. What the agent says in band on its own terminal: notifications (OSC 9, OSC 777;notify, OSC
   99, a BEL where its kind says what a bell means), progress (OSC 9;4), and nono's own sequence
   an agent hook writes to /dev/tty (`ESC ] 777 ; nono ; STATE ; REASON BEL`). The agent owns
   its terminal already, so listening adds no reach; a claim holds until the person types.
2. The screen: its kind's rules (agents/KIND.yaml) over the bottom rows.
3. The process tree: a job in the PTY's foreground that is not the agent itself, CPU time since
   the last look, a foreground process asleep on input.
4. Output: any output in the last IDLE_AFTER seconds is work, none is idle.

`Watch` is pure (time and the screen are passed in); the supervisor decides when to look: after
output, input, a resize or an in-band signal, and at the moments a quiet spell would change the
answer. Nothing here runs per byte of output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from nono.session.activity import (
    EXITED,
    HOOK,
    IDLE,
    NETWORK,
    NOTIFICATION,
    OUTPUT,
    PROCESS,
    SCREEN,
    STARTING,
    WAITING,
    WORKING,
    Activity,
    clean_text,
)
from nono.session.rules import AgentRules, Match, match_screen

IDLE_AFTER = 5.0  # seconds without output before a program with no other signal is idle
PROCESS_QUIET = 0.5  # seconds without output before an asleep foreground process is idle
ECHO_WINDOW = 0.3  # output this soon after a keystroke or resize is its echo or redraw ...
ECHO_BYTES = 4096  # ... up to this much
CPU_BUSY = 0.05  # a foreground process using this share of a CPU is working ...
CPU_WINDOW = 0.5  # ... measured over at least this long (the kernel counts in 10 ms ticks)
PROCESS_RELOOK = 1.0  # a process working without output is looked at again this often
# A program drawing its first screen (and the CPU it takes to start) is starting, not working,
# for this long: else every session would "finish a turn" the moment it was drawn, and ring.
START_GRACE = 3.0
# What the agent said holds until the person types, or until it has gone on writing for this
# long after saying it (an agent that carried on by itself is not waiting any more).
CLAIM_HOLD = 3.0
HOOK_STATES = (WORKING, WAITING, IDLE)
# Kernel functions a process waiting for its terminal (or anything it polls with it) sleeps in.
_TTY_READS = ("n_tty_read", "wait_woken")
_INPUT_WAITS = (*_TTY_READS, "poll_schedule_timeout", "do_select", "do_sys_poll")


@dataclass(frozen=True)
class Claim:
    """A state the agent said it is in (layer 1), and when."""

    state: str
    reason: str
    source: str  # NOTIFICATION, HOOK or NETWORK (a denial by the egress proxy)
    at: float


@dataclass(frozen=True)
class ProcessInfo:
    """The PTY's foreground process group, as the supervisor can see it from outside."""

    pgrp: int
    comm: str  # the name of the group's leader
    job: bool  # the group is not the terminal session's own (a shell started a job)
    sleeping: str  # the kernel function it sleeps in ("" when running or not readable)
    cpu: float  # its CPU seconds so far (the group's leader)


def probe(master: int) -> ProcessInfo | None:
    """The foreground process group of the PTY whose master is `master`, or None."""
    try:
        pgrp = os.tcgetpgrp(master)
        with open(f"/proc/{pgrp}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    comm = stat[stat.index(b"(") + 1 : stat.rindex(b")")].decode("utf-8", "replace")
    fields = stat[stat.rindex(b")") + 2 :].split()
    state, session = fields[0], int(fields[3])
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    sleeping = ""
    if state in (b"S", b"D"):
        try:
            with open(f"/proc/{pgrp}/wchan") as f:
                sleeping = f.read().strip()
        except OSError:
            pass
    return ProcessInfo(pgrp, clean_text(comm, 32), pgrp != session, sleeping, cpu)


def read_notification(code: str, payload: str, rules: AgentRules) -> tuple[str, str, str] | None:
    """An OSC the terminal model collected, as (state, reason, source), or None if it says
    nothing about the state."""
    if code == "777":
        kind, _, rest = payload.partition(";")
        if kind == "nono":
            state, _, reason = rest.partition(";")
            if state not in HOOK_STATES:
                return None
            return state, f'hook said {state}: "{clean_text(reason)}"', HOOK
        if kind != "notify":
            return None
        title, _, body = rest.partition(";")
        text = f"{title}: {body}" if title and body else title or body
    elif code == "9":
        head, _, rest = payload.partition(";")
        if head == "4":  # ConEmu progress: 9;4;STATE;PERCENT, STATE 0 removes it
            st = rest.split(";")[0]
            if st in ("1", "3", "4"):
                return WORKING, "progress shown (OSC 9;4)", NOTIFICATION
            return None
        if head.isdigit():  # ConEmu's other commands are not notifications
            return None
        text = payload
    elif code == "99":  # kitty: METADATA;PAYLOAD, in chunks; a query or a close says nothing
        meta, _, text = payload.partition(";")
        keys = dict(kv.partition("=")[::2] for kv in meta.split(":") if kv)
        if keys.get("p", "title") not in ("title", "body") or not text:
            return None
    else:
        return None
    text = clean_text(text, 120)
    state = rules.notification_state(text)
    return state, f'notification (OSC {code}) "{text}"', NOTIFICATION


class Watch:
    """One session's signals and the state they add up to."""

    def __init__(self, rules: AgentRules, started: float) -> None:
        self.rules = rules
        self.started = started
        self.claim: Claim | None = None
        self.last_output: float | None = None  # the last output that was the agent's own work
        self.last_input = 0.0
        self.echo_until = 0.0  # output before this is a keystroke's echo or a resize's redraw
        self.echo_bytes = 0
        self.cpu: tuple[int, float, float] | None = None  # (pgrp, when, CPU s) measured from
        self.cpu_share = 0.0  # the foreground group's leader's share of a CPU, last measured
        self.activity = Activity(STARTING, started, "no output yet", "")
        # The last screen looked at (the caller passes the same list while it is unchanged)
        # and the rule it matched: a look while nothing was drawn costs no regular expression.
        self._screen: tuple[list[str] | None, int, Match | None] = (None, -1, None)
        self.decided_by: object = None  # the claim, rule or process that decided the last look
        self._decided: tuple[object, ...] = (STARTING, "", None)

    # ------------------------------------------------------------ signals

    def output(self, now: float, size: int) -> None:
        if now < self.echo_until and self.echo_bytes + size <= ECHO_BYTES:
            self.echo_bytes += size
            if self.last_output is None:
                self.last_output = now  # a first screen drawn is still the start ending
            return
        self.last_output = now

    def input(self, now: float) -> None:
        """The person typed: whatever the agent said about waiting for them is answered."""
        self.last_input = now
        self.claim = None
        self.echo_until, self.echo_bytes = now + ECHO_WINDOW, 0

    def resized(self, now: float) -> None:
        self.echo_until, self.echo_bytes = now + ECHO_WINDOW, 0

    def said(self, now: float, state: str, reason: str, source: str) -> None:
        self.claim = Claim(state, reason, source, now)

    def refused(self, now: float, reason: str) -> None:
        """The egress proxy refused a connection: a claim of `waiting` that counts only while
        the agent otherwise looks busy (see decide). An agent's own word that it waits or is
        idle is not replaced by it."""
        claim = self.claim
        if claim is None or claim.source == NETWORK or claim.state == WORKING:
            self.claim = Claim(WAITING, reason, NETWORK, now)

    def bell(self, now: float) -> None:
        if self.rules.bell in (WAITING, IDLE):
            self.said(now, self.rules.bell, "the agent rang the bell", NOTIFICATION)

    def progress_done(self) -> None:
        if self.claim is not None and self.claim.reason.startswith("progress"):
            self.claim = None

    # ------------------------------------------------------------ deciding

    def decide(
        self, now: float, lines: list[str], cursor_row: int, process: ProcessInfo | None
    ) -> tuple[str, str, str]:
        """(state, reason, source) from the signals as they stand."""
        claim = self.claim
        last = self.last_output
        if claim is not None and last is not None and last - claim.at > CLAIM_HOLD:
            claim = self.claim = None
        if claim is not None and claim.source != NETWORK:
            self.decided_by = claim
            return claim.state, claim.reason, claim.source
        state, reason, source = self._signals(now, lines, cursor_row, process)
        if claim is not None and state in (WORKING, STARTING):
            # Refused while it looks busy: it may be stuck on that host, so the person is
            # wanted. At its prompt or asking something, the refusal was a side call (Codex's
            # release check at every start): the state stands, the border counts the denial.
            self.decided_by = claim
            return claim.state, claim.reason, claim.source
        return state, reason, source

    def _signals(
        self, now: float, lines: list[str], cursor_row: int, process: ProcessInfo | None
    ) -> tuple[str, str, str]:
        """(state, reason, source) from the screen, the process and the output."""
        seen, seen_row, match = self._screen
        if lines is not seen or cursor_row != seen_row:  # else the last look's answer holds
            match = match_screen(self.rules, lines, cursor_row)
            self._screen = (lines, cursor_row, match)
        if match is not None:
            self.decided_by = match.rule
            return (match.rule.state, f'screen rule {match.rule.name} matched row '
                    f'{match.row + 1} "{clean_text(match.text, 120)}"', SCREEN)  # fmt: skip
        quiet = None if self.last_output is None else now - self.last_output
        if process is not None:
            used = self._cpu_share(now, process)
            who = f"{process.comm} (pid {process.pgrp})"
            # A job the shell started (less, python's input(), cat) asleep in a read of the
            # terminal waits for the person; one polling may be waiting on the network (curl)
            # and is left to its output; any other (sleep, make waiting for its children) works.
            self.decided_by = process.pgrp
            waits = _TTY_READS if process.job else _INPUT_WAITS
            asleep = quiet is not None and quiet >= PROCESS_QUIET and used < CPU_BUSY
            if asleep and process.sleeping.startswith(waits):
                return IDLE, f"{who} waits for input ({process.sleeping})", PROCESS
            if process.job and not process.sleeping.startswith(_INPUT_WAITS):
                return WORKING, f"{who} runs in the foreground", PROCESS
            if used >= CPU_BUSY:
                return WORKING, f"{who} uses {used:.0%} of a CPU", PROCESS
        if quiet is None:
            if now - self.started < IDLE_AFTER:
                return STARTING, "no output yet", ""
            return IDLE, f"no output in {IDLE_AFTER:g} s since the start", OUTPUT
        if quiet < IDLE_AFTER:
            return WORKING, f"output in the last {IDLE_AFTER:g} s", OUTPUT
        return IDLE, f"no output for {IDLE_AFTER:g} s", OUTPUT

    def _cpu_share(self, now: float, process: ProcessInfo) -> float:
        last = self.cpu
        if last is None or last[0] != process.pgrp or process.cpu < last[2]:
            self.cpu, self.cpu_share = (process.pgrp, now, process.cpu), 0.0
        elif now - last[1] >= CPU_WINDOW:
            self.cpu_share = (process.cpu - last[2]) / (now - last[1])
            self.cpu = (process.pgrp, now, process.cpu)
        return self.cpu_share

    def look(
        self, now: float, wall: float, lines: list[str], cursor_row: int,
        process: ProcessInfo | None,
    ) -> Activity | None:  # fmt: skip
        """The new Activity if the state (or what decides it) changed, else None. `now` is the
        monotonic clock the signals use, `wall` the epoch time a change is stamped with."""
        if self.activity.state == EXITED:
            return None
        self.decided_by = None
        state, reason, source = self.decide(now, lines, cursor_row, process)
        # A change of what decides it is news too (another rule, another process), not a new
        # reason's wording (a spinner's count, a CPU share): the record is not rewritten.
        decided = (state, source, self.decided_by if source != OUTPUT else None)
        if (self.activity.state == STARTING and state == WORKING and source in (OUTPUT, PROCESS)
                and now - self.started < START_GRACE):  # fmt: skip
            return None
        if decided == self._decided:
            return None
        self._decided = decided
        since = self.activity.since if state == self.activity.state else wall
        self.activity = Activity(state, since, clean_text(reason), source)
        return self.activity

    def exited(self, wall: float, code: int | None) -> Activity:
        reason = "the agent exited" if code is None else f"the agent exited with code {code}"
        self.activity = Activity(EXITED, wall, reason, PROCESS)
        return self.activity

    def next_look(self, now: float) -> float | None:
        """When a quiet spell would change the answer (monotonic), or None."""
        if self.activity.state == EXITED or self.claim is not None:
            return None
        if self.activity.source == PROCESS and self.activity.state == WORKING:
            return now + PROCESS_RELOOK
        due = []
        if self.activity.state == STARTING and now < self.started + START_GRACE:
            due.append(self.started + START_GRACE)
        if self.last_output is None:
            due.append(self.started + IDLE_AFTER)
        else:
            due += [self.last_output + step for step in (PROCESS_QUIET, IDLE_AFTER)]
        return min((t for t in due if t > now), default=None)
