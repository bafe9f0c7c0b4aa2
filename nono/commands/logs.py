"""`nono logs`: a session's event log (started, attached, resized, exited, ...)."""

from __future__ import annotations

import argparse
import json
import time

from nono.session import registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", help="id, unique id prefix, or name")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    parser.add_argument("--tail", "-n", type=int, metavar="N", help="only the last N events")
    parser.add_argument("--json", action="store_true", help="raw NDJSON lines")


def _show(line: str, as_json: bool) -> None:
    if as_json:
        print(line, flush=True)
        return
    try:
        event = json.loads(line)
    except ValueError:
        print(f"(unreadable) {line}", flush=True)
        return
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.pop("ts", 0)))
    name = event.pop("event", "?")
    details = " ".join(f"{k}={v}" for k, v in event.items())
    print(f"{stamp}  {name:<14} {details}".rstrip(), flush=True)


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    record = registry.resolve(args.session)
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
