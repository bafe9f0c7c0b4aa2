"""Host rules: what `--allow-host`/`--deny-host` say, normalised, and which rule decides a host.

Pure: parsing and matching only; the proxy (`nono/net/proxy.py`) asks `decide` once per
connection, with the policy in force at that moment.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from nono.errors import NonoError

DEFAULT_PORTS = (80, 443)

# Letters, digits, hyphen; underscore too, since real service names carry it (_dmarc, SRV-style
# hosts behind CDNs) and refusing it would only push people to broader wildcards.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")

Kind = Literal["name", "suffix", "address"]


@dataclass(frozen=True)
class HostRule:
    """One allow or deny rule, normalised.

    kind "name" matches that host exactly. kind "suffix" (written `*.example.com`) matches
    every name below the suffix (`api.example.com`, `a.b.example.com`) but NOT the apex
    `example.com` itself, as in nono's Rust original and Anthropic's sandbox-runtime: to allow
    both, write both. kind "address" is an IP literal, and is the only kind that matches an
    address: a CONNECT to an IP, or a name that resolves to a loopback or link-local address.
    """

    kind: Kind
    host: str  # normalised: lowercase ASCII (IDNA), no trailing dot; the suffix without "*."
    ports: tuple[int, ...]
    text: str  # as written, for the log and for messages

    def matches(self, host: str, port: int) -> bool:
        if port not in self.ports:
            return False
        if self.kind == "suffix":
            return host.endswith("." + self.host)
        return host == self.host


@dataclass(frozen=True)
class Decision:
    """What the rules say about host:port, and why (for the log and the 403 body)."""

    allowed: bool
    rule: str  # the rule's text, or "" when no rule matched
    reason: str


@dataclass(frozen=True)
class EgressPolicy:
    """Allow and deny rules plus `--resolve` pins: everything the proxy decides by."""

    allow: tuple[HostRule, ...] = ()
    deny: tuple[HostRule, ...] = ()
    pins: tuple[ResolvePin, ...] = ()

    def with_allowed(self, rule: HostRule) -> EgressPolicy:
        if rule in self.allow:
            return self
        return dataclasses.replace(self, allow=(*self.allow, rule))


@dataclass(frozen=True)
class ResolvePin:
    """`--resolve HOST:PORT:ADDRESS[,ADDRESS...]` as curl reads it; port None is curl's `*`."""

    host: str
    port: int | None
    addresses: tuple[str, ...]
    text: str

    def matches(self, host: str, port: int) -> bool:
        return host == self.host and (self.port is None or self.port == port)


def _bad_rule(text: str, why: str, hint: str) -> NonoError:
    return NonoError(f"host rule {text!r}: {why}", hint)


def normalise_host(host: str) -> str:
    """The one spelling a host is compared in: IP literals canonical, names lowercase ASCII.

    Raises ValueError (with a reason) for something that is neither an address nor a name.
    """
    if host.startswith("[") and host.endswith("]"):
        return str(ipaddress.IPv6Address(host[1:-1]))
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if not name:
        raise ValueError("empty host name")
    if not name.isascii():
        import idna  # only for a name that needs it: 1.3 ms of every run's start otherwise

        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"not a valid international name ({exc})") from None
    name = name.lower()
    if len(name) > 253:
        raise ValueError("longer than 253 characters")
    for label in name.split("."):
        if not _LABEL.match(label):
            raise ValueError(f"label {label!r} is not letters, digits and inner hyphens")
    if re.fullmatch(r"[0-9.]+", name):
        # "127.1" or "2130706433" are addresses to some resolvers: never a name to match.
        raise ValueError("looks like an IPv4 address but is not one in dotted form")
    return name


def split_host_port(text: str) -> tuple[str, str | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 literal -> (host, port text)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError("'[' without ']'")
        rest = text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after ']'")
        return text[: end + 1], (rest[1:] if rest else None)
    if text.count(":") > 1:
        return text, None  # a bare IPv6 literal: no port can be told from its last group
    host, sep, port = text.partition(":")
    return host, (port if sep else None)


def parse_port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


def parse_host_rule(text: str) -> HostRule:
    """`host`, `host:port`, `*.suffix[:port]`, `1.2.3.4[:port]`, `[::1][:port]` -> HostRule.

    Without a port a rule covers 80 and 443. Raises NonoError naming the rule and what to
    write instead.
    """
    raw = text.strip()
    example = "write a host, host:port, *.example.com or an address, e.g. api.example.com:443"
    if not raw:
        raise _bad_rule(text, "empty", example)
    if "://" in raw or "/" in raw:
        raise _bad_rule(text, "is a URL, not a host", f"write the host alone, e.g. {_host_of(raw)}")
    if raw == "*" or raw.startswith("*:"):
        raise _bad_rule(
            text, "would allow every host", "list the hosts, or use --allow-net for all"
        )
    try:
        host_text, port_text = split_host_port(raw)
        ports = (parse_port(port_text),) if port_text is not None else DEFAULT_PORTS
    except ValueError as exc:
        raise _bad_rule(text, str(exc), example) from None
    kind: Kind = "name"
    if host_text.startswith("*."):
        kind, host_text = "suffix", host_text[2:]
    elif "*" in host_text:
        raise _bad_rule(text, "'*' may only stand for whole leading labels", "write *.example.com")
    try:
        host = normalise_host(host_text)
    except ValueError as exc:
        raise _bad_rule(text, str(exc), example) from None
    if is_address(host):
        if kind == "suffix":
            raise _bad_rule(text, "an address has no subdomains", f"write {host_text}")
        kind = "address"
    elif kind == "suffix" and "." not in host:
        raise _bad_rule(
            text,
            f"would allow every .{host} host",
            f"name the domain, e.g. *.example.{host}",
        )
    return HostRule(kind, host, ports, raw)


def _host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0] or "api.example.com"


def is_address(host: str) -> bool:
    """Whether a normalised host is an IP literal."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def parse_resolve_pin(text: str) -> ResolvePin:
    """curl's `--resolve HOST:PORT:ADDRESS[,ADDRESS...]` (PORT may be `*`; `[v6]` addresses)."""
    hint = "write HOST:PORT:ADDRESS, e.g. api.example.com:443:192.0.2.10"
    host_text, sep, rest = text.partition(":")
    port_text, sep2, addresses_text = rest.partition(":")
    if not (sep and sep2 and host_text and addresses_text):
        raise NonoError(f"--resolve {text!r}: not HOST:PORT:ADDRESS", hint)
    try:
        host = normalise_host(host_text)
        port = None if port_text == "*" else parse_port(port_text)
        addresses = tuple(
            str(ipaddress.ip_address(a.strip().removeprefix("[").removesuffix("]")))
            for a in addresses_text.split(",")
        )
    except ValueError as exc:
        raise NonoError(f"--resolve {text!r}: {exc}", hint) from None
    return ResolvePin(host, port, addresses, text)


def decide(policy: EgressPolicy, host: str, port: int) -> Decision:
    """Deny rules win over allow rules; with no matching rule the answer is no.

    `host` is normalised. An IP literal is matched only by address rules, so `*.example.com`
    can never let a CONNECT to a bare address through.
    """
    for rule in policy.deny:
        if rule.matches(host, port):
            return Decision(False, rule.text, f"denied by rule {rule.text}")
    for rule in policy.allow:
        if rule.matches(host, port):
            return Decision(True, rule.text, f"allowed by rule {rule.text}")
    what = "address" if is_address(host) else "host"
    return Decision(False, "", f"no rule allows this {what} on port {port}")
