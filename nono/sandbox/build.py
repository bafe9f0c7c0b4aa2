"""Turn command-line options and a profile into a Policy: canonical paths, conflicts refused."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass

from nono import paths
from nono.errors import NonoError
from nono.pathkinds import BY_NAME, PATH_KINDS
from nono.sandbox import groups as groups_mod
from nono.sandbox.policy import (
    Access,
    EnvPolicy,
    Grant,
    NetworkPolicy,
    Policy,
    Protected,
    check_conflicts,
)
from nono.sandbox.profile import Profile, resolve

# Never granted, whatever asks: credentials, browser profiles, shell histories and rc files
# (an agent that can write ~/.bashrc owns your next shell).
PROTECTED_IN_HOME = (
    ".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".config/gcloud",
    ".local/share/keyrings", ".password-store", ".netrc", ".git-credentials",
    ".config/git/credentials", ".cargo/credentials.toml", ".cargo/credentials",
    ".mozilla", ".config/google-chrome", ".config/chromium", ".config/BraveSoftware",
    ".config/microsoft-edge", ".config/vivaldi", ".config/opera", ".thunderbird",
    ".bash_history", ".zsh_history", ".histfile", ".python_history", ".node_repl_history",
    ".psql_history", ".mysql_history", ".sqlite_history", ".lesshst",
    ".local/share/fish/fish_history", ".config/fish",
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
    ".zshrc", ".zprofile", ".zshenv", ".zlogin", ".zlogout", ".cshrc", ".tcshrc",
)  # fmt: skip


@dataclass(frozen=True)
class RunOptions:
    """The sandbox part of `nono run` (and `nono why`), as given on the command line. The
    six path fields are pathkinds.PATH_KINDS's names (a test holds them to it)."""

    profile: str | None = None
    allow: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    allow_file: tuple[str, ...] = ()
    read_file: tuple[str, ...] = ()
    write_file: tuple[str, ...] = ()
    allow_cwd: bool = False
    workdir: str | None = None
    block_net: bool = False
    allow_port: tuple[int, ...] = ()
    allow_connect_port: tuple[int, ...] = ()
    allow_host: tuple[str, ...] = ()
    deny_host: tuple[str, ...] = ()
    allow_host_group: tuple[str, ...] = ()
    resolve: tuple[str, ...] = ()
    allow_net: bool = False
    unscoped: bool = False
    allow_unix_socket: tuple[str, ...] = ()
    max_processes: int | None = None
    allow_git_hooks: bool = False


def protected_paths(home: str) -> tuple[Protected, ...]:
    out = [Protected(os.path.realpath(os.path.join(home, rel)), "~/" + rel) for rel in
           PROTECTED_IN_HOME]  # fmt: skip
    out.append(Protected(os.path.realpath(paths.state_dir()), "nono's state directory"))
    out.append(Protected(os.path.realpath(paths.config_dir()), "nono's config directory"))
    return tuple(out)


_VAR = re.compile(r"\$(\w+)|\$\{(\w+)(?::-([^}]*))?\}")


def expand(text: str, environ: Mapping[str, str], workdir: str) -> str:
    """~ and $VAR / ${VAR} / ${VAR:-default} (plus $WORKDIR) as a person writes them in a
    profile; the default is for where a program follows a variable (XDG_STATE_HOME...)."""
    values = {**environ, "WORKDIR": workdir}

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if m.group(3) is not None and not values.get(name):
            return m.group(3)
        if name not in values:
            raise NonoError(f"${name} is not set (in {text!r})")
        return values[name]

    text = _VAR.sub(sub, text)
    if text == "~" or text.startswith("~/"):
        text = environ.get("HOME", os.path.expanduser("~")) + text[1:]
    return os.path.join(workdir, text)


_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")


def _env_value(value: str, environ: Mapping[str, str], home: str) -> str:
    """An env.set value as a shell would assign it: ${VAR:-default} (the person's own
    CLAUDE_CONFIG_DIR wins over the profile's), then a leading ~. A bare $ stays as written."""
    value = _DEFAULTED.sub(lambda m: environ.get(m.group(1)) or m.group(2), value)
    return home + value[1:] if value == "~" or value.startswith("~/") else value


def _without_redundant_group_grants(grants: list[Grant]) -> list[Grant]:
    """Groups overlap (node's prefix is /usr, already in system); keep the policy readable."""
    group_dirs: dict[str, Grant] = {}
    for g in grants:
        if g.source.startswith("group ") and not g.is_file:
            group_dirs.setdefault(g.path, g)
    out: list[Grant] = []
    for g in grants:
        if g.source.startswith("group ") and _covered_by_group(g, group_dirs):
            continue
        out.append(g)
    return out


def _covered_by_group(g: Grant, group_dirs: dict[str, Grant]) -> bool:
    """Another group grant on an ancestor (or the first one on this path) already gives g."""
    path = g.path
    while True:
        other = group_dirs.get(path)
        if (
            other is not None
            and other is not g
            and (other.access | g.access) == other.access
            and (other.ioctl or not g.ioctl)
        ):
            return True
        if path == "/":
            return False
        path = os.path.dirname(path)


def _hosts(options: RunOptions, profile: Profile) -> dict[str, object]:
    """The host list's fields of the NetworkPolicy (nothing, and no import, without one)."""
    given = (options.allow_host, options.deny_host, options.allow_host_group, options.resolve)
    in_profile = (profile.allow_hosts, profile.deny_hosts, profile.host_groups, profile.resolve)
    if not any(given) and not any(in_profile):
        return {}
    if options.block_net and options.allow_net:
        raise NonoError("--block-net and --allow-net contradict each other", "give one")
    if options.block_net and (options.allow_host or options.allow_host_group):
        # Both typed together: one of them is a mistake, and guessing which could be weaker.
        raise NonoError(
            "--allow-host/--allow-host-group and --block-net contradict each other",
            "drop --block-net to reach only the listed hosts, or drop the host rules",
        )
    from nono.sandbox.hosts import HostList, build_network_hosts
    from nono.sandbox.policy import HostEntry

    def entries(written, flag):
        return tuple(HostEntry(text, flag) for text in written)

    def profiled(items):
        return tuple(HostEntry(text, f"profile {origin}") for text, origin in items)

    hosts = HostList(
        allow=(*profiled(profile.allow_hosts), *entries(options.allow_host, "--allow-host")),
        deny=(*profiled(profile.deny_hosts), *entries(options.deny_host, "--deny-host")),
        resolve=(*profiled(profile.resolve), *entries(options.resolve, "--resolve")),
        groups=(
            *((name, f"profile {origin}") for name, origin in profile.host_groups),
            *((name, "--allow-host-group") for name in options.allow_host_group),
        ),
    )
    blocked = options.block_net or bool(profile.network_block)
    return build_network_hosts(hosts, blocked=blocked, unfiltered=options.allow_net)


def build_policy(
    options: RunOptions, environ: Mapping[str, str], cwd: str, profile: Profile | None = None
) -> Policy:
    if profile is None:
        profile = resolve(options.profile or "default")
    home = environ.get("HOME") or os.path.expanduser("~")

    workdir = os.path.realpath(os.path.join(cwd, os.path.expanduser(options.workdir or cwd)))
    if not os.path.isdir(workdir):
        raise NonoError(f"working directory does not exist: {options.workdir or cwd}")

    grants: list[Grant] = []
    skipped: list[tuple[str, str]] = []

    def optional(requested: str, path: str, access: Access, source: str, ioctl: bool = False):
        real = os.path.realpath(path)
        if not os.path.exists(real):
            skipped.append((requested, source))
            return
        grants.append(Grant(real, access, not os.path.isdir(real), source, requested, ioctl))

    ctx = groups_mod.Context(home, environ)
    names = [*groups_mod.BASELINE, *(g for g in profile.groups if g not in profile.exclude_groups)]
    for name in dict.fromkeys(names):
        for entry in groups_mod.expand(name, ctx):
            optional(entry.path, entry.path, entry.access, f"group {name}", entry.ioctl)

    sockets: list[str] = []
    for kind_name, written, origin in profile.paths:
        if kind_name == "unix_sockets":
            sockets.append(os.path.realpath(expand(written, environ, workdir)))
            continue
        path = expand(written, environ, workdir)
        optional(written, path, Access.parse(BY_NAME[kind_name].access), f"profile {origin}")
    for written in profile.agent_state:  # the agent's own state: made before, written inside
        path = expand(written, environ, workdir)
        if not any(g.path == os.path.realpath(path) and g.access == Access.READWRITE
                   for g in grants):  # fmt: skip
            optional(written, path, Access.READWRITE, f"profile {profile.name} agent.state")

    if options.allow_cwd:
        mode = profile.workdir_access or "readwrite"
        access = Access.READWRITE if mode == "none" else Access.parse(mode)
        grants.append(Grant(workdir, access, False, "--allow-cwd", workdir))

    for kind in PATH_KINDS:
        flag, access = kind.flag, Access.parse(kind.access)
        for written in getattr(options, kind.name):
            path = os.path.realpath(os.path.join(cwd, os.path.expanduser(written)))
            if not os.path.exists(path):
                raise NonoError(f"{flag} {written}: no such file or directory")
            if kind.is_file == os.path.isdir(path):
                what = "a directory" if kind.is_file else "a file"
                hint = f"use {kind.other_form.flag} for it"
                raise NonoError(f"{flag} {written} is {what}", hint)
            grants.append(Grant(path, access, kind.is_file, flag, written))

    for written in options.allow_unix_socket:
        path = os.path.realpath(os.path.join(cwd, os.path.expanduser(written)))
        if not stat.S_ISSOCK(os.stat(path).st_mode if os.path.exists(path) else 0):
            raise NonoError(
                f"--allow-unix-socket {written}: not a Unix socket",
                "name the socket file a server listens on, e.g. /run/docker.sock",
            )
        sockets.append(path)

    grants = _without_redundant_group_grants(grants)
    protected = protected_paths(home)
    check_conflicts(grants, protected)

    network = NetworkPolicy(
        blocked=options.block_net or bool(profile.network_block),
        open_ports=tuple(dict.fromkeys((*profile.open_ports, *options.allow_port))),
        connect_ports=tuple(dict.fromkeys((*profile.connect_ports, *options.allow_connect_port))),
        **_hosts(options, profile),  # type: ignore[arg-type]
    )
    env_set = tuple((k, _env_value(v, environ, home)) for k, v in profile.env_set)
    env = EnvPolicy(
        allow=profile.env_allow, deny=profile.env_deny, set=env_set, passed=profile.env_pass
    )
    return Policy(
        grants=tuple(grants),
        protected=protected,
        network=network,
        env=env,
        workdir=workdir,
        profile=profile.name,
        isolate_ipc=not options.unscoped,
        skipped=tuple(skipped),
        unix_sockets=tuple(dict.fromkeys(sockets)),
        git_hooks_writable=options.allow_git_hooks or bool(profile.allow_git_hooks),
        max_processes=(
            options.max_processes if options.max_processes is not None else profile.max_processes
        ),
    )
