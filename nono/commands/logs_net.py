"""`nono logs --net`: a session's egress log, a line per connection its agent made through
nono's proxy (or tried to), denials marked; followed as it grows and rotates."""

from __future__ import annotations

import argparse
import sys

from nono import paths
from nono.errors import NonoError
from nono.net.egress_view import as_json, follow, parse_line, record_line
from nono.session import registry


def no_host_list(record: registry.Record) -> NonoError:
    return NonoError(
        f"session {record.name} has no host list (network: {record.network}), so nothing of "
        "it goes through nono's proxy and there is no egress log",
        f"`nono logs {record.name}` shows its events; `nono run --allow-host HOST` starts a "
        "session whose connections are logged",
    )


def egress_line(raw: bytes | str, json_form: bool) -> str | None:
    """One line of the log as printed: the stored object re-serialised, or the record in
    words, cleaned; None for a line that is not a record."""
    parsed = parse_line(raw)
    if parsed is None:
        return None
    data, record = parsed
    return as_json(data) if json_form else record_line(record)


def show_egress(record: registry.Record, args: argparse.Namespace) -> int:
    if record.network != "hosts":
        raise no_host_list(record)
    path = paths.egress_log(record.id)

    def done() -> bool:
        if not args.follow:
            return True
        try:
            now = registry.reconcile(registry.read_record(record.id))
        except (OSError, ValueError, NonoError):  # removed meanwhile: nothing more will come
            return True
        return now.status == registry.EXITED

    shown = unreadable = 0
    for raw in follow(path, done, tail=args.tail):
        line = egress_line(raw, args.json)
        if line is None:
            unreadable += 1
            continue
        print(line, flush=True)
        shown += 1
    if unreadable:
        print(f"nono: {unreadable} line(s) of {path} are not egress records; left out",
              file=sys.stderr)  # fmt: skip
    if not shown and not args.follow and not args.json:
        print(f"nono: {record.name} has made no connection through the proxy", file=sys.stderr)
    return 0
