"""`nono ps`: the sessions, running ones by default."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from nono.commands.sessions import uptime
from nono.session import registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", "-a", action="store_true", help="include exited sessions")
    parser.add_argument("--json", action="store_true", help="JSON output")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    records, problems = registry.list_records()
    if not args.all:
        records = [r for r in records if r.status != registry.EXITED]
    if args.json:
        rows = []
        for r in records:
            entry = r.to_json()
            entry["uptime"] = uptime(r)
            rows.append(entry)
        print(json.dumps(rows, indent=2))
    elif not records:
        # A header over nothing reads like a failure to list; say what there is and what to do.
        which = "no sessions" if args.all else "no sessions running"
        more = "" if args.all else "; nono ps --all also lists exited ones"
        print(f"nono: {which} (start one with: nono run --detached -- COMMAND{more})",
              file=sys.stderr)  # fmt: skip
    else:
        header = ("ID", "NAME", "STATUS", "ATTACHED", "PID", "UPTIME", "PROFILE", "COMMAND")
        table = [header] + [
            (r.id, r.name, r.state, "yes" if r.attached else "no", str(r.child_pid or "-"),
             uptime(r), r.profile or "-", shlex.join(r.command))
            for r in records
        ]  # fmt: skip
        widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
        for row in table:
            cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
            print("  ".join([*cells, row[-1]]))
    for problem in problems:
        print(f"nono: {problem}", file=sys.stderr)
    return 0
