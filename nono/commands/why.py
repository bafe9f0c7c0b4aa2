"""`nono why`: would the policy allow this path or this host:port, and what flag would grant it."""

from __future__ import annotations

import argparse
import json
import os

from nono.commands.options import add_sandbox_options, options_from_args, port
from nono.errors import NonoError
from nono.sandbox.advice import advise
from nono.sandbox.build import build_policy
from nono.sandbox.policy import Policy, evaluate


def configure(parser: argparse.ArgumentParser) -> None:
    add_sandbox_options(parser)
    parser.add_argument("--path", help="a path to check")
    parser.add_argument(
        "--op",
        choices=("read", "write"),
        default="read",
        help="the access to check (default: read)",
    )
    parser.add_argument("--host", help="a host to check a TCP connection to")
    parser.add_argument("--port", type=port, help="the TCP port for --host")
    parser.add_argument("--json", action="store_true", help="JSON output")


def execute(args: argparse.Namespace) -> int:
    if bool(args.path) == bool(args.host):
        raise NonoError("give either --path P [--op read|write] or --host H --port N")
    policy = build_policy(options_from_args(args), dict(os.environ), os.getcwd())
    result = _path(policy, args) if args.path else _net(policy, args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        verdict = "ALLOWED" if result["allowed"] else "DENIED"
        print(f"{verdict}: {result['subject']}")
        print(f"  reason: {result['reason']}")
        for grant in result.get("grants", []):
            print(f"  by: {grant['access']} {grant['path']}  ({grant['source']})")
        if result.get("suggestion"):
            print(f"  to allow it: {result['advice']}")
        elif result.get("advice"):
            print(f"  {result['advice']}")
    return 0 if result["allowed"] else 1


def _path(policy: Policy, args: argparse.Namespace) -> dict:
    d = evaluate(policy, args.path, args.op, cwd=os.getcwd())
    if d.allowed and d.op == "write":
        # Granted, but mounted read-only inside the sandbox's view (git hooks, nono's code).
        from nono.sandbox.launcher import nono_code
        from nono.sandbox.policy import contains
        from nono.sandbox.view import plan_view

        view = plan_view(policy, os.environ, nono_code())
        kept = [b for b in view.binds if not b.writable and contains(b.path, d.path)]
        if kept:
            hint = "--allow-git-hooks" if kept[-1].reason.startswith("git") else None
            return {
                "subject": f"{d.op} {d.path}",
                "kind": "path",
                "path": d.path,
                "op": d.op,
                "allowed": False,
                "reason": f"read-only in the sandbox's view: {kept[-1].reason}",
                "grants": [],
                "suggestion": hint,
                "advice": hint,
            }
    # Only a grant nono would accept is suggested; otherwise the advice says what to do instead.
    advice = advise(policy, d.path, d.op) if d.suggestion else None
    return {
        "subject": f"{d.op} {d.path}",
        "kind": "path",
        "path": d.path,
        "op": d.op,
        "allowed": d.allowed,
        "reason": d.reason,
        "grants": [
            {"path": g.path, "access": g.access.label, "source": g.source} for g in d.grants
        ],
        "suggestion": advice.flag if advice else None,
        "advice": advice.text if advice else None,
    }


def _is_local(host: str) -> bool:
    import ipaddress
    import socket

    try:
        addrs = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    # A host name resolves to inet addresses, which are strings (other families' may not be).
    return bool(addrs) and all(
        isinstance(a, str) and ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs
    )


def _net(policy: Policy, args: argparse.Namespace) -> dict:
    if args.port is None:
        raise NonoError("--host needs --port N")
    net = policy.network
    subject = f"tcp connect {args.host}:{args.port}"
    base = {"subject": subject, "kind": "network", "host": args.host, "port": args.port}
    if net.filtered:
        from nono.sandbox.hosts import explain_host

        return {**base, **explain_host(net, args.host, args.port)}
    if not net.blocked:
        return {**base, "allowed": True, "reason": "the network is allowed (no --block-net)"}
    if args.port in net.connect_ports:
        reason = f"--allow-connect-port {args.port}"
        return {**base, "allowed": True, "reason": reason}
    if args.port in net.open_ports:
        reason = f"--allow-port {args.port}"
        if not _is_local(args.host):
            reason += " (meant for localhost, but Landlock rules are per port: any host passes)"
        return {**base, "allowed": True, "reason": reason}
    suggestion = (
        f"--allow-port {args.port}" if _is_local(args.host) else f"--allow-connect-port {args.port}"
    )
    return {
        **base,
        "allowed": False,
        "reason": "the network is blocked (--block-net or the profile)",
        "suggestion": suggestion,
    }
