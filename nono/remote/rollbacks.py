"""A host's rollbacks: `nono rollback list/show/restore/verify --host NAME` (or HOST:ID), and
the review after an attached `nono run --host NAME --rollback`, as commands/review.py offers
it after a local run (keep it all, undo it all, see the diffs). Each is done by that host's
nono (remote/oneshot.py). Undoing is the person's own answer or command, never assumed: no
answer to the review (end of input, Ctrl-C) keeps everything."""

from __future__ import annotations

import argparse
import sys

from nono.remote import oneshot
from nono.remote.hosts import Host

QUESTION = "[k]eep all, [r]estore all, [d]iffs? "


def on_host(host: Host, ref: str, args: argparse.Namespace) -> int:
    """The same action done by that host's nono on its own rollbacks; what it prints comes
    back cleaned (a diff is agent-written text), JSON parsed strictly and printed again. No
    time limit: a restore or a verify takes what it takes there, as here (Ctrl-C ends it)."""
    wanted = ["rollback", args.action]
    if args.action == "list":
        wanted += ["--path", args.path] if args.path is not None else []
        wanted += ["--recent", str(args.recent)] if args.recent is not None else []
    else:
        wanted.append(ref)
    if args.action == "show":
        wanted += ["--diff"] if args.diff else []
        wanted += ["--turn", args.turn] if args.turn is not None else []
    if args.action == "restore":
        wanted += ["--turn", args.turn] if args.turn is not None else []
        wanted += ["--snapshot", str(args.snapshot)] if args.snapshot else []
        wanted += ["--dry-run"] if args.dry_run else []
        wanted += ["--force"] if args.force else []
    shape = {"list": list, "show": dict}.get(args.action) if getattr(args, "json", False) else None
    return oneshot.forward(
        host, wanted + (["--json"] if shape else []), as_json=shape, timeout=None
    )


def review_on_host(host: Host, rollback_id: str) -> None:
    undo = f"nono rollback restore --host {host.name} {rollback_id}"
    done = oneshot.run(host, ["rollback", "show", rollback_id, "--json"], timeout=None)
    if done.code != 0:
        oneshot.show_said(host, done)
        print(f"nono: rollback on {host.name}: undo with: {undo}", file=sys.stderr)
        return
    shown = oneshot.strict_json(host, done.output, dict)
    if not shown.get("changes") and not shown.get("git"):
        return  # nothing changed: nothing to ask
    print(f"\nnono: the session on {host.name} changed:")
    oneshot.forward(host, ["rollback", "show", rollback_id], timeout=None)
    while True:
        try:
            answer = input(QUESTION).strip().lower()[:1] or "k"
        except EOFError:
            answer = "k"
        except KeyboardInterrupt:  # the terminal shows ^C where the answer was: end that line
            print()
            answer = "k"
        if answer == "d":
            oneshot.forward(host, ["rollback", "show", rollback_id, "--diff"], timeout=None)
            continue
        if answer == "r":  # as a local review's: the session's changes, all of them, undone
            oneshot.forward(host, ["rollback", "restore", rollback_id, "--force"], timeout=None)
            return
        if answer == "k":
            print(f"kept; undo later with: {undo}")
            return
        print("choose k, r or d (choosing some to restore is for a local session only)")
