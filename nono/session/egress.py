"""A run's egress proxy, served outside the sandbox: on the supervisor's loop for a session,
on a thread of its own for a run without one; and what the report after a run says of it.

The listening socket comes from the sandbox (launcher.spawn: bound in the child's own network
namespace), so the agent can reach the proxy and nothing else can; the proxy's own connections
leave from this process, in the host's namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from nono.net.egress_log import EgressLog, EgressRecord, read_records
from nono.net.proxy import EgressProxy
from nono.sandbox.hosts import egress_policy
from nono.sandbox.launcher import Prepared
from nono.sandbox.policy import NetworkPolicy


async def serve(
    network: NetworkPolicy,
    listener: socket.socket,
    log_path: Path,
    on_denied: Callable[[EgressRecord], None] | None = None,
    on_record: Callable[[EgressRecord], None] | None = None,
) -> EgressProxy:
    """Start the proxy for `network`'s host list on the running loop."""
    log = EgressLog(log_path, on_denied=on_denied, on_record=on_record)
    proxy = EgressProxy(egress_policy(network), log)
    await proxy.serve(listener)
    return proxy


class ProxyThread:
    """The proxy of a run without a supervisor (`nono run` with pipes): the CLI waits on its
    child with blocking calls (waitpid, the stderr tee), so the proxy gets a thread and an
    event loop of its own. Started after the fork, so no thread ever crosses one."""

    def __init__(self, network: NetworkPolicy, listener: socket.socket, log_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._proxy: EgressProxy | None = None
        self._error: BaseException | None = None

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self._proxy = self.loop.run_until_complete(serve(network, listener, log_path))
            except BaseException as exc:  # reported by start(), in the caller's thread
                self._error = exc
                listener.close()
                return
            finally:
                self._ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, name="nono-egress-proxy", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._proxy is not None and self.loop.is_running():
            done = asyncio.run_coroutine_threadsafe(self._proxy.close(), self.loop)
            with contextlib.suppress(Exception):
                done.result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


def serve_in_thread(
    prepared: Prepared, pid: int, listener: socket.socket
) -> tuple[ProxyThread, Path]:
    """A run without a supervisor serves its proxy itself, on a thread; the log is the run's
    own, in nono's state (paths.egress_log). If it cannot serve, the child is ended: it never
    runs with a host list no one enforces."""
    import os
    import signal

    from nono import paths
    from nono.session.registry import new_id

    log_path = paths.egress_log(new_id())
    _forget_old_runs(log_path.parent)
    thread = ProxyThread(prepared.policy.network, listener, log_path)
    try:
        thread.start()
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    return thread, log_path


RUN_LOGS_KEPT_DAYS = 14


def _forget_old_runs(directory: Path) -> None:
    """Logs of runs without a session (no record to prune them with) go after two weeks;
    a session's log goes with its record (registry.remove)."""
    import time

    from nono.session.registry import record_path

    cutoff = time.time() - RUN_LOGS_KEPT_DAYS * 86400
    for path in directory.glob("*.jsonl*"):
        run_id = path.name.split(".", 1)[0]
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff and not record_path(run_id).exists():
                path.unlink()


# ---------------------------------------------------------------- after the run

# What programs print when they resolve a name themselves (ignoring the proxy): the sandbox
# has no resolver, so that is where they fail, naming the host.
_RESOLVE_FAILED = (
    re.compile(r"[Cc]ould not resolve host:? '?([A-Za-z0-9._-]+)"),  # curl, git
    re.compile(r"getaddrinfo (?:ENOTFOUND|EAI_AGAIN) ([A-Za-z0-9._-]+)"),  # Node
    re.compile(r"[Ff]ailed to resolve '([A-Za-z0-9._-]+)'"),  # Python urllib3/requests
    re.compile(r"unable to resolve host address '?([A-Za-z0-9._-]+)"),  # wget
    re.compile(r"[Hh]ost=['\"]?([A-Za-z0-9._-]+)['\"]?.*(?:resolution|[Nn]ame or service)"),
)
_DIRECT_FAILED = re.compile(
    r"Network is unreachable|ENETUNREACH|Temporary failure in name resolution|"
    r"Name or service not known|EAI_AGAIN|No address associated with hostname"
)


def scan_line(line: str) -> list[str]:
    """Signs in one line of output that a program went around the proxy: the hosts it tried
    to resolve, or "" when it says only that it could not get out."""
    hosts = [m.group(1).rstrip(".") for p in _RESOLVE_FAILED for m in p.finditer(line)]
    if hosts:
        return hosts
    return [""] if _DIRECT_FAILED.search(line) else []


def report(network: NetworkPolicy, log_path: Path, port: int, seen: list[str]) -> list[str]:
    """What nono says after a failed run with a host list: that the proxy is the only way
    out, the hosts the proxy refused (from the log), and the hosts a program tried to reach
    without it (from its output) -- or that nono cannot tell which, when it cannot."""
    records = _records(log_path)
    denied = list(dict.fromkeys(
        (r.host, r.port, r.error) for r in records if r.decision == "denied" and r.host
    ))  # fmt: skip
    failed = list(dict.fromkeys(
        (r.host, r.port, r.error) for r in records if r.decision == "allowed" and r.error
    ))  # fmt: skip
    direct = [h for h in dict.fromkeys(seen) if h]
    if not denied and not seen and not failed:
        return []
    lines = [
        f"nono: the network is reachable only through nono's proxy (127.0.0.1:{port}, set as "
        "HTTPS_PROXY/HTTP_PROXY/ALL_PROXY); a program that ignores them cannot connect",
        f"nono: every connection through it is in {log_path}",
    ]
    for host, port_, why in denied[:10]:
        lines.append(f"nono: the proxy refused {host}:{port_}: {why}")
        lines.append(f"nono:   to allow it: --allow-host {_rule(host, port_)}")
    if len(denied) > 10:
        lines.append(f"nono: ... and {len(denied) - 10} more refused (see {log_path})")
    for host, port_, why in failed[:5]:
        lines.append(f"nono: {host}:{port_} is allowed, but the proxy could not reach it: {why}")
    for host in direct[:10]:
        lines.append(f"nono: a program tried to reach {host} directly, without the proxy")
    if seen and not direct:
        lines.append(
            "nono: a program tried to connect without the proxy; nono cannot tell to which host"
        )
    return lines


def print_report(prepared: Prepared, log_path: Path, seen: list[str]) -> None:
    import sys

    for line in report(prepared.policy.network, log_path, prepared.view.proxy_port or 0, seen):
        print(line, file=sys.stderr)


def _rule(host: str, port: int) -> str:
    text = f"[{host}]" if ":" in host else host
    return text if port == 443 else f"{text}:{port}"


def _records(path: Path) -> list[EgressRecord]:
    try:
        return read_records(path)
    except (OSError, ValueError, TypeError):
        return []
