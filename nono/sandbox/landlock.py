"""The Landlock ruleset for a policy: built before fork, enforced in the child; strict."""

from __future__ import annotations

from landlockpy import AccessFS, AccessNet, Ruleset

from nono.errors import NonoError
from nono.sandbox.kernel import Plan
from nono.sandbox.policy import Access, Policy

_READ_DIR = AccessFS.READ_FILE | AccessFS.READ_DIR | AccessFS.EXECUTE
_WRITE_DIR = (
    AccessFS.WRITE_FILE
    | AccessFS.REMOVE_DIR
    | AccessFS.REMOVE_FILE
    | AccessFS.MAKE_DIR
    | AccessFS.MAKE_REG
    | AccessFS.MAKE_SYM
    | AccessFS.MAKE_SOCK
    | AccessFS.MAKE_FIFO
    | AccessFS.REFER
    | AccessFS.TRUNCATE
)
_READ_FILE = AccessFS.READ_FILE | AccessFS.EXECUTE
_WRITE_FILE = AccessFS.WRITE_FILE | AccessFS.TRUNCATE


def rights(access: Access, is_file: bool, ioctl: bool) -> AccessFS:
    out = AccessFS.NONE
    if Access.READ in access:
        out |= _READ_FILE if is_file else _READ_DIR
    if Access.WRITE in access:
        out |= _WRITE_FILE if is_file else _WRITE_DIR
    if ioctl:
        out |= AccessFS.IOCTL_DEV
    return out


def build_ruleset(policy: Policy, plan: Plan, proxy_port: int | None = None) -> Ruleset:
    """A ready-to-enforce ruleset. Unsupported rights raise instead of being dropped.
    `proxy_port`: with a host list, the one port the child may connect to besides the listed
    ones (its proxy, on the loopback of its own network namespace)."""
    try:
        ruleset = Ruleset(
            handled_fs=plan.handled_fs,
            handled_net=plan.handled_net,
            scoped=plan.scoped,
            best_effort=False,
        )
    except OSError as exc:
        raise NonoError(f"cannot create the Landlock ruleset: {exc}") from None
    try:
        for grant in policy.grants:
            wanted = rights(grant.access, grant.is_file, grant.ioctl) & plan.handled_fs
            try:
                ruleset.allow_path(grant.path, wanted)
            except OSError as exc:
                raise NonoError(
                    f"cannot grant {grant.path} ({grant.source}): {exc.strerror or exc}"
                ) from None
        if plan.handled_net:
            for port in policy.network.open_ports:
                ruleset.allow_port(port, AccessNet.CONNECT_TCP | AccessNet.BIND_TCP)
            for port in policy.network.connect_ports:
                ruleset.allow_port(port, AccessNet.CONNECT_TCP)
            if proxy_port is not None:
                ruleset.allow_port(proxy_port, AccessNet.CONNECT_TCP)
    except BaseException:
        ruleset.close()
        raise
    return ruleset


def add_rules(ruleset: Ruleset, plan: Plan, rules: list) -> None:
    """Rules for what exists only inside the private view (its /tmp, /proc, devpts), added
    in the child once the view is built: Landlock rules name inodes, not paths."""
    for rule in rules:
        wanted = rights(rule.access, rule.is_file, rule.ioctl) & plan.handled_fs
        ruleset.allow_path(rule.path, wanted)
