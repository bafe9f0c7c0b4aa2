"""`nono ps`: the sessions, running ones by default, each with what its agent is doing."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time

from nono.commands.sessions import activity_of, state_label, uptime
from nono.remote.listing import Listed, table
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
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--host", metavar="HOST",
                       help="the sessions of another host ([hosts.NAME] of config.toml, or "
                       "user@host), reached over ssh")  # fmt: skip
    where.add_argument("--all-hosts", action="store_true",
                       help="this host's sessions and every configured host's, with a HOST "
                       "column")  # fmt: skip


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
    if args.host or args.all_hosts:
        return _execute_hosts(args)
    records, problems = registry.list_records()
    if not args.all or args.waiting:
        records = [r for r in records if r.status != registry.EXITED]
    listed: list[tuple[registry.Record, act.Activity | None]] = (
        list(waiting_first(records)) if args.waiting else [(r, activity_of(r)) for r in records]
    )
    if args.json:
        print(json.dumps([entry(r, activity) for r, activity in listed], indent=2))
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
        print("\n".join(table(_local_rows(listed), with_host=False)))
    for problem in problems:
        print(f"nono: {problem}", file=sys.stderr)
    return 0


def entry(r: registry.Record, activity: act.Activity | None) -> dict[str, object]:
    """A session as `nono ps --json` gives it (and the relay's LIST answer)."""
    data = r.to_json()
    data["uptime"] = uptime(r)
    data["activity"] = activity.to_json() if activity else None
    return data


def _local_rows(listed: list[tuple[registry.Record, act.Activity | None]]) -> list[Listed]:
    now = time.time()
    rows = []
    for r, activity in listed:
        rows.append(Listed("local", r.id, r.name, state_label(r, activity, now),
                           bool(r.attached), str(r.child_pid or "-"), uptime(r),
                           r.profile or "-", shlex.join(r.command),
                           {"host": "local", **entry(r, activity)}))  # fmt: skip
    return rows


def _execute_hosts(args: argparse.Namespace) -> int:
    """`--host NAME` / `--all-hosts`: every host asked at once over ssh; one that cannot be
    reached or answers badly is one line on stderr, and the others are still listed."""
    from nono.config import load_config
    from nono.remote.command import run_on_hosts
    from nono.remote.hosts import resolve
    from nono.remote.listing import RemoteAnswerError, parse_ps

    configured = load_config().hosts
    hosts = [resolve(args.host, configured)] if args.host else list(configured.values())
    rows: list[Listed] = []
    if args.all_hosts:
        records, problems = registry.list_records()
        if not args.all or args.waiting:
            records = [r for r in records if r.status != registry.EXITED]
        rows += _local_rows(list(waiting_first(records)) if args.waiting
                            else [(r, activity_of(r)) for r in records])  # fmt: skip
        for problem in problems:
            print(f"nono: {problem}", file=sys.stderr)
    remote_args = ["ps", "--json", *(["--all"] if args.all else []),
                   *(["--waiting"] if args.waiting else [])]  # fmt: skip
    failed = False
    for outcome in run_on_hosts(hosts, remote_args):
        try:
            if outcome.error is not None:
                raise RemoteAnswerError(outcome.error)
            rows += parse_ps(outcome.output, outcome.host.name, time.time())
        except RemoteAnswerError as exc:
            failed = True
            print(f"nono: host {outcome.host.name}: {exc.message}", file=sys.stderr)
    if args.json:
        print(json.dumps([row.entry for row in rows], indent=2))
    elif rows:
        print("\n".join(table(rows, with_host=True)))
    elif not failed:
        which = "no sessions" if args.all else "no sessions running"
        print(f"nono: {which} on {', '.join(h.name for h in hosts) or 'any host'}",
              file=sys.stderr)  # fmt: skip
    return 1 if failed else 0
