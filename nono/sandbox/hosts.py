"""The host list of a policy: named groups of hosts, checking rules as they are given, and the
one EgressPolicy the proxy decides by (and `nono why --host` asks).

Rules are parsed by nono/net/rules.py, the proxy's own parser, so what is accepted here is
exactly what the proxy enforces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nono.errors import NonoError, ProfileError
from nono.sandbox.policy import HostEntry, NetworkPolicy

if TYPE_CHECKING:
    from nono.net.rules import EgressPolicy
    from nono.userfile import Map

# Opt-in groups (--allow-host-group NAME, a profile's network.host_groups). Each host is what
# the tool's own documentation names for fetching packages, not its website.
HOST_GROUPS: dict[str, tuple[str, ...]] = {
    "registries": (
        # npm: the registry and its tarballs (docs.npmjs.com, "npm-registry"); yarn v1's mirror.
        "registry.npmjs.org",
        "registry.yarnpkg.com",
        # PyPI: the index and the files it links to (docs.pypi.org, "JSON API", "Simple API").
        "pypi.org",
        "files.pythonhosted.org",
        # crates.io: the sparse index and the crate downloads (doc.rust-lang.org/cargo,
        # "Registries": index.crates.io, static.crates.io).
        "crates.io",
        "index.crates.io",
        "static.crates.io",
        # Go: the module proxy and the checksum database (go.dev/ref/mod, GOPROXY, GOSUMDB).
        "proxy.golang.org",
        "sum.golang.org",
        # GitHub: clones, the API, archives (codeload), releases and raw files, which are served
        # from *.githubusercontent.com (objects., raw., release-assets.).
        "github.com",
        "api.github.com",
        "codeload.github.com",
        "*.githubusercontent.com",
    ),
}


@dataclass(frozen=True)
class HostList:
    """What the options and the profile say about hosts, before they are checked."""

    allow: tuple[HostEntry, ...] = ()
    deny: tuple[HostEntry, ...] = ()
    resolve: tuple[HostEntry, ...] = ()
    groups: tuple[tuple[str, str], ...] = ()  # (group name, who asked)


def check_rule(text: str) -> None:
    """Raise NonoError (naming the rule and what to write) unless the proxy can enforce it."""
    from nono.net.rules import parse_host_rule

    parse_host_rule(text)


def check_pin(text: str) -> None:
    from nono.net.rules import parse_resolve_pin

    parse_resolve_pin(text)


def unknown_group(name: str) -> NonoError | None:
    if name in HOST_GROUPS:
        return None
    return NonoError(f"unknown host group {name!r}", "known host groups: " + ", ".join(HOST_GROUPS))


def build_network_hosts(hosts: HostList, *, blocked: bool, unfiltered: bool) -> dict[str, object]:
    """The NetworkPolicy fields for a host list: groups expanded, every rule checked (the
    first bad one refused with where it came from)."""
    allow = list(hosts.allow)
    names: list[str] = []
    for name, source in hosts.groups:
        problem = unknown_group(name)
        if problem:
            raise NonoError(f"{source}: {problem.message}", problem.hint)
        names.append(name)
        allow += [HostEntry(rule, f"group {name}") for rule in HOST_GROUPS[name]]
    for entry in (*allow, *hosts.deny):
        _checked(entry, check_rule)
    for entry in hosts.resolve:
        _checked(entry, check_pin)
    groups = tuple(dict.fromkeys(names))
    if unfiltered or blocked:
        # Stronger (--block-net) or asked for by the person (--allow-net): either way the
        # list is not enforced, and the dry run says so rather than showing it as if it were.
        given = bool(allow or hosts.deny)
        why = ("--allow-net: the host list is not used; the network is unfiltered" if unfiltered
               else "--block-net blocks every host: the host list is not used")  # fmt: skip
        return {"host_groups": groups, "hosts_dropped": why if given else ""}
    if hosts.deny and not allow:
        first = hosts.deny[0]
        raise NonoError(
            f"{first.source} {first.text}: a deny rule narrows a host list, and there is none",
            "add --allow-host rules (or a profile's network.allow_hosts) for what may be reached",
        )
    return {
        "allow_hosts": tuple(dict.fromkeys(allow)),
        "deny_hosts": tuple(dict.fromkeys(hosts.deny)),
        "resolve": tuple(dict.fromkeys(hosts.resolve)),
        "host_groups": groups,
    }


def _checked(entry: HostEntry, check: Callable[[str], None]) -> None:
    try:
        check(entry.text)
    except NonoError as exc:
        raise NonoError(f"{entry.source}: {exc.message}", exc.hint) from None


def profile_hosts(net: Map, key: str, items: tuple[str, ...]) -> tuple[str, ...]:
    """A profile's network.KEY list, each item checked as the proxy will read it; a bad one is
    refused naming its own line."""
    check = {"host_groups": unknown_group, "resolve": _as_problem(check_pin)}.get(
        key, _as_problem(check_rule)
    )
    for i, item in enumerate(items):
        problem = check(item)
        if problem is not None:
            lines = getattr(net[key], "item_lines", None) or [None] * len(items)
            raise ProfileError(net.source.file, problem.message, line=lines[i] or net.line_of(key),
                               key=net.prefix + key, hint=problem.hint)  # fmt: skip
    return items


def _as_problem(check: Callable[[str], None]) -> Callable[[str], NonoError | None]:
    def run(text: str) -> NonoError | None:
        try:
            check(text)
        except NonoError as exc:
            return exc
        return None

    return run


def egress_policy(network: NetworkPolicy) -> EgressPolicy:
    """The proxy's rules for a policy whose host list is in effect."""
    from nono.net.rules import EgressPolicy, parse_host_rule, parse_resolve_pin

    return EgressPolicy(
        allow=tuple(dict.fromkeys(parse_host_rule(e.text) for e in network.allow_hosts)),
        deny=tuple(dict.fromkeys(parse_host_rule(e.text) for e in network.deny_hosts)),
        pins=tuple(parse_resolve_pin(e.text) for e in network.resolve),
    )


def sources(network: NetworkPolicy, rule_text: str) -> list[str]:
    """Who asked for a rule (a flag, a profile, a group), for `nono why` and the dry run."""
    entries = (*network.allow_hosts, *network.deny_hosts)
    return list(dict.fromkeys(e.source for e in entries if e.text.strip() == rule_text))


def names_loopback(network: NetworkPolicy) -> bool:
    """Whether an allow rule names a loopback address: then that address means the host's
    loopback, reached through the proxy, and clients must not be told to go around it."""
    import ipaddress

    from nono.net.rules import parse_host_rule

    for entry in network.allow_hosts:
        rule = parse_host_rule(entry.text)
        if rule.kind == "address" and ipaddress.ip_address(rule.host).is_loopback:
            return True
    return False


def proxy_env(port: int, network: NetworkPolicy) -> dict[str, str]:
    """What the child is told about its proxy. Changing these gains it nothing: the proxy is
    the only way out of its network namespace."""
    url = f"http://127.0.0.1:{port}"
    out = {}
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        out[name] = out[name.lower()] = url
    # The sandbox's own loopback (its test servers) is reached directly, unless a rule names
    # the host's loopback: then that is only reachable through the proxy.
    no_proxy = "" if names_loopback(network) else "localhost,127.0.0.1,::1"
    out["NO_PROXY"] = out["no_proxy"] = no_proxy
    # Node's own fetch and http follow the variables above only when asked (Node 22.21+, 24+).
    out["NODE_USE_ENV_PROXY"] = "1"
    return out


def explain_host(network: NetworkPolicy, host: str, port: int) -> dict[str, object]:
    """`nono why --host H --port N` under a host list: the proxy's own decision, the rule that
    made it and who asked for that rule, and what would allow it."""
    from nono.net.addresses import check_address
    from nono.net.rules import decide, is_address, normalise_host

    try:
        name = normalise_host(host)
    except ValueError as exc:
        return {"allowed": False, "reason": f"not a host the proxy accepts: {exc}"}
    policy = egress_policy(network)
    decision = decide(policy, name, port)
    out: dict[str, object] = {"allowed": decision.allowed, "reason": decision.reason}
    if decision.rule:
        out["grants"] = [
            {"path": decision.rule, "access": "allow" if decision.allowed else "deny",
             "source": s} for s in sources(network, decision.rule)
        ]  # fmt: skip
    if decision.allowed and is_address(name):
        verdict = check_address(policy, name, port)
        if not verdict.allowed:
            out.update(allowed=False, reason=verdict.reason)
    elif decision.allowed:
        pinned = [p.text for p in policy.pins if p.matches(name, port)]
        reached = f"pinned by --resolve {pinned[0]}" if pinned else "resolved by the proxy"
        out["advice"] = (f"{reached}; an address that is loopback, link-local or cloud "
                         "metadata is refused unless a rule names it")  # fmt: skip
    if not out["allowed"] and not decision.rule:
        rule = name if port in (80, 443) and not is_address(name) else _host_port(name, port)
        out["suggestion"] = out["advice"] = f"--allow-host {rule}"
    elif not out["allowed"]:
        out["advice"] = "a deny rule wins over every allow rule"
    return out


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
