"""The profile file format: YAML or nono's JSON, read with line numbers and checked key by key."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nono import userfile
from nono.errors import ProfileError
from nono.pathkinds import PATH_KINDS
from nono.sandbox.agent import AgentSetup
from nono.sandbox.groups import BASELINE, GROUPS
from nono.userfile import Map, type_name

# The path kinds, plus unix_sockets: pathname sockets the child may connect to (every other
# host socket is covered).
FS_KINDS = (*(kind.name for kind in PATH_KINDS), "unix_sockets")
# policy.add_allow_<access>: nono's JSON profiles' spelling of the directory kinds, read in
# this order (read, write, readwrite) as they always were.
_POLICY_ADDS = {
    f"add_allow_{k.access}": k.name
    for k in sorted(PATH_KINDS, key=lambda k: ("read", "write", "readwrite").index(k.access))
    if not k.is_file
}
WORKDIR_ACCESS = ("none", "read", "write", "readwrite")
SUFFIXES = (".yaml", ".yml", ".json")


def _rule(how: str, default: Any = ()) -> Any:
    """A field whose value, when a profile extends another, is `how` the two combine (see
    profile.merge): "child" (the extending profile's), "given" (the child's unless it left it
    out), "text" (the child's unless empty), "union" (both, base first), "union-or-all" (both,
    unless neither gave one: None means no restriction), "by-name" (both, the child's value
    winning for a name both set)."""
    return field(default=default, metadata={"merge": how})


@dataclass(frozen=True)
class Profile:
    """One profile as written, or (after resolve) merged with every profile it extends. Each
    field says how it merges; the cache stores and restores every field as it is."""

    name: str = field(metadata={"merge": "child"})
    file: str = field(metadata={"merge": "child"})
    description: str = _rule("text", "")
    extends: tuple[str, ...] = _rule("child")
    groups: tuple[str, ...] = _rule("union")
    exclude_groups: tuple[str, ...] = _rule("union")
    # (kind, path as written, profile that wrote it) with kind one of FS_KINDS.
    paths: tuple[tuple[str, str, str], ...] = _rule("union")
    network_block: bool | None = _rule("given", None)
    open_ports: tuple[int, ...] = _rule("union")
    connect_ports: tuple[int, ...] = _rule("union")
    # network.allow_hosts / deny_hosts / host_groups / resolve: (as written, profile that wrote
    # it). Any allow rule puts the host list in effect (see sandbox/hosts.py).
    allow_hosts: tuple[tuple[str, str], ...] = _rule("union")
    deny_hosts: tuple[tuple[str, str], ...] = _rule("union")
    host_groups: tuple[tuple[str, str], ...] = _rule("union")
    resolve: tuple[tuple[str, str], ...] = _rule("union")
    workdir_access: str | None = _rule("text", None)
    env_allow: tuple[str, ...] | None = _rule("union-or-all", None)
    env_deny: tuple[str, ...] = _rule("union")
    env_set: tuple[tuple[str, str], ...] = _rule("by-name")
    env_pass: tuple[str, ...] = _rule("union")  # credentials handed over by name
    # limits.processes: the most processes (threads count) the sandbox may hold; 0 = no bound.
    max_processes: int | None = _rule("given", None)
    # security.allow_git_hooks: repositories' hooks and config writable inside writable grants.
    allow_git_hooks: bool | None = _rule("given", None)
    # gitignore-style patterns left out of rollback snapshots.
    rollback_exclude: tuple[str, ...] = _rule("union")
    # agent: what the profile does for the agent it is written for (see sandbox/agent.py):
    # its kind, the program names it runs as, its state directories (made 0700 before the
    # sandbox starts), the arguments put after its name (a child's replace the base's), and
    # files beside its directory moved into it (beside, inside).
    agent_kind: str | None = _rule("text", None)
    agent_commands: tuple[str, ...] = _rule("union")
    agent_state: tuple[str, ...] = _rule("union")
    agent_args: tuple[str, ...] = _rule("text")
    agent_adopt: tuple[tuple[str, str], ...] = _rule("by-name")
    # Set by resolve(): every profile merged into this one, bases first.
    chain: tuple[str, ...] = _rule("union")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "description": self.description,
            "extends": list(self.extends),
            "chain": list(self.chain),
            "groups": list(self.groups),
            "exclude_groups": list(self.exclude_groups),
            "filesystem": {k: [p for kk, p, _ in self.paths if kk == k] for k in FS_KINDS},
            "network": {
                "block": bool(self.network_block),
                "allow_port": list(self.open_ports),
                "allow_connect_port": list(self.connect_ports),
                "allow_hosts": [h for h, _ in self.allow_hosts],
                "deny_hosts": [h for h, _ in self.deny_hosts],
                "host_groups": [g for g, _ in self.host_groups],
                "resolve": [r for r, _ in self.resolve],
            },
            "workdir": {"access": self.workdir_access or "readwrite"},
            "env": {
                "allow": None if self.env_allow is None else list(self.env_allow),
                "deny": list(self.env_deny),
                "set": dict(self.env_set),
                "pass": list(self.env_pass),
            },
            "rollback": {"exclude": list(self.rollback_exclude)},
            "limits": {"processes": self.max_processes},
            "security": {"allow_git_hooks": bool(self.allow_git_hooks)},
            "agent": {
                "kind": self.agent_kind,
                "commands": list(self.agent_commands),
                "state": list(self.agent_state),
                "args": list(self.agent_args),
                "adopt": dict(self.agent_adopt),
            },
        }

    @property
    def agent(self) -> AgentSetup:
        return AgentSetup(self.agent_kind, self.agent_commands, self.agent_state,
                          self.agent_args, self.agent_adopt)  # fmt: skip


# ---------------------------------------------------------------- reading


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON profile into plain data whose mappings remember their lines."""
    file = str(path)
    text = userfile.read_text(path, ProfileError)
    assert text is not None
    source = userfile.Source(file, ProfileError)
    as_json = None
    if path.suffix == ".json":
        try:
            as_json = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(file, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    try:
        node = userfile.compose_yaml(text, source)
    except ProfileError:
        if as_json is None:
            raise
        # Valid JSON that YAML cannot read (e.g. surrogate-pair escapes): no lines then.
        try:
            plain = json.loads(text, object_pairs_hook=_no_duplicates)
        except ValueError as dup:
            raise ProfileError(file, str(dup)) from None
        return userfile.from_plain(plain, source)
    if node is None:
        raise ProfileError(file, "the file is empty", hint="a profile needs at least meta.name")
    return userfile.yaml_tree(node, source)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


# ---------------------------------------------------------------- checking


def _section(doc: Map, key: str) -> Map:
    value = doc.get(key)
    if value is not None and not isinstance(value, Map):
        doc.fail(key, f"expected a mapping, got {type_name(value)}")
    return doc.child(key)


def _keys(doc: Map, allowed: tuple[str, ...], **refused: str) -> None:
    for key in doc:
        if key in refused:
            doc.fail(key, "not supported by this nono", refused[key])
    doc.check_keys(allowed, known="known keys")


def _text(doc: Map, key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        doc.fail(key, f"expected a string, got {type_name(value)}")
    return value


def _flag(doc: Map, key: str) -> bool | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, bool):
        doc.fail(key, f"expected true or false, got {type_name(value)}")
    return value


def _strings(doc: Map, key: str, *, one_allowed: bool = False) -> tuple[str, ...]:
    value = doc.get(key)
    if value is None:
        return ()
    if one_allowed and isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        doc.fail(key, f"expected a list of non-empty strings, got {type_name(value)}")
    return tuple(value)


def _ports(doc: Map, key: str) -> tuple[int, ...]:
    value = doc.get(key)
    if value is None:
        return ()
    ok = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535 for v in value
    )
    if not ok:
        doc.fail(key, "expected a list of port numbers (1-65535)")
    return tuple(value)


_NET_UNSUPPORTED = {
    k: "nono enforces network access per port and per host; remove it, or use "
    "network.allow_hosts/deny_hosts or --block-net/--allow-port"
    for k in (
        "network_profile", "allow_domain", "proxy_allow", "allow_proxy", "credentials",
        "proxy_credentials", "custom_credentials", "upstream_proxy", "external_proxy",
        "upstream_bypass", "external_proxy_bypass",
    )
}  # fmt: skip

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_TOP_KEYS = (
    "meta", "extends", "security", "filesystem", "policy", "network", "workdir", "env",
    "$schema", "interactive", "hooks", "rollback", "undo", "limits", "agent",
)  # fmt: skip


def parse_profile(doc: Any, file: str, default_name: str) -> Profile:
    """Check a parsed document against the profile schema and build a Profile (unresolved)."""
    if not isinstance(doc, Map):
        raise ProfileError(file, f"a profile must be a mapping, got {type_name(doc)}", line=1)
    _keys(
        doc,
        _TOP_KEYS,
        env_credentials="secrets from keystores are not supported; remove it",
        secrets="secrets from keystores are not supported; remove it",
    )
    meta = _section(doc, "meta")
    _keys(
        meta,
        ("name", "description", "version", "author"),
    )
    name = _text(meta, "name") or default_name
    description = _text(meta, "description") or ""
    _text(meta, "version")
    _text(meta, "author")

    extends = _strings(doc, "extends", one_allowed=True)

    security = _section(doc, "security")
    _keys(
        security,
        ("groups", "signal_mode", "allowed_commands", "allow_git_hooks"),
    )
    allow_git_hooks = _flag(security, "allow_git_hooks")
    groups = _strings(security, "groups")
    for i, group in enumerate(groups):
        if group not in GROUPS:
            raise ProfileError(
                file,
                f"unknown group {group!r}",
                line=security["groups"].item_lines[i],
                key="security.groups",
                hint="known groups: " + ", ".join(GROUPS),
            )
    mode = _text(security, "signal_mode")
    if mode not in (None, "isolated"):
        security.fail(
            "signal_mode",
            f"signal_mode {mode!r} would weaken isolation and is not supported",
            "remove it: sandboxed processes may only signal their own sandbox",
        )

    fs = _section(doc, "filesystem")
    _keys(
        fs,
        FS_KINDS,
    )
    paths = [(kind, p) for kind in FS_KINDS for p in _strings(fs, kind)]

    patch = _section(doc, "policy")
    _keys(
        patch,
        ("exclude_groups", *_POLICY_ADDS),
        add_deny_access="Landlock can only allow; deny rules cannot be enforced",
        override_deny="protected paths can never be granted",
    )
    exclude = _strings(patch, "exclude_groups")
    for group in exclude:
        if group in BASELINE:
            patch.fail("exclude_groups", f"the {group!r} group is always part of the baseline")
    paths += [(kind, p) for key, kind in _POLICY_ADDS.items() for p in _strings(patch, key)]

    net = _section(doc, "network")
    _keys(
        net,
        ("block", "allow_port", "open_port", "port_allow", "allow_connect_port",
         "allow_hosts", "deny_hosts", "host_groups", "resolve"),
        **_NET_UNSUPPORTED,
    )  # fmt: skip
    from nono.sandbox.hosts import profile_hosts

    hosts = {key: profile_hosts(net, key, _strings(net, key))
             for key in ("allow_hosts", "deny_hosts", "host_groups", "resolve")}  # fmt: skip
    block = _flag(net, "block")
    open_ports = _ports(net, "allow_port") + _ports(net, "open_port")
    open_ports += _ports(net, "port_allow")
    connect_ports = _ports(net, "allow_connect_port")

    workdir = _section(doc, "workdir")
    _keys(
        workdir,
        ("access",),
    )
    access = _text(workdir, "access")
    if access is not None and access not in WORKDIR_ACCESS:
        workdir.fail("access", f"expected one of {', '.join(WORKDIR_ACCESS)}")

    env = _section(doc, "env")
    _keys(
        env,
        ("allow", "deny", "set", "pass"),
    )
    env_pass = _strings(env, "pass")
    env_allow = _strings(env, "allow") if "allow" in env else None
    env_deny = _strings(env, "deny")
    env_set_raw = env.get("set")
    env_set: list[tuple[str, str]] = []
    if env_set_raw is not None:
        if not isinstance(env_set_raw, Map):
            env.fail("set", f"expected a mapping of NAME: value, got {type_name(env_set_raw)}")
        for key, value in env_set_raw.items():
            if not _ENV_NAME.match(key):
                env_set_raw.fail(key, "not a valid environment variable name")
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                env_set_raw.fail(key, "expected a string value")
            env_set.append((key, str(value)))
    from nono.sandbox.env import check_profile_env  # local: env imports nothing from here

    problem = check_profile_env(env_allow or (), env_deny, [k for k, _ in env_set], env_pass)
    if problem:
        key, message = problem
        env.fail(key, message)

    limits = _section(doc, "limits")
    _keys(limits, ("processes",))
    max_processes = limits.get("processes")
    if max_processes is not None and (
        not isinstance(max_processes, int) or isinstance(max_processes, bool) or max_processes < 0
    ):
        limits.fail("processes", "expected a whole number of processes (0: no bound)")

    rollback_exclude: list[str] = []
    for key in ("rollback", "undo"):  # nono's JSON profiles call it either
        section = _section(doc, key)
        _keys(section, ("exclude", "exclude_patterns", "exclude_globs"))
        for field_name in ("exclude", "exclude_patterns", "exclude_globs"):
            rollback_exclude += _strings(section, field_name)

    agent = _section(doc, "agent")
    _keys(agent, ("kind", "commands", "state", "args", "adopt"))
    agent_kind = _text(agent, "kind")
    agent_commands = _strings(agent, "commands", one_allowed=True)
    for command in agent_commands:
        if "/" in command:
            agent.fail("commands", f"{command!r}: expected a program's name, not a path")
    agent_state = _strings(agent, "state")
    agent_args = _strings(agent, "args")
    if agent_args and not agent_commands:
        agent.fail("args", "arguments need the program they are for", "add agent.commands")
    adopt_raw = agent.get("adopt")
    agent_adopt: list[tuple[str, str]] = []
    if adopt_raw is not None:
        if not isinstance(adopt_raw, Map):
            agent.fail(
                "adopt", f"expected a mapping of file: its place, got {type_name(adopt_raw)}"
            )
        for beside, inside in adopt_raw.items():
            if not isinstance(inside, str) or not inside:
                adopt_raw.fail(beside, "expected the path the file moves to")
            if not any(_under(inside, state) for state in agent_state):
                adopt_raw.fail(beside, f"{inside} is not inside one of agent.state",
                               "a file is moved only into the agent's own directory")  # fmt: skip
            agent_adopt.append((beside, inside))

    return Profile(
        name=name,
        file=file,
        description=description,
        extends=extends,
        groups=groups,
        exclude_groups=exclude,
        paths=tuple((kind, p, name) for kind, p in paths),
        network_block=block,
        open_ports=tuple(open_ports),
        connect_ports=connect_ports,
        allow_hosts=tuple((v, name) for v in hosts["allow_hosts"]),
        deny_hosts=tuple((v, name) for v in hosts["deny_hosts"]),
        host_groups=tuple((v, name) for v in hosts["host_groups"]),
        resolve=tuple((v, name) for v in hosts["resolve"]),
        workdir_access=access,
        env_allow=env_allow,
        env_deny=env_deny,
        env_set=tuple(env_set),
        env_pass=env_pass,
        rollback_exclude=tuple(rollback_exclude),
        max_processes=max_processes,
        allow_git_hooks=allow_git_hooks,
        agent_kind=agent_kind,
        agent_commands=agent_commands,
        agent_state=agent_state,
        agent_args=agent_args,
        agent_adopt=tuple(agent_adopt),
    )


def _under(path: str, directory: str) -> bool:
    return path.startswith(directory.rstrip("/") + "/")
