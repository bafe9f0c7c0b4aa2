"""Network by host: the egress proxy that lets a sandboxed agent reach only the hosts its
policy allows, and the log of what it reached (rules.py, addresses.py, http.py, relay.py,
proxy.py, egress_log.py)."""

from nono.net.egress_log import EgressLog, EgressRecord, read_records
from nono.net.proxy import EgressProxy, Limits, ProxyStats
from nono.net.rules import (
    EgressPolicy,
    HostRule,
    ResolvePin,
    decide,
    normalise_host,
    parse_host_rule,
    parse_resolve_pin,
)

__all__ = [
    "EgressLog",
    "EgressPolicy",
    "EgressProxy",
    "EgressRecord",
    "HostRule",
    "Limits",
    "ProxyStats",
    "ResolvePin",
    "decide",
    "normalise_host",
    "parse_host_rule",
    "parse_resolve_pin",
    "read_records",
]
