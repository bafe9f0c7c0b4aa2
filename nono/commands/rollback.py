"""`nono rollback list|show|restore|verify|cleanup`: see what a session changed, and undo it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from nono.errors import NonoError
from nono.progress import Progress
from nono.rollback.changes import git_area, runs_outside_first
from nono.rollback.printable import name, text


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="rollbacks, newest first")
    ls.add_argument("--path", help="only rollbacks whose roots contain PATH")
    ls.add_argument("--recent", type=int, metavar="N", help="only the N newest")
    ls.add_argument("--json", action="store_true")
    _host_option(ls)
    show = sub.add_parser("show", help="what changed: created, modified, deleted, mode changes")
    show.add_argument("id", help="rollback id (HOST:ID on a host)")
    _host_option(show)
    show.add_argument("--diff", action="store_true", help="unified diffs of text files")
    show.add_argument("--turn", metavar="N", help="only what turn N (1.., or last) changed")
    show.add_argument("--json", action="store_true")
    restore = sub.add_parser("restore", help="put the files back (default: as before the session)")
    restore.add_argument("id", help="rollback id (HOST:ID on a host)")
    _host_option(restore)
    which = restore.add_mutually_exclusive_group()
    which.add_argument(
        "--snapshot",
        type=int,
        default=0,
        metavar="N",
        help="restore snapshot N (0, the default, is before the session)",
    )
    which.add_argument(
        "--turn", metavar="N", help="undo only turn N (1.., or last): its files as before it"
    )
    restore.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    restore.add_argument(
        "--force", action="store_true", help="overwrite files you changed after the session"
    )
    verify = sub.add_parser("verify", help="recompute every hash and Merkle root")
    verify.add_argument("id", help="rollback id (HOST:ID on a host)")
    _host_option(verify)
    cleanup = sub.add_parser("cleanup", help="remove old rollbacks")
    cleanup.add_argument("--keep", type=int, metavar="N", help="keep the N newest")
    cleanup.add_argument("--older-than", type=float, metavar="DAYS")
    cleanup.add_argument("--dry-run", action="store_true")


def _host_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", metavar="HOST", help="the rollback is on this host (over ssh)")


def execute(args: argparse.Namespace) -> int:
    from nono.session.registry import refuse_inside_sandbox

    refuse_inside_sandbox()
    ref = getattr(args, "id", None) or ""
    if getattr(args, "host", None) or ":" in ref:  # maybe another host's: only then its cost
        from nono.remote.target import target

        host, ref = target(ref, args.host)
        if host is not None:
            from nono.remote.rollbacks import on_host

            return on_host(host, ref, args)
    actions = {"list": _list, "show": _show, "restore": _restore, "verify": _verify,
               "cleanup": _cleanup}  # fmt: skip
    return actions[args.action](args)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def _list(args: argparse.Namespace) -> int:
    from nono.rollback import list_rollbacks

    rows: list[dict[str, Any]] = []
    for rb in list_rollbacks(path=args.path, recent=args.recent):
        try:
            note = settle(rb)
        except NonoError as exc:  # one rollback that cannot be settled hides no other
            note = f"no final snapshot: {exc.one_line()}"
        snaps = rb.snapshots()
        rows.append({
            "id": rb.id, "created": rb.created, "session": rb.session_id,
            "command": list(rb.command), "roots": list(rb.roots), "snapshots": len(snaps),
            "turns": len(rb.turns()),
            "changes": len(rb.changes()) if len(snaps) > 1 else 0, "bytes": rb.size_bytes(),
            "final_snapshot": final_json(rb), "note": note,
        })  # fmt: skip
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no rollbacks")
        return 0
    print(f"{'ID':<14}{'CREATED':<18}{'SNAPS':>6}{'TURNS':>6}{'CHANGES':>9}{'SIZE':>9}  ROOTS")
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"]))
        print(f"{r['id']:<14}{when:<18}{r['snapshots']:>6}{r['turns']:>6}{r['changes']:>9}"
              f"{_size(r['bytes']):>9}  {roots_text(r['roots'])}")  # fmt: skip
        if r["note"]:
            print(f"{'':<14}{text(r['note'])}")
    return 0


def settle(rb: Any) -> str | None:
    """Take the final snapshot of a session that ended without one (its supervisor killed,
    the disk full) now that it is needed; without it the agent's changes would show as none,
    then be taken for the person's own. Returns the note to show with the changes."""
    if rb.final_missing() and not _session_running(rb):
        rb.snapshot(late=True)
    return final_note(rb)


def _session_running(rb: Any) -> bool:
    if rb.session_id is None:
        return rb.owner_alive()  # a direct run takes its own final snapshot
    from nono.session import registry

    try:
        record = registry.read_record(rb.session_id)
    except NonoError:
        return rb.owner_alive()  # the session is still being started
    return record.status != registry.EXITED and registry.supervisor_alive(record)


def final_note(rb: Any) -> str | None:
    final = rb.final()
    if final is None:
        done = rb.turns()
        if done:
            return (f"the session is still running: its changes up to the end of turn "
                    f"{len(done)} are listed (no final snapshot yet)")  # fmt: skip
        return ("the session is still running: no final snapshot yet, so its changes are "
                "not listed")  # fmt: skip
    if final.late:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(final.created))
        return (f"final snapshot taken late, at {when} (the session ended without one): "
                "changes made after the session ended may be included")  # fmt: skip
    return None


def final_json(rb: Any) -> dict[str, Any] | None:
    final = rb.final()
    if final is None:
        return None
    return {"index": final.index, "created": final.created, "late": final.late}


def roots_text(roots: Any) -> str:
    return ", ".join(name(root) for root in roots)


def change_rows(changes: list[Any], runs: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for c in changes:
        row: dict[str, Any] = {"path": c.path, "kind": c.kind}
        area = git_area(c.path, runs)
        if area is not None:
            row["runs_outside"] = area  # "hook" | "git config"
        if c.kind == "mode" and c.old and c.new:
            row["detail"] = f"{c.old.mode & 0o7777:o} -> {c.new.mode & 0o7777:o}"
        elif c.kind == "modified" and c.old and c.new:
            row["detail"] = f"{c.old.size} -> {c.new.size} bytes"
        elif c.kind == "type" and c.old and c.new:
            row["detail"] = f"{c.old.type} -> {c.new.type}"
        rows.append(row)
    return rows


def print_changes(changes: list[Any], runs: dict[str, str] | None = None) -> None:
    marks = {"created": "+", "deleted": "-", "modified": "~", "mode": "m", "xattr": "x",
             "type": "!"}  # fmt: skip
    rows = change_rows(changes, runs)
    outside = sum(1 for row in rows if "runs_outside" in row)
    if outside:
        print(f"  {outside} change(s) to git hooks or config: git runs these outside the "
              "sandbox, on your next git command")  # fmt: skip
    for row in rows:
        detail = f"  ({row['detail']})" if row.get("detail") else ""
        area = f"[{row['runs_outside']}] " if "runs_outside" in row else ""
        mark = marks.get(row["kind"], "?")
        print(f"  {mark} {row['kind']:<9} {area}{name(row['path'])}{detail}")


def ref_row(change: Any) -> dict[str, Any]:
    return {"repo": change.repo, "ref": change.ref, "kind": change.kind, "old": change.old,
            "new": change.new}  # fmt: skip


def print_ref_changes(refs: list[Any]) -> None:
    """HEAD and branch moves: restore puts them back too, so the review must show them."""
    for r in refs:
        detail = f"  ({r.old} -> {r.new})" if r.kind == "moved" else ""
        detail = detail or (f"  ({r.new or r.old})" if r.new or r.old else "")
        print(f"  g {r.kind:<9} [git ref] {r.ref} in {name(r.repo)}{detail}")


def _show(args: argparse.Namespace) -> int:
    from nono.rollback import Rollback

    rb = Rollback.open(args.id)
    note = settle(rb)
    done = rb.turns()
    turn = rb.turn(args.turn) if args.turn is not None else None
    if turn is not None and not turn.late and rb.final() is not None:
        note = None  # a late final snapshot is no part of an earlier turn
    since, until = (turn.since, turn.until) if turn else (0, -1)
    changes = runs_outside_first(rb.changes(since, until), rb.runs_outside())
    refs = rb.ref_changes(since, until)
    if args.json:
        rows = change_rows(changes, rb.runs_outside())
        if args.diff:
            for row, change in zip(rows, changes, strict=True):
                row["diff"] = rb.diff(change)
        print(
            json.dumps(
                {
                    "id": rb.id,
                    "roots": list(rb.roots),
                    "session": rb.session_id,
                    "snapshots": len(rb.snapshots()),
                    "final_snapshot": final_json(rb),
                    "note": note,
                    "turns": [turn_row(t) for t in done],
                    "turn": turn_row(turn) if turn else None,
                    "changes": rows,
                    "git": [ref_row(r) for r in refs],
                },
                indent=2,
            )
        )
        return 0
    also = f" and {len(refs)} git ref change(s)" if refs else ""
    if turn is not None:
        print(f"rollback {rb.id}, turn {turn.number} of {len(done)} ({turn_span(turn)}): "
              f"{len(changes)} change(s){also} in {roots_text(rb.roots)}")  # fmt: skip
    else:
        print(f"rollback {rb.id}: {len(changes)} change(s){also} in {turns_text(done)} in "
              f"{roots_text(rb.roots)}")  # fmt: skip
    if note:
        print(f"  note: {note}")
    print_changes(changes, rb.runs_outside())
    print_ref_changes(refs)
    if args.diff:
        print_diffs(rb, changes)
    return 0


def turn_row(turn: Any) -> dict[str, Any]:
    return {"number": turn.number, "since": turn.since, "until": turn.until,
            "started": turn.started, "ended": turn.ended, "changes": turn.changes,
            "late": turn.late}  # fmt: skip


def turn_span(turn: Any) -> str:
    def clock(t: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(t))

    return f"{clock(turn.started)}-{clock(turn.ended)}" + (", taken late" if turn.late else "")


def turns_text(done: list[Any]) -> str:
    return "1 turn" if len(done) == 1 else f"{len(done)} turns"


def print_diffs(rb: Any, changes: list[Any]) -> None:
    for change in changes:
        diff = rb.diff(change)
        if diff:
            print(text(diff) if diff != "binary" else f"Binary file {name(change.path)} differs")


def _restore(args: argparse.Namespace) -> int:
    from nono.rollback import Rollback

    rb = Rollback.open(args.id)
    note = settle(rb)
    if args.turn is not None:  # a turn's own snapshots tell its changes, session over or not
        return _restore_turn(rb, args)
    if rb.final_missing() and not args.force:
        raise NonoError(f"rollback {rb.id}: {note}",
                        "stop the session first, or rerun with --force")  # fmt: skip
    if note:
        print(f"nono: rollback {rb.id}: {note}", file=sys.stderr)
    plan = rb.plan_restore(args.snapshot, force=args.force)
    if plan.conflicts and not args.force:
        listed = roots_text(plan.conflicts[:5]) + (" ..." if len(plan.conflicts) > 5 else "")
        raise NonoError(f"changed since the session ended: {listed}",
                        "rerun with --force to overwrite them")  # fmt: skip
    if args.dry_run:
        print(f"would restore {len(plan.actions)} action(s) to snapshot {plan.to}:")
        print_actions(plan)
        print_kept(plan)
        return 0
    result = restore_with_progress(rb, plan)
    print(f"restored {result.restored}, removed {result.removed} (rollback {rb.id}, "
          f"snapshot {plan.to})")  # fmt: skip
    print_skipped(result)
    print_kept(plan)
    return 0


def print_actions(plan: Any) -> None:
    for action in plan.actions:
        print(f"  {action.op:<8} {name(action.path)}")


def restore_with_progress(rb: Any, plan: Any) -> Any:
    with Progress("Restoring") as progress:
        return rb.restore(plan, progress=progress)


def print_skipped(result: Any) -> None:
    for why in result.skipped:
        print(f"  skipped {text(why)}")


def _restore_turn(rb: Any, args: argparse.Namespace) -> int:
    plan = rb.plan_turn_restore(args.turn, force=args.force)
    if args.dry_run:
        print(f"would undo turn {plan.turn} with {len(plan.actions)} action(s), back to "
              f"snapshot {plan.to}:")  # fmt: skip
        print_actions(plan)
    else:
        result = restore_with_progress(rb, plan)
        print(f"undid turn {plan.turn}: restored {result.restored}, removed {result.removed} "
              f"(rollback {rb.id})")  # fmt: skip
        print_skipped(result)
    print_newer(plan, dry_run=args.dry_run)
    print_kept(plan)
    return 0


def print_newer(plan: Any, *, dry_run: bool = False) -> None:
    """What a turn's undo leaves alone, and why: someone's later work is not overwritten."""
    verb = "would keep" if dry_run else "kept"
    for path in plan.newer:
        if plan.force:
            print(f"  {verb} {name(path)}: it holds what was made after turn {plan.turn}")
        else:
            print(f"  {verb} {name(path)}: changed after turn {plan.turn}; --force undoes "
                  "it anyway")  # fmt: skip


def print_kept(plan: Any) -> None:
    for path in plan.kept:
        print(f"  kept {name(path)}: it was there before the session (ignored), so never removed")


def _verify(args: argparse.Namespace) -> int:
    from nono.rollback import Rollback

    rb = Rollback.open(args.id)
    problems = rb.verify()
    if not problems:
        print(f"rollback {rb.id}: sound ({len(rb.snapshots())} snapshot(s))")
        return 0
    for problem in problems:
        print(f"nono: {text(problem)}")
    return 1


def _cleanup(args: argparse.Namespace) -> int:
    from nono.rollback import cleanup

    keep: int | None
    older_than: float | None
    max_bytes: int | None
    if args.keep is None and args.older_than is None:  # the retention every run applies
        from nono.config import load_config

        cfg = load_config().rollback
        keep, older_than, max_bytes = cfg.keep, cfg.older_than_days, cfg.max_total_mb * 1024 * 1024
    else:
        keep, older_than, max_bytes = args.keep, args.older_than, None
    doomed = cleanup(keep, older_than, max_bytes, dry_run=True)
    # Said before anything goes: which of them hold changes that were never restored.
    losses = {rb.id: _unrestored_note(rb) for rb in doomed}
    removed = doomed if args.dry_run else cleanup(keep, older_than, max_bytes)
    verb = "would remove" if args.dry_run else "removed"
    for rb in removed:
        print(f"{verb} {rb.id} ({roots_text(rb.roots)}){losses.get(rb.id, '')}")
    if not removed:
        print("nothing to clean up")
    return 0


def _unrestored_note(rb: Any) -> str:
    try:
        left = rb.unrestored()
    except NonoError as exc:
        return f": unreadable ({exc.one_line()})"
    if left is None:
        return ": no final snapshot (its session may still run)"
    return f": {left} change(s) never restored" if left else ""
