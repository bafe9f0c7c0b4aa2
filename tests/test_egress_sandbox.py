"""A host list enforced by the kernel and the proxy, driven through the real `nono run`.

Real servers on 127.0.0.1 (TLS with a throwaway CA, plain HTTP, raw TCP), named with
`--resolve`, reached from inside the sandbox by curl, Python's urllib and Node's fetch through
the proxy nono sets in HTTPS_PROXY; and the attacker's ways around it (a direct connection,
UDP, DNS, raw and odd socket families, an IP literal, a name that rebinds to loopback, another
session's proxy, the host's Unix sockets), each refused where the test says. Every run's
egress log is read back.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from net_helpers import Server, echo_server, http_server, make_certificates, tls_server

from nono.net import EgressRecord, read_records

UNDICI = Path("/usr/lib/node_modules/npm/node_modules/undici")

# A Python client run inside the sandbox: prints "ok ..." or "refused ERRNO", never a traceback.
TRY = """
import errno, socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if kind == "tcp":
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"ping"); print("ok", s.recv(100).decode())
    elif kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
        s.sendto(b"ping", (host, port)); print("ok", s.recv(100).decode())
    elif kind == "dns":
        print("ok", socket.getaddrinfo(host, port))
except socket.gaierror as e:
    print("unresolved", e.errno)
except OSError as e:
    print("refused", errno.errorcode.get(e.errno, "timeout"))
"""


class World:
    """The servers a test's sandbox may or may not reach, and the rules that name them."""

    def __init__(self, directory: Path) -> None:
        self.ca, cert, key = make_certificates(directory, ["tls.test", "rebind.test"])
        self.tls = tls_server(cert, key)
        self.http = http_server()
        self.echo = echo_server()
        self.secret = http_server()  # a local service no rule names
        self.servers: list[Server] = [self.tls, self.http, self.echo, self.secret]

    def rules(self, name: str, server: Server) -> list[str]:
        """Allow `name` on `server`'s port, pinned to 127.0.0.1 (and that address allowed on
        that port: the proxy refuses loopback unless a rule names it)."""
        port = server.port
        return ["--allow-host", f"{name}:{port}", "--allow-host", f"127.0.0.1:{port}",
                "--resolve", f"{name}:{port}:127.0.0.1"]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("egress"))
    yield w
    for server in w.servers:
        server.close()


@pytest.fixture
def ca(world: World, workspace: Path) -> str:
    """The throwaway CA, where the sandbox can read it (the workspace, with --allow-cwd)."""
    shutil.copy(world.ca, workspace / "ca.pem")
    return str(workspace / "ca.pem")


def egress_records(count: int = 1) -> list[EgressRecord]:
    """Every record of the test's runs (each run's own file in nono's state)."""
    directory = Path(os.environ["XDG_STATE_HOME"]) / "nono" / "egress"
    deadline = time.monotonic() + 10
    while True:
        records = [r for f in sorted(directory.glob("*.jsonl")) for r in read_records(f)]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def only_path(stdout: str) -> str:
    return json.loads(stdout)["path"]


# ------------------------------------------------------------ what the host list lets through


def test_curl_reaches_an_allowed_tls_host_through_the_proxy(nono, world, ca):
    r = nono("run", "--allow-cwd", *world.rules("tls.test", world.tls), "--",
             "curl", "-sS", "--max-time", "20", "--cacert", ca,
             f"https://tls.test:{world.tls.port}/from-curl")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert only_path(r.stdout) == "/from-curl"  # TLS end to end: the server's own certificate
    (record,) = egress_records()
    assert (record.host, record.port, record.decision, record.kind) == (
        "tls.test", world.tls.port, "allowed", "connect",
    )  # fmt: skip
    assert record.address == "127.0.0.1" and record.bytes_down > 0


def test_urllib_reaches_allowed_hosts_over_https_and_plain_http(nono, world, ca):
    script = (
        "import ssl, sys, urllib.request\n"
        "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
        "for url in sys.argv[2:]:\n"
        "    print(urllib.request.urlopen(url, context=ctx, timeout=20).read().decode())\n"
    )
    urls = [f"https://tls.test:{world.tls.port}/a", f"http://plain.test:{world.http.port}/b"]
    r = nono("run", "--allow-cwd", *world.rules("tls.test", world.tls),
             *world.rules("plain.test", world.http), "--", sys.executable, "-c", script, ca,
             *urls)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["path"] for line in r.stdout.splitlines()] == ["/a", "/b"]
    kinds = {(rec.host, rec.kind, rec.decision) for rec in egress_records(2)}
    assert kinds == {("tls.test", "connect", "allowed"), ("plain.test", "http", "allowed")}


@pytest.mark.skipif(not UNDICI.is_dir(), reason="undici (npm's copy) is not installed")
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_fetch_reaches_an_allowed_host_with_the_proxy_nono_sets(nono, world, ca):
    # Node 20's own fetch ignores HTTPS_PROXY; undici's ProxyAgent takes it from there.
    script = f"""
    const {{ fetch, ProxyAgent }} = require({json.dumps(str(UNDICI))});
    const ca = require('fs').readFileSync({json.dumps(ca)});
    const agent = new ProxyAgent({{ uri: process.env.HTTPS_PROXY, requestTls: {{ ca }} }});
    fetch('https://tls.test:{world.tls.port}/from-node', {{ dispatcher: agent }})
      .then(r => r.json()).then(j => {{ console.log(j.path); process.exit(0); }})
      .catch(e => {{ console.error(String(e.cause || e)); process.exit(3); }});
    """
    r = nono("run", "--allow-cwd", *world.rules("tls.test", world.tls), "--",
             "node", "-e", script)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "/from-node"
    assert [(x.host, x.decision) for x in egress_records()] == [("tls.test", "allowed")]


def test_the_child_is_told_its_proxy_and_sees_only_loopback(nono, world):
    script = (
        "import os, socket\n"
        "print(os.environ['HTTPS_PROXY'], os.environ['ALL_PROXY'], os.environ['https_proxy'])\n"
        "print(socket.if_nameindex())\n"
    )
    r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", script)
    assert r.returncode == 0, r.stderr
    proxies, interfaces = r.stdout.splitlines()
    url = proxies.split()[0]
    assert url.startswith("http://127.0.0.1:") and proxies.split() == [url] * 3
    assert interfaces == "[(1, 'lo')]"


# ------------------------------------------------------------ what it refuses


def test_a_host_no_rule_allows_is_refused_logged_and_named_after_the_run(nono, world, ca):
    r = nono("run", "--allow-cwd", *world.rules("tls.test", world.tls),
             "--resolve", f"other.test:{world.tls.port}:127.0.0.1", "--",
             "curl", "-sS", "--max-time", "20", "--cacert", ca,
             f"https://other.test:{world.tls.port}/")  # fmt: skip
    assert r.returncode != 0
    assert "403" in r.stderr
    (record,) = egress_records()
    assert (record.host, record.decision, record.status) == ("other.test", "denied", 403)
    assert "nono: the network is reachable only through nono's proxy" in r.stderr
    assert f"the proxy refused other.test:{world.tls.port}" in r.stderr
    assert f"--allow-host other.test:{world.tls.port}" in r.stderr


def test_a_deny_rule_wins_over_a_wildcard(nono, world):
    port = world.http.port
    r = nono("run", "--allow-host", f"*.web.test:{port}", "--allow-host", f"127.0.0.1:{port}",
             "--deny-host", f"api.web.test:{port}",
             "--resolve", f"api.web.test:{port}:127.0.0.1",
             "--resolve", f"www.web.test:{port}:127.0.0.1", "--", "sh", "-c",
             f"curl -sSf --max-time 20 http://www.web.test:{port}/ok && "
             f"curl -sSf --max-time 20 http://api.web.test:{port}/")  # fmt: skip
    assert r.returncode != 0 and "403" in r.stderr
    assert only_path(r.stdout) == "/ok"  # control: the wildcard lets its other names through
    outcomes = {(x.host, x.decision, x.rule) for x in egress_records(2)}
    assert outcomes == {("www.web.test", "allowed", f"*.web.test:{port} + 127.0.0.1:{port}"),
                        ("api.web.test", "denied", f"api.web.test:{port}")}  # fmt: skip


def test_a_direct_connection_is_refused_by_landlock_and_leads_nowhere_without_it(nono, world):
    # Straight to the server's port, ignoring the proxy: Landlock allows only the proxy's port.
    r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", TRY,
             "tcp", "127.0.0.1", str(world.echo.port))  # fmt: skip
    assert r.stdout.strip() == "refused EACCES", r.stdout + r.stderr
    # With that port opened to Landlock, the namespace still has nothing there: the host's
    # loopback is not the sandbox's.
    r = nono("run", "--allow-host", "example.test", "--allow-connect-port", str(world.echo.port),
             "--", sys.executable, "-c", TRY, "tcp", "127.0.0.1", str(world.echo.port))  # fmt: skip
    assert r.stdout.strip() == "refused ECONNREFUSED", r.stdout + r.stderr
    assert egress_records() == []  # it never reached the proxy either


@pytest.fixture
def public_echo() -> Iterator[tuple[str, int]]:
    """An echo server on every address of this machine, and its first non-loopback one."""
    address = next(
        (a for a in socket.gethostbyname_ex(socket.gethostname())[2]
         if not a.startswith("127.")), None,
    ) or _route_address()  # fmt: skip
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = socketserver.ThreadingTCPServer(("0.0.0.0", 0), _PongEcho)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield address, server.server_address[1]
    server.shutdown()
    server.server_close()


class _PongEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"pong:" + self.request.recv(100))


def _route_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # no packet is sent: this only picks a route
            return s.getsockname()[0]
        except OSError:
            return None


def test_the_sandbox_has_no_route_out(nono, public_echo):
    address, port = public_echo
    r = subprocess.run([sys.executable, "-c", TRY, "tcp", address, str(port)],
                       capture_output=True, text=True, timeout=30)  # fmt: skip
    assert r.stdout.strip() == "ok pong:ping"  # control: reachable from outside the sandbox
    r = nono("run", "--allow-host", "example.test", "--allow-connect-port", str(port), "--",
             sys.executable, "-c", TRY, "tcp", address, str(port))  # fmt: skip
    assert r.stdout.strip() == "refused ENETUNREACH", r.stdout + r.stderr


@pytest.fixture
def udp_echo() -> Iterator[tuple[int, list[bytes]]]:
    got: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            got.append(data)
            sock.sendto(b"pong:" + data, self.client_address)

    server = socketserver.UDPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], got
    server.shutdown()
    server.server_close()


def test_udp_reaches_nothing_outside_the_sandbox(nono, udp_echo):
    port, got = udp_echo
    r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", TRY,
             "udp", "127.0.0.1", str(port))  # fmt: skip
    # (an unconnected UDP socket is told of no ICMP error: its read times out)
    assert r.stdout.strip() == "refused timeout", r.stdout + r.stderr
    assert got == []  # the host's server never saw the datagram


def test_dns_has_no_resolver_inside_and_names_only_resolve_at_the_proxy(nono):
    # The system's resolver, as /etc/resolv.conf names it, is not reachable: no route to it.
    with open("/etc/resolv.conf") as f:
        servers = [line.split()[1] for line in f if line.startswith("nameserver")]
    if not servers or ":" in servers[0]:
        pytest.skip("no IPv4 nameserver in /etc/resolv.conf")
    r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", TRY,
             "udp", servers[0], "53")  # fmt: skip
    expected = "refused ECONNREFUSED" if servers[0].startswith("127.") else "refused ENETUNREACH"
    assert r.stdout.strip() == expected, r.stdout + r.stderr
    r = nono("run", "--allow-host", "example.com", "--", sys.executable, "-c", TRY,
             "dns", "example.com", "443")  # fmt: skip
    assert r.stdout.startswith("unresolved"), r.stdout + r.stderr


@pytest.mark.parametrize(
    ("family", "kind", "proto"),
    [("AF_INET", "SOCK_RAW", 1), ("AF_PACKET", "SOCK_RAW", 0), ("AF_VSOCK", "SOCK_STREAM", 0),
     ("AF_NETLINK", "SOCK_RAW", 4)],
    ids=["raw-icmp", "packet", "vsock", "netlink-sock-diag"],
)  # fmt: skip
def test_raw_packet_vsock_and_odd_netlink_sockets_are_refused_by_seccomp(nono, family, kind, proto):
    script = (
        "import errno, socket\n"
        f"try:\n    socket.socket(socket.{family}, socket.{kind}, {proto}); print('made')\n"
        "except OSError as e:\n    print(errno.errorcode[e.errno])\n"
    )
    r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", script)
    assert r.stdout.strip() == "EACCES", r.stdout + r.stderr  # seccomp's answer, not EPERM


def test_route_netlink_still_works_for_getifaddrs(nono):
    script = "import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); print('made')"
    r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", script)
    assert r.stdout.strip() == "made", r.stderr


def test_route_netlink_cannot_change_the_namespaces_interfaces(nono):
    # Route netlink is let through for getifaddrs(); what it could change (taking lo down,
    # giving it another address, a new interface) is refused by the kernel: the agent owns the
    # namespace's user namespace but holds no CAP_NET_ADMIN.
    script = (
        "import errno, fcntl, socket, struct\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    fcntl.ioctl(s.fileno(), 0x8914, struct.pack('16sH14x', b'lo', 0)); print('changed')\n"
        "except OSError as e:\n    print(errno.errorcode[e.errno])\n"
    )
    r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", script)
    assert r.stdout.strip() == "EPERM", r.stdout + r.stderr


def test_an_ip_literal_is_refused_unless_a_rule_names_it(nono, world):
    # Through the proxy, asking for the address itself: no rule names 127.0.0.1 on that port.
    r = nono("run", *world.rules("tls.test", world.tls), "--", "sh", "-c",
             f'curl -sSf --max-time 20 --proxy "$HTTPS_PROXY" '
             f"http://127.0.0.1:{world.secret.port}/")  # fmt: skip
    assert r.returncode != 0 and "403" in r.stderr
    records = egress_records(1)
    assert [(x.host, x.decision) for x in records] == [("127.0.0.1", "denied")]
    assert "no rule allows this address" in records[0].error


def test_a_name_that_rebinds_to_loopback_is_refused(nono, world):
    # rebind.test is allowed by name, but resolves to the host's loopback on a port no
    # address rule names: the proxy refuses the address, whatever the name's rule says.
    port = world.secret.port
    r = nono("run", "--allow-host", f"rebind.test:{port}", "--resolve",
             f"rebind.test:{port}:127.0.0.1", "--", "curl", "-sSf", "--max-time", "20",
             f"http://rebind.test:{port}/")  # fmt: skip
    assert r.returncode != 0 and "403" in r.stderr
    (record,) = egress_records()
    assert (record.host, record.decision, record.address) == ("rebind.test", "denied", "127.0.0.1")
    assert "loopback" in record.error


# ------------------------------------------------------------ one proxy per session, for it alone


def test_one_sessions_agent_cannot_reach_another_sessions_proxy(nono):
    from nono.session import registry

    r = nono("run", "--detached", "--allow-host", "example.test", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    session = r.stdout.split()[0]
    try:
        record = registry.read_record(session)
        port = record.sandbox["proxy_port"]
        assert record.network == "hosts" and isinstance(port, int)
        assert record.sandbox["egress_log"].endswith(f"/egress/{session}.jsonl")
        # Another user's process (or any process outside that sandbox) finds nothing there.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        # Session A's agent: Landlock refuses the port; with it opened, A's namespace has no B.
        r = nono("run", "--allow-host", "example.test", "--", sys.executable, "-c", TRY,
                 "tcp", "127.0.0.1", str(port))  # fmt: skip
        assert r.stdout.strip() == "refused EACCES", r.stdout + r.stderr
        r = nono("run", "--allow-host", "example.test", "--allow-connect-port", str(port), "--",
                 sys.executable, "-c", TRY, "tcp", "127.0.0.1", str(port))  # fmt: skip
        assert r.stdout.strip() == "refused ECONNREFUSED", r.stdout + r.stderr
    finally:
        nono("stop", session, "--force")


def test_a_session_serves_its_proxy_and_keeps_its_log(nono, world, ca):
    from nono import paths
    from nono.session import registry

    r = nono("run", "--detached", "--allow-cwd", *world.rules("tls.test", world.tls), "--",
             "sh", "-c", f"curl -sS --max-time 20 --cacert {ca} "
             f"https://tls.test:{world.tls.port}/in-a-session > got.json; sleep 60")  # fmt: skip
    assert r.returncode == 0, r.stderr
    session = r.stdout.split()[0]
    try:
        log = paths.egress_log(session)
        deadline = time.monotonic() + 20
        while not (log.exists() and read_records(log)) and time.monotonic() < deadline:
            time.sleep(0.05)
        (record,) = read_records(log)
        assert (record.host, record.decision) == ("tls.test", "allowed")
        assert only_path((Path(ca).parent / "got.json").read_text()) == "/in-a-session"
        record = registry.read_record(session)
        assert record.sandbox["egress_log"] == str(log)
        # The supervisor's sockets (the proxy's among them) are close-on-exec: a command it
        # runs (a notice) never inherits the agent's way out.
        fds = Path(f"/proc/{record.supervisor_pid}/fd")
        sockets = [fd.name for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")]
        flags = [int(Path(f"/proc/{record.supervisor_pid}/fdinfo/{fd}").read_text().split()[3], 8)
                 for fd in sockets]  # fmt: skip
        assert sockets and all(f & os.O_CLOEXEC for f in flags), (sockets, flags)
    finally:
        nono("stop", session, "--force")


def test_host_unix_sockets_stay_covered_in_a_private_network_namespace(nono, workspace):
    # A pathname socket is a file: a new network namespace does not hide it, and its own
    # /proc/net/unix does not list the host's. The view must still cover it.
    path = workspace / "host-agent.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(0.5)
    try:
        script = (
            "import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
            "try:\n    s.connect(sys.argv[1]); print('connected')\n"
            "except OSError as e:\n    print('refused', e.errno)\n"
        )
        r = nono("run", "--allow-cwd", "--allow-host", "example.test", "--",
                 sys.executable, "-c", script, str(path))  # fmt: skip
        # (the cover is a file of mode 0: ECONNREFUSED for root, EACCES for anyone else)
        refusals = (["refused", str(errno.ECONNREFUSED)], ["refused", str(errno.EACCES)])
        assert r.stdout.split() in refusals, r.stdout + r.stderr
        with pytest.raises(TimeoutError):
            server.accept()  # nobody reached it
    finally:
        server.close()


def test_logs_of_old_runs_without_a_session_are_forgotten(nono):
    directory = Path(os.environ["XDG_STATE_HOME"]) / "nono" / "egress"
    directory.mkdir(parents=True, mode=0o700)
    directory.parent.chmod(0o700)
    old, recent = directory / "0123456789ab.jsonl", directory / "ba9876543210.jsonl"
    for path in (old, recent):
        path.write_text("")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    r = nono("run", "--allow-host", "example.test", "--", "true")
    assert r.returncode == 0, r.stderr
    assert not old.exists() and recent.exists()


# ------------------------------------------------------------ rules a person writes


def test_a_malformed_rule_refuses_the_run_before_anything_starts(nono, workspace):
    marker = workspace / "ran"
    for bad in ("https://api.example.com/v1", "*", "exa mple.com", "*.com", "host:99999"):
        r = nono("run", "--allow-cwd", "--allow-host", bad, "--", "touch", str(marker))
        assert r.returncode == 1, (bad, r.stderr)
        assert f"host rule {bad!r}" in r.stderr, r.stderr
    r = nono("run", "--allow-cwd", "--allow-host", "a.test", "--resolve", "a.test:443",
             "--", "touch", str(marker))  # fmt: skip
    assert r.returncode == 1 and "not HOST:PORT:ADDRESS" in r.stderr
    assert not marker.exists()


def test_a_profiles_bad_host_rule_is_named_by_file_and_line(nono, workspace):
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "hosts.yaml").write_text(
        "extends: default\nnetwork:\n  allow_hosts:\n    - api.example.com\n"
        "    - 'http://bad.example.com/'\n  host_groups: [registries]\n"
    )
    r = nono("run", "--profile", "hosts", "--", "true")
    assert r.returncode == 1
    assert "hosts.yaml:5: network.allow_hosts: host rule 'http://bad.example.com/'" in r.stderr
    (profiles / "hosts.yaml").write_text(
        "extends: default\nnetwork:\n  allow_hosts: [api.example.com]\n  host_groups: [nope]\n"
    )
    r = nono("run", "--profile", "hosts", "--", "true")
    assert "hosts.yaml:4: network.host_groups: unknown host group 'nope'" in r.stderr


def test_a_deny_list_alone_is_refused_rather_than_guessed(nono):
    r = nono("run", "--deny-host", "evil.example", "--", "true")
    assert r.returncode == 1 and "a deny rule narrows a host list" in r.stderr


def test_block_net_with_a_host_list_typed_beside_it_is_an_error(nono):
    r = nono("run", "--block-net", "--allow-host", "api.example.com", "--", "true")
    assert r.returncode == 1 and "contradict" in r.stderr


def test_block_net_wins_over_a_profiles_host_list_and_says_so(nono):
    r = nono("run", "--profile", "claude-code", "--block-net", "--dry-run", "--", "x")
    assert "network   blocked" in r.stdout
    assert "--block-net blocks every host: the host list is not used" in r.stdout
    r = nono("run", "--profile", "claude-code", "--block-net", "--", sys.executable, "-c", TRY,
             "tcp", "127.0.0.1", "9")  # fmt: skip
    assert r.stdout.strip() == "refused EACCES", r.stdout + r.stderr  # seccomp: no IP at all


def test_dry_run_shows_the_effective_host_list(nono):
    r = nono("run", "--dry-run", "--allow-host", "api.example.com", "--allow-host-group",
             "registries", "--deny-host", "gist.githubusercontent.com", "--resolve",
             "api.example.com:443:192.0.2.7", "--", "x")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "network   hosts (only these, through nono's proxy" in r.stdout
    assert "allow api.example.com" in r.stdout and "--allow-host" in r.stdout
    assert "allow files.pythonhosted.org" in r.stdout and "group registries" in r.stdout
    assert "allow *.githubusercontent.com" in r.stdout
    assert "deny  gist.githubusercontent.com" in r.stdout
    assert "resolve api.example.com:443:192.0.2.7  --resolve" in r.stdout
    assert "namespaces: user, mount, PID, IPC, network" in r.stdout
    info = json.loads(nono("run", "--dry-run", "--json", "--allow-host", "a.example", "--",
                           "x").stdout)  # fmt: skip
    assert info["network"]["mode"] == "hosts"
    assert info["network"]["allow_hosts"] == [{"rule": "a.example", "source": "--allow-host"}]


def test_why_host_answers_against_the_host_list_naming_the_rule(nono):
    flags = ["--allow-host-group", "registries", "--deny-host", "gist.githubusercontent.com"]
    r = nono("why", "--host", "objects.githubusercontent.com", "--port", "443", *flags)
    assert r.returncode == 0, r.stdout
    assert "allowed by rule *.githubusercontent.com" in r.stdout and "group registries" in r.stdout
    r = nono("why", "--host", "gist.githubusercontent.com", "--port", "443", *flags)
    assert r.returncode == 1 and "denied by rule gist.githubusercontent.com" in r.stdout
    r = nono("why", "--host", "attacker.example", "--port", "443", *flags)
    assert r.returncode == 1 and "to allow it: --allow-host attacker.example" in r.stdout
    r = nono("why", "--host", "pypi.org", "--port", "22", *flags)
    assert r.returncode == 1 and "--allow-host pypi.org:22" in r.stdout


def test_a_program_ignoring_the_proxy_is_reported_with_the_host_it_tried(nono):
    # curl told to go around the proxy resolves the name itself, and there is no resolver.
    r = nono("run", "--allow-host", "example.test", "--", "curl", "-sS", "--max-time", "10",
             "--noproxy", "*", "https://exfil.example/")  # fmt: skip
    assert r.returncode != 0
    assert "nono: the network is reachable only through nono's proxy" in r.stderr
    assert "a program tried to reach exfil.example directly, without the proxy" in r.stderr


# ------------------------------------------------------------ the real agents under their lists


# Hosts an agent asks for that its profile leaves out on purpose (they take uploads under anyone's
# token: a gist, a push), each a denial in the log.
LEFT_OUT = {"claude-code": set(), "codex": {"github.com", "api.github.com"}}


@pytest.mark.parametrize("name", ["claude-code", "codex"])
def test_the_real_agents_reach_their_screens_and_try_only_listed_hosts(name, home, workspace):
    """Their first screens come up under their profiles' host lists; without internet their
    calls fail, which the egress log shows as attempts at listed hosts (502: no address), and
    denials only of the hosts the profile leaves out on purpose."""
    from test_agents import AGENTS, Terminal, environment, find, install_root

    from nono.sandbox.build import RunOptions, build_policy

    agent = AGENTS[name]
    program = find(agent)
    argv = [sys.executable, "-m", "nono", "run", "--profile", agent.profile, "--allow-cwd",
            *install_root(program), "--", agent.command]  # fmt: skip
    # (PYTHONPATH: this checkout's nono, wherever the installed one is)
    env = {**environment(home, program), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    term = Terminal(argv, workspace, env)
    try:
        term.wait_for(agent.screen, agent.seconds)
        deadline = time.monotonic() + 30
        while not egress_records(0) and time.monotonic() < deadline:
            term.pump(0.5)
        term.pump(2)  # what it asks for next, at once
    finally:
        term.close()
    records = egress_records(0)
    listed = {e.text for e in build_policy(RunOptions(profile=name), os.environ,
                                           str(workspace)).network.allow_hosts}  # fmt: skip
    allowed = {r.host for r in records if r.decision == "allowed"}
    assert allowed and allowed <= listed, records
    assert all(r.status == 502 and "cannot resolve" in r.error for r in records
               if r.decision == "allowed")  # fmt: skip
    assert {r.host for r in records if r.decision == "denied"} <= LEFT_OUT[name], records


# A launcher for nono in which no process may make a network namespace (a seccomp filter of the
# test's own, inherited by nono and everything it starts): as a kernel or policy that forbids it.
NO_NETNS = """
import errno, os, sys
import pyseccomp as sc
f = sc.SyscallFilter(sc.ALLOW)
f.add_rule(sc.ERRNO(errno.EPERM), "unshare", sc.Arg(0, sc.MASKED_EQ, 0x40000000, 0x40000000))
f.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, 0x40000000, 0x40000000))
f.load()
os.execv(sys.executable, [sys.executable, "-m", "nono", *sys.argv[1:]])
"""


def test_without_a_network_namespace_the_run_is_refused_not_run_unfiltered(workspace):
    marker = workspace / "ran"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", NO_NETNS, "run", "--allow-cwd", *args,
                               "--", "touch", str(marker)], cwd=workspace, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip

    r = run("--allow-host", "api.example.com")
    assert r.returncode == 1, r.stderr
    assert "cannot sandbox the child (namespaces)" in r.stderr, r.stderr
    assert not marker.exists()
    r = run()  # control: the same launcher runs a sandbox that needs no network namespace
    assert r.returncode == 0, r.stderr
    assert marker.exists()
