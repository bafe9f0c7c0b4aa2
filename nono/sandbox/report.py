"""The policy as a person reads it: `nono run --dry-run`, with --json for scripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nono.sandbox import env as env_mod
from nono.sandbox.kernel import Plan
from nono.sandbox.policy import Policy
from nono.sandbox.seccomp import DENIED_SYSCALLS
from nono.sandbox.view import View


def describe(
    policy: Policy,
    plan: Plan,
    argv: list[str],
    child_env: Mapping[str, str],
    parent_env: Mapping[str, str],
    view: View | None = None,
) -> dict[str, Any]:
    return {
        "command": argv,
        "workdir": policy.workdir,
        "profile": policy.profile,
        "landlock_abi": plan.abi,
        "capabilities": [
            {
                "path": g.path,
                "access": g.access.label,
                "kind": "file" if g.is_file else "dir",
                "source": g.source,
                "requested": g.requested,
            }
            for g in policy.grants
        ],
        "skipped": [{"path": p, "source": s} for p, s in policy.skipped],
        "protected": [{"path": p.path, "label": p.label} for p in policy.protected],
        "network": {
            "mode": policy.network.mode,
            "allow_port": list(policy.network.open_ports),
            "allow_connect_port": list(policy.network.connect_ports),
            **_hosts(policy),
        },
        "isolation": {
            "signals_and_abstract_sockets_scoped": policy.isolate_ipc,
            "denied_syscalls": list(DENIED_SYSCALLS),
        },
        "enforcement": list(plan.notes),
        "view": None
        if view is None
        else {
            "summary": view.describe()[:3]
            + ([view.processes.describe()] if view.processes else ["processes: no bound"])
            + ([view.describe()[-1]] if view.proxy_port is not None else []),
            "binds": [
                {"path": b.path, "access": "rw" if b.writable else "ro", "reason": b.reason}
                for b in view.binds
            ],
            "unix_sockets": list(view.sockets),
        },
        "env": {
            "removed": env_mod.removed(parent_env, child_env),
            "why": {
                name: env_mod.why_removed(name, policy.env) or "replaced"
                for name in env_mod.removed(parent_env, child_env)
            },
            "set": {k: v for k, v in child_env.items() if parent_env.get(k) != v},
        },
    }


def _hosts(policy: Policy) -> dict[str, Any]:
    net = policy.network
    if not (net.filtered or net.hosts_dropped):
        return {}

    def listed(entries: tuple) -> list[dict[str, str]]:
        return [{"rule": e.text, "source": e.source} for e in entries]

    return {
        "allow_hosts": listed(net.allow_hosts),
        "deny_hosts": listed(net.deny_hosts),
        "host_groups": list(net.host_groups),
        "resolve": listed(net.resolve),
        "hosts_dropped": net.hosts_dropped,
    }


def _render_hosts(net: dict[str, Any]) -> list[str]:
    out = []
    if net.get("hosts_dropped"):
        out.append(f"            {net['hosts_dropped']}")
    if net["mode"] != "hosts":
        return out
    width = max((len(h["rule"]) for h in (*net["allow_hosts"], *net["deny_hosts"])), default=0)
    for h in net["allow_hosts"]:
        out.append(f"            allow {h['rule'].ljust(width)}  {h['source']}")
    for h in net["deny_hosts"]:
        out.append(f"            deny  {h['rule'].ljust(width)}  {h['source']}")
    for pin in net["resolve"]:
        out.append(f"            resolve {pin['rule']}  {pin['source']}")
    if net["allow_port"] or net["allow_connect_port"]:
        ports = ", ".join(str(p) for p in (*net["allow_port"], *net["allow_connect_port"]))
        out.append(f"            TCP ports {ports}: the sandbox's own loopback only")
    out.append("            ports 80 and 443 unless a rule names one; the proxy resolves names")
    out.append("            (loopback, link-local, metadata addresses: only if a rule names them)")
    return out


def render(info: dict[str, Any], verbose: bool) -> str:
    out = ["nono: dry run, nothing was executed", ""]
    out.append(f"  command   {' '.join(info['command'])}")
    out.append(f"  workdir   {info['workdir']}")
    out.append(f"  profile   {info['profile']}")
    agent = info.get("agent")
    if agent:
        runs = f" (runs as {', '.join(agent['commands'])})" if agent["commands"] else ""
        out.append(f"  agent     {agent['kind'] or 'unnamed'}{runs}")
        if agent["state"]:
            out.append(f"            its state: {', '.join(agent['state'])}")
        out += [f"            {text}" for text in agent["does"]]
        out += [f"            sets {k}={v}" for k, v in sorted(agent["env"].items())]
    net = info["network"]
    line = f"  network   {net['mode']}"
    if net["mode"] == "blocked" and (net["allow_port"] or net["allow_connect_port"]):
        parts = [f"{p} (connect+bind)" for p in net["allow_port"]]
        parts += [f"{p} (connect)" for p in net["allow_connect_port"]]
        line += (
            "; TCP ports open: " + ", ".join(parts) + " (to any host: Landlock rules are per port)"
        )
    elif net["mode"] == "allowed" and (net["allow_port"] or net["allow_connect_port"]):
        line += " (port rules have no effect while the network is allowed)"
    elif net["mode"] == "hosts":
        line += " (only these, through nono's proxy; nothing else is reachable)"
    out.append(line)
    out += _render_hosts(net)
    out.append("")
    caps = [
        c for c in info["capabilities"] if verbose or not c["source"].startswith("group system")
    ]
    hidden = len(info["capabilities"]) - len(caps)
    out.append("Capabilities:")
    width = max((len(c["path"]) for c in caps), default=10)
    for c in caps:
        kind = "" if c["kind"] == "dir" else " (file)"
        out.append(f"  {c['access']:<3} {c['path'].ljust(width)}  {c['source']}{kind}")
    if hidden:
        out.append(f"  ... and {hidden} system paths read-only (group system; -v lists them)")
    out.append("")
    out.append("Enforcement:")
    out += [f"  {note}" for note in info["enforcement"]]
    out.append("  seccomp refuses: " + ", ".join(info["isolation"]["denied_syscalls"]))
    out.append("  seccomp refuses: TIOCSTI, TIOCLINUX, setpriority/ioprio_set of a whole user")
    view = info.get("view")
    if view:
        out.append("")
        out.append("Private view:")
        out += [f"  {line}" for line in view["summary"]]
        shown = view["binds"] if verbose else [b for b in view["binds"] if b["access"] == "ro"]
        for b in shown:
            out.append(f"  {b['access']} {b['path']}  ({b['reason']})")
        for path in view["unix_sockets"]:
            out.append(f"  unix socket allowed: {path}")
        out.append("  every other host Unix socket: covered (connect fails)")
    out.append("")
    out.append("Never granted: " + ", ".join(p["label"] for p in info["protected"]))
    if verbose:
        if info["skipped"]:
            out.append("")
            out.append("Left out (do not exist):")
            out += [f"  {s['path']}  {s['source']}" for s in info["skipped"]]
        out.append("")
        out.append("Environment:")
        by_reason: dict[str, list[str]] = {}
        for name in info["env"]["removed"]:
            by_reason.setdefault(info["env"]["why"].get(name, "removed"), []).append(name)
        if not by_reason:
            out.append("  removed: nothing")
        for reason, names in by_reason.items():
            out.append(f"  removed: {', '.join(names)}  ({reason})")
        for key, value in sorted(info["env"]["set"].items()):
            out.append(f"  set {key}={value}")
    return "\n".join(out)
