"""The egress proxy end to end: real servers on 127.0.0.1 (TLS with a throwaway CA, plain HTTP,
raw TCP), named with `--resolve`-style pins, reached through the proxy by curl, Python's
urllib and Node's fetch (undici's ProxyAgent), with the egress log read back after each."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from net_helpers import (
    ProxyThread,
    Server,
    echo_server,
    http_server,
    make_certificates,
    tls_server,
)

from nono.net import (
    EgressLog,
    EgressPolicy,
    EgressRecord,
    Limits,
    ProxyStats,
    parse_host_rule,
    parse_resolve_pin,
    read_records,
)

# npm ships undici (Node's fetch, with the ProxyAgent Node's built-in fetch lacks); Node 20's
# fetch ignores HTTPS_PROXY, so a proxy-aware fetch needs undici's ProxyAgent.
UNDICI = Path("/usr/lib/node_modules/npm/node_modules/undici")


class World:
    def __init__(self, directory: Path) -> None:
        self.ca, cert, key = make_certificates(directory, ["tls.test", "rebind.test"])
        self.tls = tls_server(cert, key)
        self.http = http_server()
        self.secret = http_server()  # a local service no rule names
        self.echo = echo_server()
        self.servers: list[Server] = [self.tls, self.http, self.secret, self.echo]

    def policy(self) -> EgressPolicy:
        t, h, e, s = self.tls.port, self.http.port, self.echo.port, self.secret.port
        allow = [f"tls.test:{t}", f"plain.test:{h}", f"raw.test:{e}", f"rebind.test:{s}"]
        # The servers are on loopback, which an allowed name may reach only on ports a rule
        # names by address; the secret server's port is not among them.
        allow += [f"127.0.0.1:{t}", f"127.0.0.1:{h}", f"127.0.0.1:{e}"]
        pins = [f"{n}:*:127.0.0.1" for n in ("tls.test", "plain.test", "raw.test", "rebind.test")]
        pins += ["late.test:*:127.0.0.1", "denied.test:*:127.0.0.1"]
        return EgressPolicy(
            allow=tuple(parse_host_rule(r) for r in allow),
            deny=(parse_host_rule(f"denied.test:{h}"),),
            pins=tuple(parse_resolve_pin(p) for p in pins),
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("net"))
    yield w
    for server in w.servers:
        server.close()


class Running:
    def __init__(self, world: World, directory: Path, limits: Limits | None = None) -> None:
        self.world = world
        self.log_path = directory / "egress.jsonl"
        self.denials: list[EgressRecord] = []
        self.proxy = ProxyThread(
            world.policy(), EgressLog(self.log_path, on_denied=self.denials.append), limits
        )

    def records(self, count: int) -> list[EgressRecord]:
        """The log once it holds `count` records (each is written when its connection ends)."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            records = read_records(self.log_path) if self.log_path.exists() else []
            if len(records) >= count:
                return records
            time.sleep(0.02)
        raise AssertionError(f"the egress log has {len(records)} records, expected {count}")

    def settled(self) -> ProxyStats:
        """The proxy's counters once every connection has ended."""
        deadline = time.monotonic() + 20
        while (stats := self.proxy.run(self.proxy.proxy.stats)).active:
            assert time.monotonic() < deadline, stats
            time.sleep(0.02)
        return stats

    def curl(self, *args: str, env_proxy: bool = False) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ["PATH"], "HOME": str(self.log_path.parent)}
        proxy_args = ["--proxy", self.proxy.url]
        if env_proxy:
            env["HTTPS_PROXY"] = env["HTTP_PROXY"] = self.proxy.url
            proxy_args = []
        return subprocess.run(
            ["curl", "-sS", "--max-time", "20", *proxy_args, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )

    def raw(self, request: bytes) -> bytes:
        """Send bytes to the proxy and read everything it answers until it closes."""
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=20) as sock:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture
def running(world: World, tmp_path: Path) -> Iterator[Running]:
    r = Running(world, tmp_path)
    yield r
    r.proxy.close()


def test_curl_reaches_an_allowed_tls_host_and_verifies_its_certificate(running: Running) -> None:
    port = running.world.tls.port
    url = f"https://tls.test:{port}/hello"
    done = running.curl("--cacert", str(running.world.ca), url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["path"] == "/hello"
    # The same through HTTPS_PROXY, as a sandboxed agent's curl will see it.
    done = running.curl("--cacert", str(running.world.ca), url, env_proxy=True)
    assert done.returncode == 0, done.stderr
    # TLS is end to end: without the server's CA the client refuses what the proxy relayed.
    done = running.curl(url)
    assert done.returncode == 60, done.stderr  # curl: peer certificate cannot be authenticated
    records = running.records(3)
    assert [(r.host, r.port, r.decision, r.status) for r in records] == [
        ("tls.test", port, "allowed", 200)
    ] * 3
    first = records[0]
    assert first.address == "127.0.0.1" and first.kind == "connect"
    assert first.rule == f"tls.test:{port} + 127.0.0.1:{port}"
    assert first.bytes_up > 0 and first.bytes_down > 0 and first.duration > 0


def test_the_certificate_seen_through_the_proxy_is_the_servers_own(running: Running) -> None:
    port = running.world.tls.port
    with socket.create_connection(("127.0.0.1", running.proxy.port), timeout=20) as sock:
        sock.sendall(f"CONNECT tls.test:{port} HTTP/1.1\r\nHost: tls.test:{port}\r\n\r\n".encode())
        assert sock.recv(4096) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        context = ssl.create_default_context(cafile=running.world.ca)
        with context.wrap_socket(sock, server_hostname="tls.test") as tls:
            seen = tls.getpeercert(binary_form=True)
    direct = ssl.get_server_certificate(("127.0.0.1", port))
    assert seen == ssl.PEM_cert_to_DER_cert(direct)
    assert hashlib.sha256(seen).hexdigest()


def test_urllib_reaches_allowed_hosts_over_https_and_plain_http(running: Running) -> None:
    proxies = {"https": running.proxy.url, "http": running.proxy.url}
    context = ssl.create_default_context(cafile=running.world.ca)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler(proxies), urllib.request.HTTPSHandler(context=context)
    )
    tls, http = running.world.tls.port, running.world.http.port
    with opener.open(f"https://tls.test:{tls}/via-urllib", timeout=20) as answer:
        assert json.loads(answer.read())["path"] == "/via-urllib"
    with opener.open(f"http://plain.test:{http}/plain?x=1", timeout=20) as answer:
        got = json.loads(answer.read())
        assert answer.headers["Connection"] == "close"
    assert got["path"] == "/plain?x=1"
    sent = {k.lower(): v for k, v in got["headers"]}
    assert sent["host"] == f"plain.test:{http}"
    assert sent["connection"] == "close"
    assert not any(k.startswith("proxy-") for k in sent)
    records = running.records(2)
    assert [(r.host, r.kind, r.status) for r in records] == [
        ("tls.test", "connect", 200),
        ("plain.test", "http", 200),
    ]
    assert records[1].bytes_down > len(json.dumps(got))


@pytest.mark.skipif(not UNDICI.is_dir(), reason="undici (npm's copy) is not installed")
def test_node_fetch_reaches_an_allowed_host_through_undicis_proxy_agent(
    running: Running,
) -> None:
    script = """
    const { fetch, ProxyAgent } = require(process.env.UNDICI);
    const fs = require('fs');
    const agent = new ProxyAgent({ uri: process.env.PROXY,
                                   requestTls: { ca: fs.readFileSync(process.env.CA) } });
    fetch(process.env.URL, { dispatcher: agent })
      .then(r => r.json()).then(j => { console.log(j.path); process.exit(0); })
      .catch(e => { console.error(String(e.cause || e)); process.exit(3); });
    """
    env = {
        "PATH": os.environ["PATH"],
        "UNDICI": str(UNDICI),
        "PROXY": running.proxy.url,
        "CA": str(running.world.ca),
        "URL": f"https://tls.test:{running.world.tls.port}/from-node",
    }
    done = subprocess.run(
        [shutil.which("node") or "node", "-e", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "/from-node"
    (record,) = running.records(1)
    assert (record.host, record.decision) == ("tls.test", "allowed")


def test_a_raw_tcp_tunnel_relays_bytes_untouched(running: Running) -> None:
    port = running.world.echo.port
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value
    with socket.create_connection(("127.0.0.1", running.proxy.port), timeout=20) as sock:
        sock.sendall(f"CONNECT raw.test:{port} HTTP/1.1\r\n\r\n".encode() + payload[:100])
        assert sock.recv(39) == b"HTTP/1.1 200 Connection established\r\n\r\n"
        sock.sendall(payload[100:])
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock) == payload
    (record,) = running.records(1)
    assert record.bytes_up == record.bytes_down == len(payload)


def test_a_host_no_rule_allows_is_refused_403_and_reported(running: Running) -> None:
    done = running.curl("-i", f"http://other.test:{running.world.http.port}/")
    assert done.stdout.startswith("HTTP/1.1 403")
    assert "X-Nono-Denied: no allow rule" in done.stdout
    assert "no rule allows this host" in done.stdout
    done = running.curl("-i", f"https://other.test:{running.world.tls.port}/")
    assert done.returncode != 0 and "403" in done.stderr  # curl: CONNECT tunnel failed
    records = running.records(2)
    assert [(r.host, r.decision, r.status, r.kind) for r in records] == [
        ("other.test", "denied", 403, "http"),
        ("other.test", "denied", 403, "connect"),
    ]
    assert [d.host for d in running.denials] == ["other.test", "other.test"]


def test_a_deny_rule_wins_and_is_named(running: Running) -> None:
    port = running.world.http.port
    running.proxy.run(lambda: running.proxy.proxy.allow(f"denied.test:{port}"))
    answer = running.raw(f"CONNECT denied.test:{port} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403")
    assert f"X-Nono-Denied: denied.test:{port}".encode() in answer
    (record,) = running.records(1)
    assert (record.rule, record.decision) == (f"denied.test:{port}", "denied")


def test_an_ip_literal_is_refused_unless_a_rule_names_it(running: Running) -> None:
    secret, http = running.world.secret.port, running.world.http.port
    assert running.raw(f"CONNECT 127.0.0.1:{secret} HTTP/1.1\r\n\r\n".encode()).startswith(
        b"HTTP/1.1 403"
    )
    assert running.raw(b"CONNECT 192.0.2.1:443 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 403")
    # Control: the address a rule names is reachable by its literal.
    assert running.raw(f"CONNECT 127.0.0.1:{http} HTTP/1.1\r\n\r\n".encode()).startswith(
        b"HTTP/1.1 200"
    )
    records = running.records(3)
    assert [(r.host, r.status) for r in records] == [
        ("127.0.0.1", 403),
        ("192.0.2.1", 403),
        ("127.0.0.1", 200),
    ]
    assert "no rule allows this address" in records[0].error


def test_an_allowed_name_that_resolves_to_loopback_is_refused(running: Running) -> None:
    """DNS rebinding: rebind.test is allowed by name, but points at this machine's loopback,
    on a port no rule names by address (a local service the agent must not reach)."""
    port = running.world.secret.port
    done = running.curl("-i", f"http://rebind.test:{port}/")
    assert done.stdout.startswith("HTTP/1.1 403"), done.stdout + done.stderr
    assert f"resolves to loopback address 127.0.0.1 (allow 127.0.0.1:{port}" in done.stdout
    answer = running.raw(f"CONNECT rebind.test:{port} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403")
    records = running.records(2)
    assert all(r.address == "127.0.0.1" and r.status == 403 for r in records)
    assert records[0].rule == f"rebind.test:{port}"  # the name was allowed; the address was not


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /index.html HTTP/1.1\r\nHost: plain.test\r\n\r\n", b"400"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", b"400"),
        (b"GET http://plain.test/ HTTP/1.1\r\nHost: tls.test\r\n\r\n", b"400"),
        (b"CONNECT plain.test HTTP/1.1\r\n\r\n", b"400"),
    ],
)
def test_a_malformed_request_is_refused_400(
    running: Running, request_bytes: bytes, status: bytes
) -> None:
    answer = running.raw(request_bytes)
    assert answer.split(b" ", 2)[1] == status, answer
    (record,) = running.records(1)
    assert (record.kind, record.decision, record.status) == ("invalid", "denied", 400)
    assert running.denials == []  # not a host refused: no "blocked: network" signal


def test_an_unreachable_server_is_502(running: Running) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: connection refused
        running.proxy.run(lambda: running.proxy.proxy.allow(f"127.0.0.1:{port}"))
        answer = running.raw(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 502"), answer
    (record,) = running.records(1)
    assert record.status == 502 and "cannot connect" in record.error


def test_allowing_a_host_at_runtime_takes_effect_on_the_next_attempt(running: Running) -> None:
    url = f"http://late.test:{running.world.http.port}/again"
    assert running.curl("-i", url).stdout.startswith("HTTP/1.1 403")
    rule = running.proxy.run(
        lambda: running.proxy.proxy.allow(f"late.test:{running.world.http.port}")
    )
    assert rule.kind == "name"
    done = running.curl(url)
    assert done.returncode == 0 and json.loads(done.stdout)["path"] == "/again"
    records = running.records(2)
    assert [(r.host, r.decision) for r in records] == [
        ("late.test", "denied"),
        ("late.test", "allowed"),
    ]


def test_a_head_sent_too_slowly_is_answered_408_and_closed(world: World, tmp_path: Path) -> None:
    r = Running(world, tmp_path, Limits(head_timeout=0.5))
    try:
        with socket.create_connection(("127.0.0.1", r.proxy.port), timeout=20) as sock:
            sock.sendall(b"CONNECT tls.test:443 HTTP/1.1\r\nX-Slow: ")  # and never the rest
            answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408")
        assert r.settled().head_timeouts == 1
        (record,) = r.records(1)
        assert record.status == 408 and "not complete" in record.error
    finally:
        r.proxy.close()


def test_a_head_over_16_kib_is_refused_without_reading_it_all(running: Running) -> None:
    with socket.create_connection(("127.0.0.1", running.proxy.port), timeout=20) as sock:
        sock.sendall(b"CONNECT tls.test:443 HTTP/1.1\r\n")
        try:
            for _ in range(64):  # 4 MiB of headers, if the proxy kept reading
                sock.sendall(b"X-Pad: " + b"a" * 65526 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431")
    assert running.proxy.run(running.proxy.proxy.stats).heads_too_large == 1


def test_two_thousand_connections_hold_at_most_the_limit(running: Running) -> None:
    limit = running.proxy.proxy.limits.max_connections
    socks = []
    try:
        for _ in range(2000):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", running.proxy.port))
            socks.append(sock)
        deadline = time.monotonic() + 60
        while running.proxy.run(running.proxy.proxy.stats).accepted < 2000:
            assert time.monotonic() < deadline, "the proxy did not accept them all"
            time.sleep(0.05)
        stats = running.proxy.run(running.proxy.proxy.stats)
        assert stats.peak_active == limit == stats.active
        assert stats.refused_busy == 2000 - limit
        # Those over the limit were told so and closed at once.
        busy = 0
        for sock in socks[-100:]:
            sock.setblocking(True)
            sock.settimeout(20)
            busy += read_all(sock).startswith(b"HTTP/1.1 503")
        assert busy == 100
    finally:
        for sock in socks:
            sock.close()
    running.settled()
    # Control: with the crowd gone, a real request goes through again.
    done = running.curl(
        "--cacert", str(running.world.ca), f"https://tls.test:{running.world.tls.port}/"
    )
    assert done.returncode == 0, done.stderr


def test_closing_the_proxy_ends_its_relays(world: World, tmp_path: Path) -> None:
    r = Running(world, tmp_path)
    sock = socket.create_connection(("127.0.0.1", r.proxy.port), timeout=20)
    sock.sendall(f"CONNECT raw.test:{world.echo.port} HTTP/1.1\r\n\r\n".encode())
    assert sock.recv(39).startswith(b"HTTP/1.1 200")
    r.proxy.close()
    assert read_all(sock) == b""
    sock.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", r.proxy.port), timeout=5).close()
    (record,) = read_records(r.log_path)
    assert record.host == "raw.test"


def test_urllib_sees_a_refusal_as_an_http_error(running: Running) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": running.proxy.url}))
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open("http://blocked.test/", timeout=20)
    assert caught.value.code == 403
    assert caught.value.headers["X-Nono-Denied"] == "no allow rule"


def test_a_relay_with_nothing_moving_is_closed_after_the_idle_timeout(
    world: World, tmp_path: Path
) -> None:
    r = Running(world, tmp_path, Limits(idle_timeout=0.5))
    try:
        with socket.create_connection(("127.0.0.1", r.proxy.port), timeout=20) as sock:
            sock.sendall(f"CONNECT raw.test:{world.echo.port} HTTP/1.1\r\n\r\n".encode())
            assert sock.recv(39).startswith(b"HTTP/1.1 200")
            sock.sendall(b"ping")
            assert sock.recv(4) == b"ping"
            assert read_all(sock) == b""  # and then nothing, until the proxy gives up
        (record,) = r.records(1)
        assert record.error == "idle for 0.5 s" and record.bytes_up == record.bytes_down == 4
    finally:
        r.proxy.close()


def test_a_server_that_never_answers_the_connect_is_504(world: World, tmp_path: Path) -> None:
    # A listener that never accepts: once its queue is full the kernel drops further SYNs,
    # so the proxy's connect hangs until its own timeout.
    with socket.socket() as stuck:
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(0)
        port = stuck.getsockname()[1]
        fillers = [socket.create_connection(("127.0.0.1", port), timeout=5)]  # queue of 1
        r = Running(world, tmp_path, Limits(connect_timeout=0.5))
        try:
            r.proxy.run(lambda: r.proxy.proxy.allow(f"127.0.0.1:{port}"))
            answer = r.raw(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.1 504"), answer
            (record,) = r.records(1)
            assert record.status == 504 and "no connection within 0.5 s" in record.error
        finally:
            r.proxy.close()
            for filler in fillers:
                filler.close()


def test_a_plain_http_post_body_reaches_the_server_untouched(running: Running) -> None:
    body = bytes(range(256)) * 1000
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": running.proxy.url}))
    url = f"http://plain.test:{running.world.http.port}/post"
    with opener.open(urllib.request.Request(url, data=body, method="POST"), timeout=20) as got:
        assert got.read() == body
    (record,) = running.records(1)
    assert record.bytes_up == len(body) and record.bytes_down > len(body)
