"""`nono prune`: remove the records of exited sessions."""

from __future__ import annotations

import argparse
import time

from nono.session import registry


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="list what would go")
    parser.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="only sessions that ended more than DAYS ago",
    )
    parser.add_argument(
        "--keep", type=int, metavar="N", default=0, help="keep the N most recently ended sessions"
    )


def execute(args: argparse.Namespace) -> int:
    registry.refuse_inside_sandbox()
    records, _ = registry.list_records()
    exited = sorted((r for r in records if r.status == registry.EXITED),
                    key=lambda r: r.ended or r.created, reverse=True)  # fmt: skip
    doomed = exited[max(0, args.keep) :]
    if args.older_than is not None:
        cutoff = time.time() - args.older_than * 86400
        doomed = [r for r in doomed if (r.ended or r.created) < cutoff]
    for r in doomed:
        if not args.dry_run:
            registry.remove(r)
        print(f"{'would remove' if args.dry_run else 'removed'} {r.id} ({r.name}, {r.state})")
    if not doomed:
        print("nothing to prune")
    return 0
