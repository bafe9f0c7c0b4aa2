"""The child's environment: strip what injects code or leaks credentials, keep what works."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping
from typing import NamedTuple

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
    "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "GNOME_KEYRING_CONTROL", "NONO_*",
    # Control sockets of the terminal, multiplexer, editor, desktop or container engine the
    # user runs nono from: each one runs commands or types keys outside the sandbox.
    "TMUX", "TMUX_PANE", "TMUX_TMPDIR", "STY", "WINDOW", "ZELLIJ*", "KITTY_LISTEN_ON",
    "KITTY_PUBLIC_KEY", "WEZTERM_UNIX_SOCKET", "ALACRITTY_SOCKET", "NVIM", "NVIM_LISTEN_ADDRESS",
    "VSCODE_IPC_HOOK*", "VSCODE_GIT_*", "EMACS_SOCKET_NAME", "KONSOLE_DBUS_*",
    "GNOME_TERMINAL_SCREEN", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS",
    "SWAYSOCK", "I3SOCK", "NIRI_SOCKET", "HYPRLAND_INSTANCE_SIGNATURE", "WAYLAND_SOCKET",
    "DOCKER_HOST", "CONTAINER_HOST",
)  # fmt: skip

# Removed unless a profile passes them by name (`env.pass`, or a literal name in `env.allow`):
# credentials, matched by the words their names use, since no list of services is complete.
# Matched on the upper-cased name (npm reads npm_config__authToken).
CREDENTIALS = (
    "*TOKEN", "*TOKEN_*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*PASSPHRASE*", "*_PASS",
    "*_PWD", "*CREDENTIAL*", "*API_KEY*", "*APIKEY*", "*ACCESS_KEY*", "*PRIVATE_KEY*", "*_KEY",
    "*_AUTH", "*_AUTH_*", "*_PAT", "*COOKIE*", "*JWT*", "*WEBHOOK*", "KRB5CCNAME", "NETRC",
    # The display servers: an X client can type into any window. The sandbox hides their
    # sockets anyway, so these would only make programs try and fail; a profile that grants
    # a display's socket passes them with it.
    "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY",
)  # fmt: skip

# What a session rendered by nono's own terminal model is told it runs on: the model answers
# xterm's queries and draws xterm-256color's capabilities (256 colours, truecolor, the
# alternate screen, bracketed paste, SGR mouse), and that entry is in ncurses-base everywhere.
MODEL_TERM = "xterm-256color"
# They name the outer terminal (tmux sets TERM_PROGRAM=tmux), and programs pick escape
# sequences and keyboard protocols by them; under the model they would lie.
_OUTER_TERMINAL = (
    "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "TERM_SESSION_ID", "LC_TERMINAL",
    "LC_TERMINAL_VERSION", "KITTY_WINDOW_ID", "KITTY_PID", "WEZTERM_PANE", "WEZTERM_EXECUTABLE",
    "ITERM_SESSION_ID", "VTE_VERSION", "WT_SESSION", "KONSOLE_VERSION", "TERMINAL_EMULATOR",
    "ALACRITTY_WINDOW_ID", "GHOSTTY_RESOURCES_DIR", "WINDOWID",
)  # fmt: skip

# Survive every policy, even an allow-list: nothing works without them.
ESSENTIAL = (
    "PATH", "HOME", "USER", "LOGNAME", "TERM", "SHELL", "LANG", "LC_*", "TZ",
    "COLORTERM", "TMPDIR", "COLUMNS", "LINES",
)  # fmt: skip


class _Compiled(NamedTuple):
    exact: frozenset[str]
    prefixes: tuple[str, ...]  # NAME*
    suffixes: tuple[str, ...]  # *NAME
    inner: tuple[str, ...]  # *NAME*
    general: tuple[str, ...]  # anything else, through fnmatch


@functools.lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> _Compiled:
    """Plain string tests for the common shapes: startup stays free of regex compiles."""
    exact, prefixes, suffixes, inner, general = set(), [], [], [], []
    for p in patterns:
        core = p.strip("*")
        if any(c in core for c in "*?[") or not core:
            general.append(p)
        elif p == core:
            exact.add(p)
        elif p == core + "*":
            prefixes.append(core)
        elif p == "*" + core:
            suffixes.append(core)
        elif p == "*" + core + "*":
            inner.append(core)
        else:
            general.append(p)
    return _Compiled(frozenset(exact), tuple(prefixes), tuple(suffixes), tuple(inner),
                     tuple(general))  # fmt: skip


def _matches(name: str, patterns: Iterable[str]) -> bool:
    c = _compiled(tuple(patterns))
    if name in c.exact or name.startswith(c.prefixes) or name.endswith(c.suffixes):
        return True
    if any(part in name for part in c.inner):
        return True
    return any(fnmatch.fnmatchcase(name, p) for p in c.general)


def is_stripped(name: str) -> bool:
    return _matches(name, STRIP)


def is_credential(name: str) -> bool:
    return _matches(name.upper(), CREDENTIALS)


def _literal(pattern: str) -> bool:
    return not any(c in pattern for c in "*?[")


def check_profile_env(
    allow: Iterable[str],
    deny: Iterable[str],
    set_names: Iterable[str],
    passed: Iterable[str] = (),
) -> tuple[str, str] | None:
    """A profile may not re-admit a stripped variable nor deny an essential one."""
    for key, patterns in (("allow", allow), ("pass", passed)):
        for pattern in patterns:
            if pattern in STRIP or (_literal(pattern) and is_stripped(pattern)):
                return key, f"{pattern} is always stripped and cannot be {key}ed"
    for name in set_names:
        if is_stripped(name):
            return "set", f"{name} is always stripped and cannot be set"
    for pattern in deny:
        if pattern in ESSENTIAL or (_literal(pattern) and _matches(pattern, ESSENTIAL)):
            return "deny", f"{pattern} is essential and cannot be denied"
    return None


def why_removed(name: str, policy: EnvPolicy) -> str | None:
    """Why the child does not get `name` (None: it does). Deny beats a pass; nothing beats
    STRIP; only a name the profile spells out, never a wildcard allow-list, passes a secret."""
    if is_stripped(name):
        return "injects code or reaches outside the sandbox"
    if _matches(name, ESSENTIAL):
        return None
    if _matches(name, policy.deny):
        return "denied by the profile"
    explicit = _matches(name, policy.passed) or name in (policy.allow or ())
    if not explicit and is_credential(name):
        return "a credential or display: a profile passes it with env.pass"
    if policy.allow is not None and not explicit and not _matches(name, policy.allow):
        return "not in the profile's env.allow"
    return None


def sanitize(
    environ: Mapping[str, str], policy: EnvPolicy, nono_vars: Mapping[str, str]
) -> dict[str, str]:
    """The environment the child starts with."""
    out = {name: value for name, value in environ.items() if why_removed(name, policy) is None}
    for name, value in policy.set:
        out[name] = value
    out.update(nono_vars)
    return out


def rendered_by_model(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment as a detached session (or one the dashboard starts) should
    see it: its terminal is nono's model, not the one `nono run` was typed in. An attached
    run keeps the caller's TERM, which describes the terminal its bytes are drawn on."""
    out = {k: v for k, v in environ.items() if k not in _OUTER_TERMINAL}
    out["TERM"] = MODEL_TERM
    return out


def removed(environ: Mapping[str, str], result: Mapping[str, str]) -> list[str]:
    return sorted(name for name in environ if name not in result)
