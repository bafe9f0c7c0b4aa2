"""What a profile does for the agent it is written for, before the sandbox starts.

An agent's first run writes its state (config, login, databases, lock files) into directories it
makes in the home directory, which the sandbox shows read-only. So a profile names that state
and nono makes it first, 0700, outside the sandbox; the directories then become ordinary
writable grants. Three more things, each said by `--dry-run`:

- `agent.adopt`: a file the agent keeps *beside* its directory (Claude's `~/.claude.json`,
  written by temp file + rename with a lock directory next to it, which no grant on a file can
  allow) is moved into the directory, and a symbolic link is left in its place. Inside, the
  profile points the agent at the directory (`CLAUDE_CONFIG_DIR`); outside, the agent follows
  the link: one state, used by both, never a copy.
- `agent.args`: arguments put right after the program's name when the command is the agent
  itself (`agent.commands`), to make its own sandbox defer to nono's. Nothing in the person's
  files is changed for this.
- `env.set` (the profile's ordinary variables) keeps the agent's state in that one directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from nono.errors import NonoError


class AgentSetup(NamedTuple):
    """A profile's `agent:` section, with paths as written (expanded when used)."""

    kind: str | None = None
    commands: tuple[str, ...] = ()
    state: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    adopt: tuple[tuple[str, str], ...] = ()  # (file beside the directory, its place inside)

    @property
    def empty(self) -> bool:
        return not (self.kind or self.commands or self.state or self.args or self.adopt)


class Step(NamedTuple):
    """One thing done (or, in a dry run, to be done) before the sandbox starts."""

    what: str  # "create", "adopt", "args", "both"
    text: str


def is_the_agent(setup: AgentSetup, argv: Sequence[str]) -> bool:
    return bool(argv) and os.path.basename(argv[0]) in setup.commands


def with_args(setup: AgentSetup, argv: Sequence[str]) -> list[str]:
    """The command with the profile's arguments after the program name, when it is the agent."""
    if not setup.args or not is_the_agent(setup, argv):
        return list(argv)
    return [argv[0], *setup.args, *argv[1:]]


def plan(setup: AgentSetup, argv: Sequence[str], expand) -> list[Step]:
    """What `prepare` would do now, for `--dry-run` and for the line printed at start."""
    steps = []
    for written in setup.state:
        path = expand(written)
        if not os.path.lexists(path):
            steps.append(Step("create", f"create {_short(path)} (0700): the agent's own state"))
    for src, dst in ((expand(b), expand(i)) for b, i in setup.adopt):
        beside, inside = _short(src), _short(dst)
        if _is_plain_file(src) and not os.path.lexists(dst):
            steps.append(
                Step(
                    "adopt",
                    f"move {beside} to {inside}, leaving a link at {beside} "
                    "(the agent outside nono uses the same file)",
                )
            )
        elif _is_plain_file(src) and _is_plain_file(dst):
            steps.append(
                Step(
                    "both",
                    f"{beside} and {inside} both exist: inside nono the agent uses "
                    f"{inside}; merge them by hand and replace {beside} with a link "
                    f"to it to share one",
                )
            )
    if setup.args and is_the_agent(setup, argv):
        steps.append(Step("args", "adds to the command: " + " ".join(setup.args)))
    return steps


def prepare(setup: AgentSetup, expand, refuse=None) -> list[Step]:
    """Make the agent's state directories and adopt its files. Returns what was done.
    `refuse(path)` raises for a place the policy would never grant (inside ~/.ssh, nono's
    state): checked before anything is made there, not after."""
    done = []
    for written in setup.state:
        path = expand(written)
        if os.path.lexists(path):
            continue
        if refuse is not None:
            refuse(path, f"profile agent.state {written}")
        try:
            os.makedirs(path, 0o700)
        except OSError as exc:
            raise NonoError(
                f"cannot create the agent's state directory {written}: {exc.strerror}",
                f"create it yourself (mkdir -m 700 {written}) or fix what stands in its way",
            ) from None
        done.append(Step("create", f"created {_short(path)} (the agent's own state)"))
    for src, dst in ((expand(b), expand(i)) for b, i in setup.adopt):
        beside, inside = _short(src), _short(dst)
        if not _is_plain_file(src) or os.path.lexists(dst):
            continue
        # The state is the agent's to change: a directory on the way in that it swapped for a
        # link would send the person's file elsewhere. Only a place truly inside it will do.
        home = next((expand(s) for s in setup.state if dst.startswith(expand(s) + "/")), None)
        real = os.path.realpath(os.path.dirname(dst))
        if home is None or not (real + "/").startswith(os.path.realpath(home) + "/"):
            done.append(Step("both", f"left {beside} where it is: {inside} is not inside "
                                     "the agent's state directory as it stands now"))  # fmt: skip
            continue
        _adopt(src, dst, beside, inside)
        done.append(Step("adopt", f"moved {beside} into {inside}; {beside} links to it"))
    return done


def _short(path: str) -> str:
    home = os.path.expanduser("~")
    return "~" + path[len(home) :] if home != "/" and path.startswith(home + "/") else path


def _is_plain_file(path: str) -> bool:
    return os.path.isfile(path) and not os.path.islink(path)


def _adopt(src: str, dst: str, beside: str, inside: str) -> None:
    """Move `src` to `dst` and leave a relative link at `src`, so that a crash at any point
    leaves the file reachable at one of the two names and never loses it."""
    if not os.path.isdir(os.path.dirname(dst)):
        raise NonoError(f"cannot move {beside} into {inside}: its directory does not exist")
    try:
        try:
            os.link(src, dst)  # both names at once, then the old one becomes the link
        except OSError:
            shutil.copy2(src, dst)  # another filesystem: the copy is complete before the swap
        link = os.path.relpath(dst, os.path.dirname(src))
        tmp = f"{src}.nono-link"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(link, tmp)
        os.replace(tmp, src)
    except OSError as exc:
        raise NonoError(
            f"cannot move {beside} into {inside}: {exc.strerror}",
            f"move it yourself: mv {beside} {inside} && ln -s {inside} {beside}",
        ) from None


def describe(
    setup: AgentSetup, steps: list[Step], env_set: Mapping[str, str], expand
) -> dict | None:
    """The dry run's account of what the profile does to the agent and its settings."""
    if setup.empty:
        return None
    return {
        "kind": setup.kind,
        "commands": list(setup.commands),
        "state": [_short(expand(s)) for s in setup.state],
        "does": [step.text for step in steps],
        "env": dict(env_set),
    }
