"""`nono inspect`: everything known about one session, and why its agent is in its state."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex

from nono.commands.sessions import activity_of, uptime
from nono.errors import NonoError
from nono.session import registry
from nono.session.client import Control

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from nono.net.egress_view import Summary


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")
    parser.add_argument("--json", action="store_true", help="JSON output")


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    if args.host or ":" in args.session:  # maybe another host's: what that costs only then
        from nono.remote.target import target

        host, ref = target(args.session, args.host)
        if host is not None:  # that host's nono reads its records (an exited one too)
            from nono.remote.oneshot import forward

            json_args = ["--json"] if args.json else []
            return forward(host, ["inspect", *json_args, ref],
                           as_json=dict if args.json else None)  # fmt: skip
    record = registry.resolve(args.session)
    data = record.to_json()
    data["uptime"] = uptime(record)
    live: dict[str, Any] = {}
    if record.status != registry.EXITED:
        with contextlib.suppress(NonoError), Control(record) as control:
            live = control.request("status")
            data.update(live["record"])
            data["title"] = live["title"]
            data["clients"] = live["clients"]
    # The supervisor's answer is the freshest word; the record file is what it last wrote.
    activity = activity_of(registry.Record.from_json(data), live.get("activity"))
    data["activity"] = activity.to_json() if activity else None
    summary = _egress(record) if record.network == "hosts" else None
    data["egress"] = summary.to_json() if summary is not None else None
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    rows = [
        ("id", data["id"]), ("name", data["name"]), ("status", data["state"]),
        ("command", shlex.join(data["command"])), ("workdir", data["workdir"]),
        ("profile", data["profile"] or "-"), ("network", data["network"]),
        ("supervisor", str(data["supervisor_pid"])), ("pid", str(data["child_pid"] or "-")),
        ("uptime", data["uptime"]), ("size", "x".join(map(str, data["size"]))),
        ("attached", str(data["attached"])),
        ("writable", ", ".join(data["sandbox"].get("writable", [])) or "-"),
        ("landlock", f"ABI {data['sandbox'].get('landlock_abi')}"),
        ("rollback", data.get("rollback_id") or "-"),
    ]  # fmt: skip
    if activity is not None:
        rows.insert(3, ("activity", activity.explain()))
    if summary is not None:
        rows += _egress_rows(summary)
    if data.get("note"):
        rows.append(("note", data["note"]))
    logout = (data.get("extra") or {}).get("logout")
    if isinstance(logout, str):  # session/logout.py: what may end it when the person logs out
        rows.append(("logout", logout))
    for key, value in rows:
        print(f"{key:<11} {value}")
    for note in data["sandbox"].get("enforcement", []):
        print(f"{'':<11} {note}")
    return 0


def _egress(record: registry.Record) -> Summary:
    """Its egress log added up: at most the current file and its `.1`, both capped by the
    writer's rotation, so a long session's log costs a bounded read."""
    from nono import paths
    from nono.net.egress_view import read_log, summarise

    parsed, unreadable = read_log(paths.egress_log(record.id))
    return summarise([r for _, r in parsed], unreadable)


def _egress_rows(summary: Summary) -> list[tuple[str, str]]:
    from nono.net.egress_view import TOP, printable, size, stamp, where

    reached = f"{summary.connections} connection(s), {len(summary.reached)} host(s) reached"
    if summary.reached:
        reached += ": " + ", ".join(f"{where(h.host, h.port)} ({size(h.bytes_up + h.bytes_down)})"
                                    for h in summary.reached[:TOP])  # fmt: skip
    if not summary.denials:
        return [("egress", reached), ("denied", "none")]
    assert summary.last_denial is not None
    denied = f"{summary.denials}, the last at {stamp(summary.last_denial)}"
    if summary.denied:
        why = [f"rule {printable(d.rule, 100)}" if d.rule else "no rule allows it"
               for d in summary.denied[:TOP]]  # fmt: skip
        denied += ": " + ", ".join(
            f"{where(d.host, d.port)} ({w})" for d, w in zip(summary.denied, why, strict=False)
        )
        if len(summary.denied) > TOP:
            denied += f" and {len(summary.denied) - TOP} more"
    return [("egress", reached), ("denied", denied)]
