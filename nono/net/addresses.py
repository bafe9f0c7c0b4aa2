"""Which address a host may be reached at: resolution (pins first, then the system resolver)
and the check that keeps an allowed name from pointing the proxy at this machine or its cloud.

The proxy connects to exactly the addresses `resolve` returned and `check_address` passed:
it never resolves the name a second time, so there is no window for DNS rebinding between
the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from nono.net.rules import EgressPolicy

# Cloud instance-metadata endpoints that are not already link-local: AWS's IPv6 one is in
# fd00::/8 (unique local), which is otherwise an ordinary private network.
_METADATA = frozenset({ipaddress.ip_address("fd00:ec2::254")})
# "This network" (0.0.0.0/8): Linux connects 0.x.x.x to the local host.
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class AddressVerdict:
    allowed: bool
    address: str
    reason: str
    rule: str = ""


def special_kind(address: str) -> str | None:
    """Why an address is off limits by default ("loopback", "link-local", ...), or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if embedded is not None:
            inner = special_kind(str(embedded))
            return f"{inner} (inside {address})" if inner else None
    if ip in _METADATA or str(ip) == "169.254.169.254":
        return "cloud metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK):
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and (ip.is_reserved or ip == _BROADCAST):
        return "reserved"
    return None


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def check_address(policy: EgressPolicy, address: str, port: int) -> AddressVerdict:
    """A resolved address passes unless a deny rule names it, or it is special (loopback,
    link-local, metadata, unspecified, multicast) and no allow rule names it literally."""
    for rule in policy.deny:
        if rule.kind == "address" and rule.matches(address, port):
            return AddressVerdict(
                False, address, f"{address} denied by rule {rule.text}", rule.text
            )
    kind = special_kind(address)
    if kind is None:
        return AddressVerdict(True, address, "public address")
    for rule in policy.allow:
        if rule.kind == "address" and rule.matches(address, port):
            return AddressVerdict(True, address, f"{kind} address named by rule", rule.text)
    hint = f"allow {_rule_for(address, port)} to reach it"
    return AddressVerdict(False, address, f"resolves to {kind} address {address} ({hint})")


def _rule_for(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class ResolveError(Exception):
    """The name has no address (the proxy answers 502)."""


async def resolve(policy: EgressPolicy, host: str, port: int) -> tuple[str, ...]:
    """Addresses for host:port: an IP literal is itself, a `--resolve` pin wins, otherwise
    the system resolver (getaddrinfo, so /etc/hosts and nsswitch apply)."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    for pin in policy.pins:
        if pin.matches(host, port):
            return pin.addresses
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except socket.gaierror as exc:
        raise ResolveError(f"cannot resolve {host}: {exc.strerror}") from None
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        # Scope ids ("fe80::1%eth0") are dropped: such addresses are link-local, refused anyway.
        seen.setdefault(str(sockaddr[0]).split("%", 1)[0], None)
    if not seen:
        raise ResolveError(f"cannot resolve {host}: no addresses")
    return tuple(seen)
