"""After a failed run: the paths the child was refused (seen on its stderr), and their grants."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from nono.sandbox.advice import advise
from nono.sandbox.policy import Policy, evaluate

_DENIED = re.compile(
    r"Permission denied|Operation not permitted|Read-only file system|\bE(?:ACCES|PERM|ROFS)\b"
)
_PATH = re.compile(r"""(?:^|(?<=[\s'"`(\[:=]))(~?/[^\s'"`,;)\]]*[^\s'"`,;)\].:])""")
MAX_PATHS = 20


def scan_line(line: str) -> list[str]:
    """Paths named on a line that reports a permission error."""
    if not _DENIED.search(line):
        return []
    return _PATH.findall(line)


@dataclass(frozen=True)
class Denial:
    path: str
    op: str
    hint: str


def explain(policy: Policy, seen: list[str]) -> list[Denial]:
    """Keep the paths the policy really refuses, each with the flag that would grant it."""
    out: dict[str, Denial] = {}
    for raw in seen:
        path = os.path.expanduser(raw)
        canonical = os.path.realpath(os.path.join(policy.workdir, path))
        if canonical in out:
            continue
        # A path that does not exist yet was being created: a write, whatever the message.
        for op in ("read", "write") if os.path.exists(canonical) else ("write",):
            decision = evaluate(policy, canonical, op)
            if decision.allowed:
                continue
            if decision.suggestion is None:  # protected: nothing to offer
                hint = decision.reason
            else:  # only a grant nono accepts is offered; otherwise, what to do instead
                advice = advise(policy, canonical, op)
                hint = f"grant with {advice.text}" if advice.flag else advice.text
            out[canonical] = Denial(canonical, op, hint)
            break
        if len(out) >= MAX_PATHS:
            break
    return list(out.values())


def render(denials: list[Denial]) -> list[str]:
    if not denials:
        return []
    lines = [f"nono: the sandbox refused {len(denials)} path(s):"]
    width = max(len(d.path) for d in denials)
    for d in denials:
        lines.append(f"  {d.path.ljust(width)}  {d.op:<5}  {d.hint}")
    return lines
