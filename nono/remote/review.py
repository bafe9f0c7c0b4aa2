"""After an attached `nono run --host NAME --rollback`: the review of what the session changed
on that host, as commands/review.py offers it after a local run (keep it all, undo it all, see
the diffs), each step done by that host's nono. Undoing is the person's answer to the
question, never assumed: no answer (end of input, Ctrl-C) keeps everything."""

from __future__ import annotations

import sys

from nono.remote import oneshot
from nono.remote.hosts import Host

QUESTION = "[k]eep all, [r]estore all, [d]iffs? "


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
