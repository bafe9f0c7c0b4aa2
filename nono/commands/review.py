"""After an interactive run with --rollback: the review of what the session changed (keep it,
undo it all, or undo some), and the retention every run applies afterwards."""

from __future__ import annotations

import sys
from typing import Any

from nono.commands.rollback import (
    print_changes,
    print_diffs,
    print_kept,
    print_ref_changes,
    roots_text,
    settle,
)
from nono.errors import NonoError
from nono.rollback.changes import runs_outside_first
from nono.rollback.printable import name


def apply_retention(current: str | None) -> list[str]:
    """The retention after a run (the same in every mode), and what to tell the person: the
    rollbacks kept beyond the limits because removing them would lose unrestored changes."""
    from nono.config import load_config
    from nono.rollback import retain

    try:
        cfg = load_config().rollback
        kept = retain(cfg.keep, cfg.older_than_days, cfg.max_total_mb * 1024 * 1024,
                      current=current)  # fmt: skip
    except NonoError as exc:
        return [f"nono: rollback retention skipped: {exc.one_line()}"]
    limits = (f"[rollback] keep = {cfg.keep}, older_than_days = {cfg.older_than_days:g}, "
              f"max_total_mb = {cfg.max_total_mb}")  # fmt: skip
    lines = []
    at_risk = [(rb, left) for rb, left in kept.spared if left]  # None: its session may run
    if len(at_risk) > 3:  # one line, not a list that grows with every run
        lines.append(f"nono: kept {len(at_risk)} rollbacks beyond {limits}: they hold "
                     "changes never restored (nono rollback list; nono rollback cleanup "
                     "removes them)")  # fmt: skip
    else:
        for rb, left in at_risk:
            lines.append(f"nono: kept rollback {rb.id} ({roots_text(rb.roots)}) beyond {limits}: "
                         f"{left} change(s) never restored (nono rollback show {rb.id}; "
                         "nono rollback cleanup removes it)")  # fmt: skip
    for rb, left in kept.forced:
        lines.append(f"nono: removed rollback {rb.id} ({roots_text(rb.roots)}) to stay within "
                     f"max_total_mb = {cfg.max_total_mb}: {left} change(s) it held were never "
                     "restored")  # fmt: skip
    return lines


def restore_some(rb: Any, paths: list[str]) -> Any:
    """Restore only `paths` (and what they need: their deleted parent directories)."""
    from dataclasses import replace

    plan = rb.plan_restore(0, force=True)

    def wanted(action: Any) -> bool:
        for p in paths:
            if action.path == p or action.path.startswith(p.rstrip("/") + "/"):
                return True
            if action.op == "mkdir" and p.startswith(action.path.rstrip("/") + "/"):
                return True
        return False

    return rb.restore(replace(plan, actions=tuple(a for a in plan.actions if wanted(a))))


def review(rb: Any) -> None:
    """After an interactive run: what changed, and keep it, undo it all, or undo some."""
    try:
        note = settle(rb)
    except NonoError as exc:
        print(f"nono: rollback {rb.id}: no final snapshot ({exc.one_line()}); the baseline is "
              f"kept: nono rollback restore {rb.id}", file=sys.stderr)  # fmt: skip
        return
    changes = runs_outside_first(rb.changes(), rb.runs_outside())
    refs = rb.ref_changes()
    if not changes and not refs:
        return
    also = f" and {len(refs)} git ref(s)" if refs else ""
    print(f"\nnono: the session changed {len(changes)} path(s){also} (rollback {rb.id}):")
    if note:
        print(f"  note: {note}")
    print_changes(changes[:40], rb.runs_outside())
    if len(changes) > 40:
        print(f"  ... and {len(changes) - 40} more (nono rollback show {rb.id})")
    print_ref_changes(refs)
    while True:
        try:
            answer = input("[k]eep all, [r]estore all, [s]elect to restore, [d]iffs? ").strip()
        except EOFError:
            answer = "k"
        except KeyboardInterrupt:  # the terminal shows ^C where the answer was: end that line
            print(f"\nkept; undo later with: nono rollback restore {rb.id}")
            return
        answer = answer.lower()[:1] or "k"
        if answer == "k":
            print(f"kept; undo later with: nono rollback restore {rb.id}")
            return
        if answer == "d":
            print_diffs(rb, changes)
            continue
        if answer == "r":
            plan = rb.plan_restore(0, force=True)
            result = rb.restore(plan)
            print(f"restored {result.restored}, removed {result.removed}")
            print_kept(plan)
            return
        if answer == "s":
            values = [(c.path, f"{c.kind:<9} {name(_shown(c.path))}") for c in changes]
            chosen = choose(f"Restore from rollback {rb.id}", values)
            if chosen:
                result = restore_some(rb, list(chosen))
                print(f"restored {result.restored}, removed {result.removed}; "
                      f"the rest is kept (rollback {rb.id})")  # fmt: skip
                return


def _shown(path: str) -> str:
    """A path as short as it can be read: from here when it lies here (where the run was),
    else from ~. A checklist line cuts what does not fit."""
    import os

    here = os.getcwd()
    if path.startswith(here + "/"):
        return path[len(here) + 1 :]
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "/" and path.startswith(home + "/") else path


def choose(title: str, values: list[tuple[str, str]]) -> list[str] | None:
    """A full-screen checklist: Space ticks the focused path, Enter restores the ticked ones,
    Esc cancels (None). prompt_toolkit's own dialog takes Enter as a tick as well, so a person
    who ticked one path and pressed Enter to confirm found it unticked and the dialog still up."""
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.key_binding.bindings.focus import focus_next, focus_previous
    from prompt_toolkit.key_binding.defaults import load_key_bindings
    from prompt_toolkit.layout import HSplit, Layout
    from prompt_toolkit.widgets import Button, CheckboxList, Dialog, Label

    box: CheckboxList[str] = CheckboxList(values)
    bindings = box.control.key_bindings
    assert isinstance(bindings, KeyBindings)  # the list builds its control with its own
    bindings.remove("enter")  # Space still ticks; Enter falls through to confirm
    app: Application[list[str] | None] = Application(full_screen=True, mouse_support=True)

    def done(result: list[str] | None) -> None:
        app.exit(result=result)

    dialog = Dialog(
        title=title,
        body=HSplit(
            [Label("Space ticks a path, Enter restores the ticked ones, Esc cancels."), box],
            padding=1,
        ),
        buttons=[
            Button("Restore", handler=lambda: done(list(box.current_values))),
            Button("Cancel", handler=lambda: done(None)),
        ],
        with_background=True,
    )
    keys = KeyBindings()
    keys.add("enter")(lambda _event: done(list(box.current_values)))
    keys.add("escape", eager=True)(lambda _event: done(None))
    keys.add("c-c")(lambda _event: done(None))
    keys.add("tab")(focus_next)
    keys.add("s-tab")(focus_previous)
    app.layout = Layout(dialog)
    app.key_bindings = merge_key_bindings([load_key_bindings(), keys])
    return app.run()
