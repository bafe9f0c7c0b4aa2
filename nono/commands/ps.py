"""`nono ps`: the sessions, running ones by default, each with what its agent is doing."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time

from nono.commands.sessions import activity_of, state_label, uptime
from nono.session import activity as act
from nono.session import registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", "-a", action="store_true", help="include exited sessions")
    parser.add_argument(
        "--waiting",
        "-w",
        action="store_true",
        help="only the sessions waiting for you (a prompt, a question), oldest-waiting first",
    )
    parser.add_argument("--json", action="store_true", help="JSON output")


def waiting_first(records: list[registry.Record]) -> list[tuple[registry.Record, act.Activity]]:
    """The sessions that need the person, the one that has waited longest first."""
    waiting = []
    for record in records:
        activity = activity_of(record)
        if activity is not None and activity.state == act.WAITING:
            waiting.append((record, activity))
    return sorted(waiting, key=lambda pair: pair[1].since)


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    records, problems = registry.list_records()
    if not args.all or args.waiting:
        records = [r for r in records if r.status != registry.EXITED]
    listed: list[tuple[registry.Record, act.Activity | None]] = (
        list(waiting_first(records)) if args.waiting else [(r, activity_of(r)) for r in records]
    )
    if args.json:
        rows = []
        for r, activity in listed:
            entry = r.to_json()
            entry["uptime"] = uptime(r)
            entry["activity"] = activity.to_json() if activity else None
            rows.append(entry)
        print(json.dumps(rows, indent=2))
    elif not listed:
        # A header over nothing reads like a failure to list; say what there is and what to do.
        if args.waiting:
            print("nono: no session is waiting for you (nono ps lists them all)", file=sys.stderr)
        else:
            which = "no sessions" if args.all else "no sessions running"
            more = "" if args.all else "; nono ps --all also lists exited ones"
            print(f"nono: {which} (start one with: nono run --detached -- COMMAND{more})",
                  file=sys.stderr)  # fmt: skip
    else:
        now = time.time()
        header = ("ID", "NAME", "STATE", "ATTACHED", "PID", "UPTIME", "PROFILE", "COMMAND")
        table = [header] + [
            (r.id, r.name, state_label(r, activity, now), "yes" if r.attached else "no",
             str(r.child_pid or "-"), uptime(r), r.profile or "-", shlex.join(r.command))
            for r, activity in listed
        ]  # fmt: skip
        widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
        for row in table:
            cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
            print("  ".join([*cells, row[-1]]))
    for problem in problems:
        print(f"nono: {problem}", file=sys.stderr)
    return 0
