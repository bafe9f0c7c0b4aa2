"""The egress proxy: accepts on a socket it is given, decides each request by the policy,
connects to the checked address and relays; every connection ends as one egress record.

The caller owns the socket and the loop: the plan is that the launcher makes the listening
socket on 127.0.0.1 inside the sandbox's own network namespace (only loopback there) and hands
its descriptor to the supervisor, which serves it from the host's namespace. So the agent can
reach nothing but its proxy, and nothing but the agent can reach the proxy.

Plain HTTP is served one request per connection: the proxy tells both ends `Connection: close`
and closes when the origin has answered (clients open a new connection for the next request).
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

from nono.net.addresses import ResolveError, check_address, resolve
from nono.net.egress_log import EgressLog, EgressRecord, Outcome
from nono.net.http import BadRequest, answer, parse_head, parse_request
from nono.net.relay import WRITE_HIGH, ClientSide, Connection, UpstreamSide
from nono.net.rules import EgressPolicy, HostRule, decide, parse_host_rule

TUNNEL_OPEN = b"HTTP/1.1 200 Connection established\r\n\r\n"


@dataclass(frozen=True)
class Limits:
    """What one proxy may spend, whatever its clients do."""

    max_connections: int = 256  # open at once; the next are answered 503 and closed
    head_bytes: int = 16 * 1024  # a request head larger than this is refused (431)
    head_timeout: float = 10.0  # a head not complete in this long is refused (408)
    connect_timeout: float = 10.0  # resolving plus connecting; past it, 504
    idle_timeout: float = 300.0  # a relay with no bytes either way for this long is closed


@dataclass(frozen=True)
class ProxyStats:
    """Counters a test or the dashboard can read; `active` is never above the limit."""

    accepted: int
    active: int
    peak_active: int
    refused_busy: int
    head_timeouts: int
    heads_too_large: int


class EgressProxy:
    """One session's proxy. `serve(sock)` starts it on the caller's loop; `allow(rule)`
    changes the policy for the next connection; `close()` ends it and every relay."""

    def __init__(
        self,
        policy: EgressPolicy,
        log: EgressLog,
        limits: Limits | None = None,
    ) -> None:
        self.policy = policy
        self.log = log
        self.limits = limits or Limits()
        self._server: asyncio.Server | None = None
        self._live: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepted = self._peak = self._busy = self._slow = self._large = 0

    # -- the public surface -------------------------------------------------------------------

    async def serve(self, sock: socket.socket) -> None:
        """Start accepting on `sock`, a TCP socket already bound (and listening or not)."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._server = await loop.create_server(
            lambda: ClientSide(self._accept), sock=sock, backlog=1024
        )

    def allow(self, text: str) -> HostRule:
        """Allow a host from now on ("allow this host for this session"); the next connection
        sees it, the ones already decided are unchanged. Raises NonoError for a bad rule."""
        rule = parse_host_rule(text)
        self.policy = self.policy.with_allowed(rule)
        return rule

    def stats(self) -> ProxyStats:
        return ProxyStats(
            self._accepted, len(self._live), self._peak, self._busy, self._slow, self._large
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._live):
            conn.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # -- a connection's life ------------------------------------------------------------------

    def _accept(self, transport: asyncio.Transport) -> Connection | None:
        self._accepted += 1
        if len(self._live) >= self.limits.max_connections:
            # Refused before anything is read or allocated for it.
            self._busy += 1
            transport.write(answer(503, "too many connections through this proxy"))
            transport.close()
            return None
        loop = asyncio.get_running_loop()
        conn = Connection(loop, self.limits.head_bytes)
        conn.client = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH)
        conn.on_head = self._on_head
        conn.on_bad_head = self._on_bad_head
        conn.on_close = self._on_close
        conn.arm(
            self.limits.head_timeout, f"request head not complete in {self.limits.head_timeout:g} s"
        )
        self._live.add(conn)
        self._peak = max(self._peak, len(self._live))
        return conn

    def _on_bad_head(self, conn: Connection, status: int, why: str) -> None:
        if status == 408:
            self._slow += 1
        else:
            self._large += 1
        self._refuse(conn, _record(conn, "", 0, "invalid", status, why), answer(status, why))

    def _on_head(self, conn: Connection, head: bytes, rest: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._decide(conn, head, rest))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide(self, conn: Connection, head: bytes, rest: bytes) -> None:
        try:
            target = parse_request(parse_head(head))
        except BadRequest as exc:
            record = _record(conn, "", 0, "invalid", 400, str(exc))
            self._refuse(conn, record, answer(400, str(exc)))
            return
        kind = "connect" if target.tunnel else "http"
        policy = self.policy  # one policy for the whole decision, even if allow() runs meanwhile
        where = f"{target.host}:{target.port}"
        decision = decide(policy, target.host, target.port)
        rule = decision.rule
        if not decision.allowed:
            reason = decision.reason
            record = _record(conn, target.host, target.port, kind, 403, reason, rule=rule)
            self._refuse(conn, record, answer(403, f"{where}: {reason}", rule or "no allow rule"))
            return
        try:
            async with asyncio.timeout(self.limits.connect_timeout):
                addresses = await resolve(policy, target.host, target.port)
                verdicts = [check_address(policy, a, target.port) for a in addresses]
                passed = [v for v in verdicts if v.allowed]
                if not passed:
                    refusal = verdicts[0]
                    record = _record(
                        conn, target.host, target.port, kind, 403, refusal.reason,
                        rule=refusal.rule or rule, address=refusal.address,
                    )  # fmt: skip
                    self._refuse(
                        conn, record, answer(403, f"{where}: {refusal.reason}", refusal.reason)
                    )
                    return
                address, error = await _connect(conn, [v.address for v in passed], target.port)
        except ResolveError as exc:
            record = _record(conn, target.host, target.port, kind, 502, str(exc), rule=rule)
            self._refuse(conn, record, answer(502, f"{where}: {exc}"))
            return
        except TimeoutError:
            why = f"no connection within {self.limits.connect_timeout:g} s"
            record = _record(conn, target.host, target.port, kind, 504, why, rule=rule)
            self._refuse(conn, record, answer(504, f"{where}: {why}"))
            return
        extra = next((v.rule for v in passed if v.address == address and v.rule), "")
        rule_text = f"{rule} + {extra}" if extra and extra != rule else rule
        if conn.upstream is None:
            record = _record(conn, target.host, target.port, kind, 502, error, rule=rule_text)
            self._refuse(conn, record, answer(502, f"{where}: {error}"))
            return
        conn.record = _record(
            conn, target.host, target.port, kind, 200, "", rule=rule_text, address=address,
            decision="allowed",
        )  # fmt: skip
        if conn.state != "deciding":  # the client went away while we connected
            conn.upstream.close()
            return
        assert conn.client is not None
        if target.tunnel:
            conn.client.write(TUNNEL_OPEN)
            conn.start_relay(rest)
        else:
            conn.rewrite_response = True
            conn.upstream.write(target.forward_head)
            conn.start_relay(rest)
        conn.arm(self.limits.idle_timeout, f"idle for {self.limits.idle_timeout:g} s", idle=True)

    def _refuse(self, conn: Connection, record: EgressRecord, response: bytes) -> None:
        conn.record = record
        conn.refuse(response)

    def _on_close(self, conn: Connection) -> None:
        self._live.discard(conn)
        record = conn.record
        if record is None:
            return  # closed before it asked for anything: nothing to audit
        status, error = record.status, record.error
        if record.decision == "allowed" and conn.error:
            error = conn.error
        self.log.write(
            EgressRecord(
                time=record.time, host=record.host, port=record.port, address=record.address,
                decision=record.decision, rule=record.rule, kind=record.kind, status=status,
                bytes_up=conn.bytes_up, bytes_down=conn.bytes_down,
                duration=round(time.time() - record.time, 6), error=error,
            )
        )  # fmt: skip


def _record(
    conn: Connection,
    host: str,
    port: int,
    kind: str,
    status: int,
    error: str,
    *,
    rule: str = "",
    address: str = "",
    decision: Outcome = "denied",
) -> EgressRecord:
    return EgressRecord(
        time=conn.started, host=host, port=port, address=address, decision=decision,
        rule=rule, kind=kind, status=status, error=error,
    )  # fmt: skip


async def _connect(conn: Connection, addresses: list[str], port: int) -> tuple[str, str]:
    """Try each checked address in turn; the first that answers is the upstream."""
    loop = asyncio.get_running_loop()
    error = ""
    for address in addresses:
        try:
            transport, _ = await loop.create_connection(
                lambda: UpstreamSide(conn), host=address, port=port
            )
        except OSError as exc:
            error = f"cannot connect to {address}: {exc.strerror or exc}"
            continue
        assert isinstance(transport, asyncio.Transport)
        conn.upstream = transport
        return address, ""
    return "", error
