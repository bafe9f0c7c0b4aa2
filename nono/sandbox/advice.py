"""What nono tells a person to do about a refused path: a grant nono itself would accept (checked
by the policy's own refusal rule), or, when there is none, what to do instead."""

from __future__ import annotations

import os
from dataclasses import dataclass

from nono.errors import NonoError
from nono.sandbox.policy import Access, Grant, Policy, check_conflicts, contains


@dataclass(frozen=True)
class Advice:
    # A flag `nono run` accepts and that grants the access (None: no such flag).
    flag: str | None
    # What a person reads: the flag, with why it is that one, or what to do instead.
    text: str


def refusal(policy: Policy, flag: str, path: str, is_file: bool) -> str | None:
    """Why nono would refuse `flag path` (it would expose a protected path), or None."""
    try:
        check_conflicts([Grant(path, Access.READ, is_file, flag, path)], policy.protected)
    except NonoError as exc:
        # "refusing --read /home/u: it would expose ~/.ssh (/home/u/.ssh)" -> "it would expose
        # ~/.ssh": the name a person knows is enough beside the path they asked about.
        return exc.message.split(": ", 1)[-1].rsplit(" (", 1)[0]
    return None


def advise(policy: Policy, path: str, op: str) -> Advice:
    """How to let the child `op` the canonical `path`, which the policy refuses."""
    workdir = policy.workdir
    in_workdir = workdir != "/" and contains(workdir, path)
    if in_workdir and refusal(policy, "--allow-cwd", workdir, False) is None:
        return Advice("--allow-cwd", "--allow-cwd")
    if not os.path.exists(path):
        return _to_create(policy, path)
    is_file = not os.path.isdir(path)
    flag = ("--read" if op == "read" else "--allow") + ("-file" if is_file else "")
    why = refusal(policy, flag, path, is_file)
    if why is None:
        return Advice(f"{flag} {path}", f"{flag} {path}")
    kind = "file" if is_file else "directory"
    return Advice(None, f"no grant offered: nono will not grant this {kind} ({why}); "
                        "grant only the paths inside it that are needed")  # fmt: skip


def _to_create(policy: Policy, path: str) -> Advice:
    """A path that does not exist yet: a grant cannot name it, so grant the directory it is
    made in, or have it made first and grant that."""
    existing = os.path.dirname(path)
    while existing != "/" and not os.path.exists(existing):
        existing = os.path.dirname(existing)
    why = refusal(policy, "--allow", existing, False)
    if why is None:
        flag = f"--allow {existing}"
        return Advice(flag, f"{flag} (it does not exist yet: it is created there)")
    refused = f"it does not exist yet and nono will not grant {existing} ({why})"
    top = os.path.join(existing, os.path.relpath(path, existing).split(os.sep)[0])
    if top == path:  # the file itself is made straight in the directory nono will not grant
        return Advice(None, f"{refused}: create it first (touch {path}), then grant it with "
                            f"--allow-file {path}")  # fmt: skip
    return Advice(None, f"{refused}: create its directory first (mkdir {top}), then grant it "
                        f"with --allow {top}")  # fmt: skip
