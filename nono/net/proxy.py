"""The egress proxy: accepts on a socket it is given, decides each request by the policy,
connects to the checked address and relays; every connection ends as one egress record.

The caller owns the loop; the socket becomes the proxy's (closed by `close`). The launcher
makes the listening socket on 127.0.0.1 inside the sandbox's own network namespace (only
loopback there) and hands its descriptor to the supervisor, which serves it from the host's
namespace (sandbox/netns.py): the agent can reach nothing but its proxy, and nothing but the
agent can reach the proxy.

Plain HTTP is served one request per connection: the proxy tells both ends
`Connection: close` and closes once the origin has answered; clients open a new connection
for the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import socket
import time
from dataclasses import dataclass

from nono.net.addresses import ResolveError, check_address, resolve
from nono.net.egress_log import EgressLog, EgressRecord, Outcome
from nono.net.http import BadRequest, answer, parse_head, parse_request, rewrite_response_head
from nono.net.relay import HeadError, Traffic, linger, read_head, relay
from nono.net.rules import EgressPolicy, HostRule, decide, parse_host_rule

TUNNEL_OPEN = b"HTTP/1.1 200 Connection established\r\n\r\n"
RESPONSE_HEAD_MAX = 64 * 1024
LINGER = 1.0


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


class Refused(Exception):
    """The proxy's own answer to a request, with the record the log keeps of it."""

    def __init__(self, status: int, text: str, record: EgressRecord, denied_by: str | None = None):
        super().__init__(text)
        self.response = answer(status, text, denied_by)
        self.record = record


class EgressProxy:
    """One session's proxy. `serve(sock)` starts it on the running loop; `allow(rule)` changes
    the policy for the next connection; `close()` ends it and every relay."""

    def __init__(self, policy: EgressPolicy, log: EgressLog, limits: Limits | None = None) -> None:
        self.policy = policy
        self.log = log
        self.limits = limits or Limits()
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._live: set[asyncio.Task[None]] = set()
        self._accepted = self._peak = self._busy = self._slow = self._large = 0

    async def serve(self, sock: socket.socket) -> None:
        """Start accepting on `sock`: a bound TCP socket (listening or not) that is now ours."""
        sock.setblocking(False)
        sock.listen(1024)
        self._listener = sock
        self._accepting = asyncio.get_running_loop().create_task(self._accept_loop(sock))

    def allow(self, text: str) -> HostRule:
        """Allow a host from now on ("allow this host for this session"): the next connection
        sees it; those already decided are unchanged. Raises NonoError for a bad rule."""
        rule = parse_host_rule(text)
        self.policy = self.policy.with_allowed(rule)
        return rule

    def stats(self) -> ProxyStats:
        return ProxyStats(
            self._accepted, len(self._live), self._peak, self._busy, self._slow, self._large
        )

    async def close(self) -> None:
        tasks = [t for t in (self._accepting, *self._live) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(listener)
            except OSError:  # EMFILE and friends: back off rather than spin
                await asyncio.sleep(0.1)
                continue
            self._accepted += 1
            if len(self._live) >= self.limits.max_connections:
                # Refused before anything is read or allocated for it.
                self._busy += 1
                with contextlib.suppress(OSError):
                    client.setblocking(False)
                    client.send(answer(503, "too many connections through this proxy"))
                client.close()
                continue
            task = loop.create_task(self._connection(client))
            self._live.add(task)
            self._peak = max(self._peak, len(self._live))
            task.add_done_callback(self._live.discard)

    async def _connection(self, client: socket.socket) -> None:
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.time()
        loop = asyncio.get_running_loop()
        traffic = Traffic(loop)
        upstream: socket.socket | None = None
        record: EgressRecord | None = None
        try:
            try:
                head, rest = await self._head(client, started)
                target = parse_request(parse_head(head))
                record, upstream = await self._open(
                    target.host, target.port, target.tunnel, started
                )
                if target.tunnel:
                    await loop.sock_sendall(client, TUNNEL_OPEN)
                else:
                    await loop.sock_sendall(upstream, target.forward_head)
            except BadRequest as exc:
                record = _record(started, "", 0, "invalid", 400, str(exc))
                raise Refused(400, str(exc), record) from None
            if rest:
                traffic.add_up(len(rest))
                await loop.sock_sendall(upstream, rest)
            rewrite = None
            if not target.tunnel:
                rewrite = functools.partial(_response_head, client, upstream, traffic)
            error = await relay(client, upstream, traffic, self.limits.idle_timeout, rewrite)
            record = _with(record, error=error)
        except Refused as refusal:
            record = refusal.record
            with contextlib.suppress(OSError):
                await loop.sock_sendall(client, refusal.response)
                await linger(client, LINGER)
        except HeadError:
            pass  # hung up before asking for anything: nothing to audit
        except OSError as exc:
            if record is not None:
                record = _with(record, error=exc.strerror or str(exc) or type(exc).__name__)
        finally:
            client.close()
            if upstream is not None:
                upstream.close()
            if record is not None:
                self.log.write(
                    _with(
                        record,
                        bytes_up=traffic.up,
                        bytes_down=traffic.down,
                        duration=round(time.time() - started, 6),
                    )
                )

    async def _head(self, client: socket.socket, started: float) -> tuple[bytes, bytes]:
        try:
            async with asyncio.timeout(self.limits.head_timeout):
                return await read_head(client, self.limits.head_bytes)
        except TimeoutError:
            self._slow += 1
            why = f"request head not complete in {self.limits.head_timeout:g} s"
            raise Refused(408, why, _record(started, "", 0, "invalid", 408, why)) from None
        except HeadError as exc:
            if exc.status == 0:
                raise
            self._large += 1
            why = f"request head over {self.limits.head_bytes} bytes"
            raise Refused(431, why, _record(started, "", 0, "invalid", 431, why)) from None

    async def _open(
        self, host: str, port: int, tunnel: bool, started: float
    ) -> tuple[EgressRecord, socket.socket]:
        """Decide, resolve, check and connect -> (the record so far, the upstream socket)."""
        kind = "connect" if tunnel else "http"
        where = f"{host}:{port}"
        policy = self.policy  # one policy for the whole decision, even if allow() runs meanwhile
        decision = decide(policy, host, port)
        base = _record(started, host, port, kind, 403, decision.reason, rule=decision.rule)
        if not decision.allowed:
            raise Refused(
                403, f"{where}: {decision.reason}", base, decision.rule or "no allow rule"
            )
        try:
            async with asyncio.timeout(self.limits.connect_timeout):
                addresses = await resolve(policy, host, port)
                verdicts = [check_address(policy, a, port) for a in addresses]
                passed = [v for v in verdicts if v.allowed]
                if not passed:
                    v = verdicts[0]
                    record = _with(
                        base, address=v.address, error=v.reason, rule=v.rule or base.rule
                    )
                    raise Refused(403, f"{where}: {v.reason}", record, v.reason)
                error = ""
                for verdict in passed:  # connect to the checked address: never resolve again
                    try:
                        upstream = await _connect(verdict.address, port)
                    except OSError as exc:
                        error = f"cannot connect to {verdict.address}: {exc.strerror or exc}"
                        continue
                    rule = " + ".join(dict.fromkeys(r for r in (base.rule, verdict.rule) if r))
                    opened = _with(base, status=200, decision="allowed", error="", rule=rule)
                    return _with(opened, address=verdict.address), upstream
        # The rules allowed these; the network failed them. The log says "allowed" with the
        # status and the error, so an offline agent's attempts are not counted as denials.
        except ResolveError as exc:
            failed = _with(base, status=502, error=str(exc), decision="allowed")
            raise Refused(502, f"{where}: {exc}", failed) from None
        except TimeoutError:
            why = f"no connection within {self.limits.connect_timeout:g} s"
            failed = _with(base, status=504, error=why, decision="allowed")
            raise Refused(504, f"{where}: {why}", failed) from None
        raise Refused(502, f"{where}: {error}", _with(base, status=502, error=error,
                                                       decision="allowed"))  # fmt: skip


async def _response_head(client: socket.socket, upstream: socket.socket, traffic: Traffic) -> None:
    """Plain HTTP: the origin's head goes to the client rewritten (no hop-by-hop headers,
    `Connection: close`); the body then goes through the relay untouched."""
    try:
        head, rest = await read_head(upstream, RESPONSE_HEAD_MAX)
        data = rewrite_response_head(head) + rest
    except (HeadError, BadRequest) as exc:
        raise OSError(f"the server's answer: {exc}") from None
    traffic.add_down(len(data))
    await asyncio.get_running_loop().sock_sendall(client, data)


async def _connect(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _record(
    started: float, host: str, port: int, kind: str, status: int, error: str, *, rule: str = ""
) -> EgressRecord:
    decision: Outcome = "denied"
    return EgressRecord(started, host, port, "", decision, rule, kind, status, error=error)


def _with(record: EgressRecord, **changes: object) -> EgressRecord:
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]
