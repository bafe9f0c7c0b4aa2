"""`nono run --host NAME --detached ...`: the same command run by the nono on that host, over
ssh, so that the session, its sandbox and its paths (--workdir, --allow) are that host's. What
it prints comes back cleaned, line by line."""

from __future__ import annotations

import argparse
import sys

from nono.errors import NonoError
from nono.remote.command import run_on_hosts
from nono.remote.hosts import resolve
from nono.session.activity import clean_text


def without_host(argv: list[str]) -> list[str]:
    """The typed arguments less `--host NAME` / `--host=NAME`: the rest means the same there."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--host":
            skip = True
        elif not arg.startswith("--host="):
            out.append(arg)
    return out


def run_detached(args: argparse.Namespace) -> int:
    from nono.config import load_config

    if not args.detached and not args.dry_run:
        raise NonoError("nono run --host starts a detached session (for now)",
                        f"add --detached, then: nono attach {args.host}:NAME")  # fmt: skip
    host = resolve(args.host, load_config().hosts)
    (outcome,) = run_on_hosts([host], [*without_host(args.argv), "--", *args.cmd])
    if outcome.error is not None:  # its last line of error is in it
        raise NonoError(f"host {host.name}: {outcome.error}")
    for line in outcome.said.decode(errors="replace").splitlines():
        if line.strip():
            print(clean_text(line, 1000), file=sys.stderr)
    for line in outcome.output.decode(errors="replace").splitlines():
        print(clean_text(line, 10_000))
    return 0
