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
