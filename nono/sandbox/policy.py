"""The sandbox policy: what a child may touch, as plain data, and pure questions about it."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from nono.errors import NonoError
from nono.pathkinds import kind_for


class Access(enum.Flag):
    """What a grant allows. READ includes execute: a readable program can be run."""

    READ = enum.auto()
    WRITE = enum.auto()
    READWRITE = READ | WRITE

    @property
    def label(self) -> str:
        return {Access.READ: "r", Access.WRITE: "w", Access.READWRITE: "rw"}[self]

    @classmethod
    def parse(cls, text: str) -> Access:
        table = {"read": cls.READ, "write": cls.WRITE, "readwrite": cls.READWRITE}
        return table[text]


@dataclass(frozen=True)
class Grant:
    """One filesystem rule: a canonical path, what is allowed beneath it, and who asked."""

    path: str
    access: Access
    is_file: bool
    source: str
    requested: str = ""
    # Terminal devices need ioctls (TCGETS, TIOCGWINSZ, ...): Landlock's IOCTL_DEV right.
    ioctl: bool = False

    def covers(self, path: str) -> bool:
        if self.is_file:
            return path == self.path
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


@dataclass(frozen=True)
class Protected:
    """A path nono never grants (secrets, nono's own state), with the name a person knows."""

    path: str
    label: str


@dataclass(frozen=True)
class HostEntry:
    """One host rule or `--resolve` pin as written, and who asked for it (a flag, a profile,
    a host group). Checked when the policy is built; parsed again by the proxy."""

    text: str
    source: str


@dataclass(frozen=True)
class NetworkPolicy:
    blocked: bool = False
    # --allow-port: connect and bind (meant for localhost servers).
    open_ports: tuple[int, ...] = ()
    # --allow-connect-port: outbound connect only.
    connect_ports: tuple[int, ...] = ()
    # The host list (--allow-host, --allow-host-group, profiles' network.allow_hosts): with
    # any, the child has a network namespace of its own and reaches out only through its proxy.
    allow_hosts: tuple[HostEntry, ...] = ()
    deny_hosts: tuple[HostEntry, ...] = ()
    resolve: tuple[HostEntry, ...] = ()
    host_groups: tuple[str, ...] = ()
    # Why a host list that was given is not in effect ("--block-net blocks everything").
    hosts_dropped: str = ""

    @property
    def filtered(self) -> bool:
        """A host list is in effect: the proxy is the only way out."""
        return bool(self.allow_hosts) and not self.blocked

    @property
    def mode(self) -> str:
        if self.blocked:
            return "blocked"
        return "hosts" if self.filtered else "allowed"


@dataclass(frozen=True)
class EnvPolicy:
    # None: inherit everything not stripped. A tuple: only these patterns (plus essentials).
    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    set: tuple[tuple[str, str], ...] = ()
    # Credentials the profile hands over by name (the agent's own API key).
    passed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    grants: tuple[Grant, ...]
    protected: tuple[Protected, ...]
    network: NetworkPolicy = NetworkPolicy()
    env: EnvPolicy = EnvPolicy()
    workdir: str = "/"
    profile: str | None = None
    # Landlock scopes: no signals to, no abstract sockets of, processes outside the sandbox.
    isolate_ipc: bool = True
    # Optional paths (from profiles and groups) that did not exist and were left out.
    skipped: tuple[tuple[str, str], ...] = field(default=())
    # Pathname Unix sockets the child may connect to; every other host socket is covered.
    unix_sockets: tuple[str, ...] = ()
    # The most processes the sandbox may hold (0 or None: no bound).
    max_processes: int | None = None
    # Repositories' hooks and config writable inside writable grants (off: read-only there).
    git_hooks_writable: bool = False

    def writable_roots(self) -> list[str]:
        return [g.path for g in self.grants if Access.WRITE in g.access and not g.is_file]


def contains(parent: str, child: str) -> bool:
    """True when `child` is `parent` or lies beneath it (both canonical, absolute)."""
    if parent == "/":
        return True
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def check_conflicts(grants: Iterable[Grant], protected: Sequence[Protected]) -> None:
    """Refuse a grant that would expose a protected path: Landlock can only allow, not carve out."""
    if not protected:
        return
    # Protected paths share an ancestor (home); a grant unrelated to it cannot conflict.
    anchor = os.path.commonpath([p.path for p in protected])
    for grant in grants:
        if not (contains(grant.path, anchor) or contains(anchor, grant.path)):
            continue
        for prot in protected:
            if contains(grant.path, prot.path):
                if grant.is_file and grant.path != prot.path:
                    continue
                raise NonoError(
                    f"refusing {grant.source} {grant.requested or grant.path}: "
                    f"it would expose {prot.label} ({prot.path})",
                    "nono never grants secrets or its own state; grant a narrower path",
                )
            if contains(prot.path, grant.path):
                raise NonoError(
                    f"refusing {grant.source} {grant.requested or grant.path}: "
                    f"it lies inside {prot.label} ({prot.path})",
                    "nono never grants secrets or its own state",
                )


@dataclass(frozen=True)
class Decision:
    allowed: bool
    path: str
    op: str
    reason: str
    grants: tuple[Grant, ...] = ()
    suggestion: str | None = None


def evaluate(policy: Policy, path: str, op: str, *, cwd: str | None = None) -> Decision:
    """May the child `op` ("read" or "write") `path`? If not, which flag would grant it."""
    if op not in ("read", "write"):
        raise NonoError(f"unknown operation {op!r}", "use --op read or --op write")
    base = cwd or policy.workdir
    canonical = os.path.realpath(os.path.join(base, os.path.expanduser(path)))
    wanted = Access.READ if op == "read" else Access.WRITE

    for prot in policy.protected:
        if contains(prot.path, canonical):
            return Decision(
                False,
                canonical,
                op,
                f"protected: {prot.label} is never granted",
                suggestion=None,
            )

    covering = tuple(g for g in policy.grants if g.covers(canonical))
    granted = Access(0)
    for g in covering:
        granted |= g.access
    if wanted in granted:
        contributing = tuple(g for g in covering if wanted in g.access)
        return Decision(True, canonical, op, "granted", grants=contributing)

    return Decision(
        False,
        canonical,
        op,
        "no grant covers it" if not covering else f"granted {granted.label} only",
        grants=covering,
        suggestion=suggest_flag(canonical, op, policy.workdir),
    )


def suggest_flag(path: str, op: str, workdir: str) -> str:
    """The narrowest flag that would grant `op` on `path`."""
    if workdir != "/" and contains(workdir, path):
        return "--allow-cwd"
    kind = kind_for("read" if op == "read" else "readwrite", not os.path.isdir(path))
    return f"{kind.flag} {path}"
