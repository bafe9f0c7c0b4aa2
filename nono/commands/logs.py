"""`nono logs`: a session's event log (started, attached, resized, exited, ...), or with
`--net` its egress log (each connection its agent made through nono's proxy)."""

from __future__ import annotations

import argparse
import json
import time

from nono.session import registry

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from nono.remote.hosts import Host


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name (HOST:NAME on a host)")
    parser.add_argument("--host", metavar="HOST", help="the session is on this host (over ssh)")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    parser.add_argument("--tail", "-n", type=int, metavar="N", help="only the last N events")
    parser.add_argument("--json", action="store_true", help="raw NDJSON lines")
    parser.add_argument("--net", action="store_true",
                        help="its egress log: each connection through nono's proxy (a session "
                        "with a host list)")  # fmt: skip


def _show(line: str, as_json: bool) -> None:
    if as_json:
        print(line, flush=True)
        return
    try:
        event = json.loads(line)
    except ValueError:
        print(f"(unreadable) {line}", flush=True)
        return
    print(event_line(event), flush=True)


def event_line(event: dict[str, Any]) -> str:
    """One event as a person reads it: when, what, and its details."""
    ts = event.pop("ts", 0)
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    except (TypeError, ValueError, OverflowError, OSError):  # a stamp no clock can show
        stamp = f"{'?':<19}"
    name = event.pop("event", "?")
    details = " ".join(f"{k}={v}" for k, v in event.items())
    return f"{stamp}  {name:<14} {details}".rstrip()


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    if args.host or ":" in args.session:  # maybe another host's: what that costs only then
        from nono.remote.target import target

        host, ref = target(args.session, args.host)
        if host is not None:
            return _remote(host, ref, args)
    record = registry.resolve(args.session)
    if args.net:
        from nono.commands.logs_net import show_egress

        return show_egress(record, args)
    path = registry.events_path(record.id)
    try:
        f = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
    except FileNotFoundError:
        return 0
    with f:
        lines = f.read().splitlines()
        for line in lines[-args.tail :] if args.tail else lines:
            _show(line, args.json)
        while args.follow:
            line = f.readline()
            if line:
                _show(line.rstrip("\n"), args.json)
                continue
            if registry.reconcile(registry.read_record(record.id)).status == registry.EXITED:
                for rest in f.read().splitlines():
                    _show(rest, args.json)
                break
            time.sleep(0.2)  # an event log is small and slow; a short poll is enough
    return 0


def _remote(host: Host, ref: str, args: argparse.Namespace) -> int:
    """That host's nono reads its event log (and follows it, streamed as it comes). Its lines
    are asked for as JSON and each parsed here: re-emitted (--json) or written out by this
    nono, cleaned, so no byte of a line reaches the terminal as that host sent it."""
    import sys

    from nono.remote import oneshot

    unreadable = 0
    if args.net:
        from nono.commands.logs_net import egress_line

    def show(raw: bytes) -> None:
        nonlocal unreadable
        if args.net:  # each line parsed into a record, or left out
            line = egress_line(raw, args.json)
            if line is None:
                unreadable += 1
            else:
                print(line, flush=True)
            return
        try:
            event = json.loads(raw.decode(errors="replace"), parse_constant=_refuse)
        except (ValueError, RecursionError):
            event = None
        if not isinstance(event, dict):
            unreadable += 1
            if not args.json and raw.strip():
                print(f"(unreadable) {oneshot.printable(raw)}", flush=True)
            return
        if args.json:
            print(json.dumps(event), flush=True)  # escapes every control character
            return
        print(oneshot.printable(event_line(event)), flush=True)

    wanted = ["logs", "--json", *(["--follow"] if args.follow else [])]
    wanted += ["--net"] if args.net else []
    wanted += ["--tail", str(args.tail)] if args.tail else []
    # A follow streams until the session ends there; the rest is a file read, quick.
    done = oneshot.run(host, [*wanted, ref], show, timeout=None if args.follow else 60)
    if unreadable and (args.json or args.net):
        what = (
            "egress log line(s) that are not records"
            if args.net
            else "event line(s) that are not JSON"
        )
        print(f"nono: host {host.name}: {unreadable} {what} left out", file=sys.stderr)
    return oneshot.outcome(host, done)


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
