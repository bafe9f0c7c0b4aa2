"""Adding an allowed host to a person's profile file, as the dashboard's egress view does: the
lines are planned first (shown to the person), then written, keeping every comment and line
the person wrote; the file that results is parsed as a profile before it replaces the old one.

The file is the person's own profile of that name (~/.config/nono/profiles/NAME.yaml): edited
where it exists; for a built-in profile without one, created with `extends: NAME`, so the
built-in's rules stay and the new host is added to them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nono.errors import NonoError, ProfileError

# A name (and port) that plain YAML reads back as that same text: a letter first, so never a
# number, not even YAML 1.1's base-60 ones.
_PLAIN = re.compile(r"^[a-z][a-z0-9._-]*(:[0-9]+)?$")


@dataclass(frozen=True)
class Plan:
    """What adding `rule` to `path` would do: the added lines (as shown), the whole new text."""

    path: Path
    rule: str
    added: tuple[str, ...]
    text: str
    creates: bool  # a new override file, extending the built-in profile
    starts_list: bool = False  # the profile had no host list: now only listed hosts are reached


def _scalar(rule: str) -> str:
    """The rule as a YAML scalar: plain where plain YAML reads it back as that text, quoted
    otherwise (`*.x` would be an alias, `[::1]` a list, `a:1` a number in YAML 1.1)."""
    if _PLAIN.match(rule):
        return rule
    return "'" + rule.replace("'", "''") + "'"


def with_allowed_host(text: str, rule: str, file: str) -> tuple[str, tuple[str, ...]]:
    """`text` (a profile's YAML) with `rule` appended to network.allow_hosts, and the lines
    added. Only lines are inserted, so the person's comments and layout stay as they were;
    a shape that cannot take a line (a flow list `[a, b]`) is a ProfileError saying what to
    write by hand."""
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ProfileError(file, f"invalid YAML: {exc}", hint="fix it, then add the host") from None
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    item = f"- {_scalar(rule)}"

    def done(at: int, added: list[str]) -> tuple[str, tuple[str, ...]]:
        new = lines[:at] + [line + "\n" for line in added] + lines[at:]
        return "".join(new), tuple(added)

    by_hand = f"add `{item}` under network.allow_hosts yourself"
    if root is None:
        return done(len(lines), ["network:", "  allow_hosts:", f"    {item}"])
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise ProfileError(file, "is not a block mapping of keys", hint=by_hand)
    network = _value(root, "network")
    if network is None:
        return done(len(lines), ["network:", "  allow_hosts:", f"    {item}"])
    key, value = network
    if _empty(value):  # `network:` with nothing under it
        return done(key.start_mark.line + 1, ["  allow_hosts:", f"    {item}"])
    if not isinstance(value, yaml.MappingNode) or value.flow_style:
        raise ProfileError(file, "network is not a block mapping", line=key.start_mark.line + 1,
                           key="network", hint=by_hand)  # fmt: skip
    indent = " " * value.start_mark.column
    hosts = _value(value, "allow_hosts")
    if hosts is None:
        return done(key.start_mark.line + 1, [f"{indent}allow_hosts:", f"{indent}  {item}"])
    hosts_key, seq = hosts
    if _empty(seq):
        return done(hosts_key.start_mark.line + 1, [f"{indent}  {item}"])
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style or not seq.value:
        raise ProfileError(file, "allow_hosts is not a block list (`- host` lines)",
                           line=hosts_key.start_mark.line + 1, key="network.allow_hosts",
                           hint=by_hand)  # fmt: skip
    last = seq.value[-1]
    end = last.end_mark.line + (1 if last.end_mark.column > 0 else 0)
    return done(end, [" " * seq.start_mark.column + item])


def _value(mapping: Any, name: str) -> tuple[Any, Any] | None:
    for key, value in mapping.value:
        if getattr(key, "value", None) == name:
            return key, value
    return None


def _empty(node: Any) -> bool:
    return node.tag == "tag:yaml.org,2002:null" and not getattr(node, "value", "")


def plan(profile: str, rule: str) -> Plan:
    """Where and how `rule` would be added for profile `profile` (a name, as a session's
    record keeps it). NonoError when it cannot be: a bad rule, a profile given as a path, a
    JSON profile (comments cannot be kept there: it is shown, not written)."""
    from nono.net.rules import parse_host_rule
    from nono.paths import user_profiles_dir
    from nono.sandbox.profile import find, is_builtin, resolve

    parse_host_rule(rule)
    if os.sep in profile or not profile:
        raise NonoError(f"the session's profile {profile!r} is not a profile name",
                        f"add {rule} to its network.allow_hosts yourself")  # fmt: skip
    path = find(profile)
    # A profile without a host list lets every host through: its first rule changes that.
    starts_list = not resolve(profile).allow_hosts
    if is_builtin(path):
        target = user_profiles_dir() / f"{profile}.yaml"
        header = [f"# Your additions to the built-in profile {profile} (written by nono mux's",
                  "# egress view; edit freely: nono keeps your comments).",
                  f"extends: {profile}"]  # fmt: skip
        text, added = with_allowed_host("\n".join(header) + "\n", rule, str(target))
        return Plan(target, rule, tuple(header) + added, text, True, starts_list)
    if path.suffix == ".json":
        raise NonoError(f"{path} is JSON, which keeps no comments: nono does not rewrite it",
                        f'add "{rule}" to its network.allow_hosts yourself')  # fmt: skip
    text = path.read_text(encoding="utf-8")
    new, added = with_allowed_host(text, rule, str(path))
    return Plan(path, rule, added, new, False, starts_list)


def write(planned: Plan) -> None:
    """Write the plan, once its text reads as a profile that allows the rule (the file is
    replaced whole, atomically; a file that would not load is never written)."""
    from nono import paths, userfile
    from nono.sandbox.profile_format import parse_profile

    source = userfile.Source(str(planned.path), ProfileError)
    profile = parse_profile(userfile.parse_yaml(planned.text, source), str(planned.path),
                            planned.path.stem)  # fmt: skip
    if planned.rule not in [host for host, _ in profile.allow_hosts]:
        raise ProfileError(str(planned.path), f"{planned.rule} did not land in allow_hosts",
                           hint="add it yourself")  # fmt: skip
    mode = planned.path.stat().st_mode & 0o777 if planned.path.exists() else None
    planned.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        paths.write_atomic(planned.path, planned.text.encode("utf-8"))
        if mode is not None:
            os.chmod(planned.path, mode)
    except OSError as exc:
        raise NonoError(f"cannot write {planned.path}: {exc.strerror or exc}") from None
