"""Network by host: the egress proxy that lets a sandboxed agent reach only the hosts its
policy allows, and the log of what it reached (rules.py, addresses.py, http.py, relay.py,
proxy.py, egress_log.py).

Names are loaded on first use: `nono run` checks host rules (rules.py, cheap) on every start
with a host list, and must not pay for asyncio and the proxy (~40 ms) to do it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads each on first use
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

_WHERE = {
    "EgressLog": "egress_log",
    "EgressRecord": "egress_log",
    "read_records": "egress_log",
    "EgressProxy": "proxy",
    "Limits": "proxy",
    "ProxyStats": "proxy",
    "EgressPolicy": "rules",
    "HostRule": "rules",
    "ResolvePin": "rules",
    "decide": "rules",
    "normalise_host": "rules",
    "parse_host_rule": "rules",
    "parse_resolve_pin": "rules",
}

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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'nono.net' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nono.net.{_WHERE[name]}"), name)
