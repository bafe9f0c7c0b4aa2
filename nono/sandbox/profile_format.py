"""The profile file format: YAML or nono's JSON, read with line numbers and checked key by key."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nono.errors import ProfileError
from nono.sandbox.groups import BASELINE, GROUPS

# unix_sockets: pathname sockets the child may connect to (every other host socket is covered).
FS_KINDS = ("allow", "read", "write", "allow_file", "read_file", "write_file", "unix_sockets")
WORKDIR_ACCESS = ("none", "read", "write", "readwrite")
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Profile:
    name: str
    file: str
    description: str = ""
    extends: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    exclude_groups: tuple[str, ...] = ()
    # (kind, path as written, profile that wrote it) with kind one of FS_KINDS.
    paths: tuple[tuple[str, str, str], ...] = ()
    network_block: bool | None = None
    open_ports: tuple[int, ...] = ()
    connect_ports: tuple[int, ...] = ()
    workdir_access: str | None = None
    env_allow: tuple[str, ...] | None = None
    env_deny: tuple[str, ...] = ()
    env_set: tuple[tuple[str, str], ...] = ()
    env_pass: tuple[str, ...] = ()  # credentials handed over by name
    # limits.processes: the most processes (threads count) the sandbox may hold; 0 = no bound.
    max_processes: int | None = None
    # security.allow_git_hooks: repositories' hooks and config writable inside writable grants.
    allow_git_hooks: bool | None = None
    # gitignore-style patterns left out of rollback snapshots.
    rollback_exclude: tuple[str, ...] = ()
    # Set by resolve(): every profile merged into this one, bases first.
    chain: tuple[str, ...] = field(default=())

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
        }


# ---------------------------------------------------------------- reading with line numbers


class _Map(dict):
    line: int | None = None
    key_lines: dict[str, int]
    prefix: str = ""  # the dotted path of this mapping, for error messages


class _List(list):
    line: int | None = None
    item_lines: list[int | None]


def _convert(node: Any, file: str) -> Any:
    import yaml  # imported only when a profile is really parsed (see the cache below)

    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = _Map()
        out.line, out.key_lines = line, {}
        for key_node, value_node in node.value:
            key = _convert(key_node, file)
            if not isinstance(key, str):
                raise ProfileError(file, "keys must be strings", line=key_node.start_mark.line + 1)
            if key in out:
                raise ProfileError(
                    file, "duplicate key", line=key_node.start_mark.line + 1, key=key
                )
            out[key] = _convert(value_node, file)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = _List(_convert(item, file) for item in node.value)
        seq.line, seq.item_lines = line, [item.start_mark.line + 1 for item in node.value]
        return seq
    return yaml.constructor.SafeConstructor().construct_object(node)


def _from_json(value: Any) -> Any:
    """JSON that PyYAML cannot read (e.g. surrogate-pair escapes): same shape, no lines."""
    if isinstance(value, dict):
        out = _Map((k, _from_json(v)) for k, v in value.items())
        out.key_lines = {}
        return out
    if isinstance(value, list):
        seq = _List(_from_json(v) for v in value)
        seq.item_lines = [None] * len(seq)
        return seq
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON profile into plain data whose mappings remember their lines."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(file, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ProfileError(file, "not UTF-8 text") from None
    import yaml

    as_json = None
    if path.suffix == ".json":
        try:
            as_json = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileError(file, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        if as_json is not None:  # valid JSON that YAML cannot read: no line numbers then
            try:
                return _from_json(json.loads(text, object_pairs_hook=_no_duplicates))
            except ValueError as dup:
                raise ProfileError(file, str(dup)) from None
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ProfileError(file, f"invalid YAML: {exc.problem or exc}", line=line) from None
    except yaml.YAMLError as exc:
        raise ProfileError(file, f"invalid YAML: {exc}") from None
    if node is None:
        raise ProfileError(file, "the file is empty", hint="a profile needs at least meta.name")
    return _convert(node, file)


# ---------------------------------------------------------------- checking


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, where: _Map, key: str, message: str, hint: str | None = None) -> None:
        line = where.key_lines.get(key, where.line)
        raise ProfileError(self.file, message, line=line, key=where.prefix + key, hint=hint)

    def section(self, doc: _Map, key: str) -> _Map:
        value = doc.get(key)
        if value is None:
            value = _Map()
            value.line, value.key_lines = doc.line, {}
        elif not isinstance(value, _Map):
            self.fail(doc, key, f"expected a mapping, got {_kind(value)}")
        value.prefix = f"{doc.prefix}{key}."
        return value

    def keys(self, doc: _Map, allowed: tuple[str, ...], **refused: str) -> None:
        for key in doc:
            if key in refused:
                self.fail(doc, key, "not supported by this nono", refused[key])
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                names = [doc.prefix + k for k in allowed]
                hint = (
                    f"did you mean {doc.prefix}{close[0]}?"
                    if close
                    else ("known keys: " + ", ".join(names))
                )
                self.fail(doc, key, "unknown key", hint)

    def text(self, doc: _Map, key: str) -> str | None:
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            self.fail(doc, key, f"expected a string, got {_kind(value)}")
        return value

    def flag(self, doc: _Map, key: str) -> bool | None:
        value = doc.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(doc, key, f"expected true or false, got {_kind(value)}")
        return value

    def strings(self, doc: _Map, key: str, *, one_allowed: bool = False) -> tuple[str, ...]:
        value = doc.get(key)
        if value is None:
            return ()
        if one_allowed and isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(doc, key, f"expected a list of non-empty strings, got {_kind(value)}")
        return tuple(value)

    def ports(self, doc: _Map, key: str) -> tuple[int, ...]:
        value = doc.get(key)
        if value is None:
            return ()
        ok = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535 for v in value
        )
        if not ok:
            self.fail(doc, key, "expected a list of port numbers (1-65535)")
        return tuple(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        _Map: "a mapping",
        _List: "a list",
    }.get(type(value), type(value).__name__)


_NET_UNSUPPORTED = {
    k: "nono enforces network access per port only; remove it or use --block-net/--allow-port"
    for k in (
        "network_profile", "allow_domain", "proxy_allow", "allow_proxy", "credentials",
        "proxy_credentials", "custom_credentials", "upstream_proxy", "external_proxy",
        "upstream_bypass", "external_proxy_bypass",
    )
}  # fmt: skip

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

_TOP_KEYS = (
    "meta", "extends", "security", "filesystem", "policy", "network", "workdir", "env",
    "$schema", "interactive", "hooks", "rollback", "undo", "limits",
)  # fmt: skip


def parse_profile(doc: Any, file: str, default_name: str) -> Profile:
    """Check a parsed document against the profile schema and build a Profile (unresolved)."""
    c = _Checker(file)
    if not isinstance(doc, _Map):
        raise ProfileError(file, f"a profile must be a mapping, got {_kind(doc)}", line=1)
    c.keys(
        doc,
        _TOP_KEYS,
        env_credentials="secrets from keystores are not supported; remove it",
        secrets="secrets from keystores are not supported; remove it",
    )
    meta = c.section(doc, "meta")
    c.keys(
        meta,
        ("name", "description", "version", "author"),
    )
    name = c.text(meta, "name") or default_name
    description = c.text(meta, "description") or ""
    c.text(meta, "version")
    c.text(meta, "author")

    extends = c.strings(doc, "extends", one_allowed=True)

    security = c.section(doc, "security")
    c.keys(
        security,
        ("groups", "signal_mode", "allowed_commands", "allow_git_hooks"),
    )
    allow_git_hooks = c.flag(security, "allow_git_hooks")
    groups = c.strings(security, "groups")
    for i, group in enumerate(groups):
        if group not in GROUPS:
            raise ProfileError(
                file,
                f"unknown group {group!r}",
                line=security["groups"].item_lines[i],
                key="security.groups",
                hint="known groups: " + ", ".join(GROUPS),
            )
    mode = c.text(security, "signal_mode")
    if mode not in (None, "isolated"):
        c.fail(
            security,
            "signal_mode",
            f"signal_mode {mode!r} would weaken isolation and is not supported",
            "remove it: sandboxed processes may only signal their own sandbox",
        )

    fs = c.section(doc, "filesystem")
    c.keys(
        fs,
        FS_KINDS,
    )
    paths = [(kind, p) for kind in FS_KINDS for p in c.strings(fs, kind)]

    patch = c.section(doc, "policy")
    c.keys(
        patch,
        ("exclude_groups", "add_allow_read", "add_allow_write", "add_allow_readwrite"),
        add_deny_access="Landlock can only allow; deny rules cannot be enforced",
        override_deny="protected paths can never be granted",
    )
    exclude = c.strings(patch, "exclude_groups")
    for group in exclude:
        if group in BASELINE:
            c.fail(patch, "exclude_groups", f"the {group!r} group is always part of the baseline")
    paths += [("read", p) for p in c.strings(patch, "add_allow_read")]
    paths += [("write", p) for p in c.strings(patch, "add_allow_write")]
    paths += [("allow", p) for p in c.strings(patch, "add_allow_readwrite")]

    net = c.section(doc, "network")
    c.keys(
        net,
        ("block", "allow_port", "open_port", "port_allow", "allow_connect_port"),
        **_NET_UNSUPPORTED,
    )
    block = c.flag(net, "block")
    open_ports = c.ports(net, "allow_port") + c.ports(net, "open_port")
    open_ports += c.ports(net, "port_allow")
    connect_ports = c.ports(net, "allow_connect_port")

    workdir = c.section(doc, "workdir")
    c.keys(
        workdir,
        ("access",),
    )
    access = c.text(workdir, "access")
    if access is not None and access not in WORKDIR_ACCESS:
        c.fail(workdir, "access", f"expected one of {', '.join(WORKDIR_ACCESS)}")

    env = c.section(doc, "env")
    c.keys(
        env,
        ("allow", "deny", "set", "pass"),
    )
    env_pass = c.strings(env, "pass")
    env_allow = c.strings(env, "allow") if "allow" in env else None
    env_deny = c.strings(env, "deny")
    env_set_raw = env.get("set")
    env_set: list[tuple[str, str]] = []
    if env_set_raw is not None:
        if not isinstance(env_set_raw, _Map):
            c.fail(env, "set", f"expected a mapping of NAME: value, got {_kind(env_set_raw)}")
        env_set_raw.prefix = "env.set."
        for key, value in env_set_raw.items():
            if not _ENV_NAME.match(key):
                c.fail(env_set_raw, key, "not a valid environment variable name")
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                c.fail(env_set_raw, key, "expected a string value")
            env_set.append((key, str(value)))
    from nono.sandbox.env import check_profile_env  # local: env imports nothing from here

    problem = check_profile_env(env_allow or (), env_deny, [k for k, _ in env_set], env_pass)
    if problem:
        key, message = problem
        c.fail(env, key, message)

    limits = c.section(doc, "limits")
    c.keys(limits, ("processes",))
    max_processes = limits.get("processes")
    if max_processes is not None and (
        not isinstance(max_processes, int) or isinstance(max_processes, bool) or max_processes < 0
    ):
        c.fail(limits, "processes", "expected a whole number of processes (0: no bound)")

    rollback_exclude: list[str] = []
    for key in ("rollback", "undo"):  # nono's JSON profiles call it either
        section = c.section(doc, key)
        c.keys(section, ("exclude", "exclude_patterns", "exclude_globs"))
        for field_name in ("exclude", "exclude_patterns", "exclude_globs"):
            rollback_exclude += c.strings(section, field_name)

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
        workdir_access=access,
        env_allow=env_allow,
        env_deny=env_deny,
        env_set=tuple(env_set),
        env_pass=env_pass,
        rollback_exclude=tuple(rollback_exclude),
        max_processes=max_processes,
        allow_git_hooks=allow_git_hooks,
    )
