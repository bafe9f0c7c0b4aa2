"""The child's environment: strip what injects code or leaks credentials, keep what works."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping

from nono.sandbox.policy import EnvPolicy

# Always removed, whatever a profile says: each one loads code into the child, changes how a
# shell or interpreter starts, or hands over a credential or a socket outside the sandbox.
STRIP = (
    "LD_*", "DYLD_*", "GCONV_PATH", "LOCPATH", "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF",
    "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PYTHONINSPECT", "PYTHONBREAKPOINT",
    "NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE",
    "BASH_ENV", "ENV", "BASH_FUNC_*", "SHELLOPTS", "BASHOPTS", "PROMPT_COMMAND", "PS4", "IFS",
    "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB", "RUBYOPT", "RUBYLIB",
    "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "DOTNET_STARTUP_HOOKS",
    "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_ASKPASS", "SSH_ASKPASS",
    "OP_SESSION_*", "OP_SERVICE_ACCOUNT_TOKEN", "OP_CONNECT_TOKEN", "OP_CONNECT_HOST",
    "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "GNOME_KEYRING_CONTROL",
    "DBUS_SESSION_BUS_ADDRESS", "NONO_*",
)  # fmt: skip

# Survive every policy, even an allow-list: nothing works without them.
ESSENTIAL = ("PATH", "HOME", "USER", "LOGNAME", "TERM", "SHELL", "LANG", "LC_*", "TZ")
ESSENTIAL += ("COLORTERM", "TMPDIR", "COLUMNS", "LINES")


@functools.lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]:
    """Exact names, NAME* prefixes, and general patterns: startup stays free of regex compiles."""
    exact, prefixes, general = set(), [], []
    for p in patterns:
        head, star, tail = p.partition("*")
        if not any(c in p for c in "?["):
            if not star:
                exact.add(p)
                continue
            if not tail:
                prefixes.append(head)
                continue
        general.append(p)
    return frozenset(exact), tuple(prefixes), tuple(general)


def _matches(name: str, patterns: Iterable[str]) -> bool:
    exact, prefixes, general = _compiled(tuple(patterns))
    if name in exact or name.startswith(prefixes):
        return True
    return any(fnmatch.fnmatchcase(name, p) for p in general)


def is_stripped(name: str) -> bool:
    return _matches(name, STRIP)


def check_profile_env(
    allow: Iterable[str], deny: Iterable[str], set_names: Iterable[str]
) -> tuple[str, str] | None:
    """A profile may not re-admit a stripped variable nor deny an essential one."""
    for pattern in allow:
        if pattern in STRIP or (not any(c in pattern for c in "*?[") and is_stripped(pattern)):
            return "allow", f"{pattern} is always stripped and cannot be allowed"
    for name in set_names:
        if is_stripped(name):
            return "set", f"{name} is always stripped and cannot be set"
    for pattern in deny:
        literal = not any(c in pattern for c in "*?[")
        if pattern in ESSENTIAL or (literal and _matches(pattern, ESSENTIAL)):
            return "deny", f"{pattern} is essential and cannot be denied"
    return None


def sanitize(
    environ: Mapping[str, str], policy: EnvPolicy, nono_vars: Mapping[str, str]
) -> dict[str, str]:
    """The environment the child starts with."""
    out: dict[str, str] = {}
    for name, value in environ.items():
        if is_stripped(name):
            continue
        essential = _matches(name, ESSENTIAL)
        if not essential:
            if policy.allow is not None and not _matches(name, policy.allow):
                continue
            if _matches(name, policy.deny):
                continue
        out[name] = value
    for name, value in policy.set:
        out[name] = value
    out.update(nono_vars)
    return out


def removed(environ: Mapping[str, str], result: Mapping[str, str]) -> list[str]:
    return sorted(name for name in environ if name not in result)
