"""Network policy, black-box: local TCP and UDP servers in the test, a sandboxed client."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        if isinstance(self.request, tuple):  # UDP
            data, sock = self.request
            sock.sendto(b"pong:" + data, self.client_address)
        else:
            self.request.sendall(b"pong:" + self.request.recv(100))


@pytest.fixture
def tcp_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def udp_port():
    server = socketserver.UDPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def tcp_client(port: int) -> str:
    return (
        "import socket,sys\n"
        f"s=socket.create_connection(('127.0.0.1',{port}),timeout=5)\n"
        "s.sendall(b'ping'); print(s.recv(100).decode())\n"
    )


def udp_client(port: int) -> str:
    return (
        "import socket\n"
        "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)\n"
        f"s.sendto(b'ping', ('127.0.0.1',{port})); print(s.recv(100).decode())\n"
    )


def test_tcp_is_allowed_by_default(nono, tcp_port):
    r = nono("run", "--", "python3", "-c", tcp_client(tcp_port))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "pong:ping"


def test_udp_is_allowed_by_default(nono, udp_port):
    r = nono("run", "--", "python3", "-c", udp_client(udp_port))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "pong:ping"


def test_block_net_stops_tcp_to_a_local_server(nono, tcp_port):
    r = nono("run", "--block-net", "--", "python3", "-c", tcp_client(tcp_port))
    assert r.returncode != 0
    assert "PermissionError" in r.stderr
    assert "pong" not in r.stdout


def test_block_net_stops_udp(nono, udp_port):
    r = nono("run", "--block-net", "--", "python3", "-c", udp_client(udp_port))
    assert r.returncode != 0
    assert "PermissionError" in r.stderr


@pytest.mark.parametrize(
    "family", ["AF_PACKET", "AF_NETLINK", "AF_INET6"], ids=["packet", "netlink", "inet6"]
)
def test_block_net_refuses_other_socket_families(nono, family):
    kind = "SOCK_DGRAM" if family != "AF_INET6" else "SOCK_STREAM"
    script = f"import socket; socket.socket(socket.{family}, socket.{kind})"
    r = nono("run", "--block-net", "--", "python3", "-c", script)
    assert r.returncode != 0
    assert "PermissionError" in r.stderr


def test_block_net_keeps_unix_sockets(nono):
    script = "import socket; a, b = socket.socketpair(); a.send(b'u'); print(b.recv(1).decode())"
    r = nono("run", "--block-net", "--", "python3", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "u"


def test_allow_port_reopens_one_tcp_port(nono, tcp_port):
    r = nono("run", "--block-net", "--allow-port", str(tcp_port), "--",
             "python3", "-c", tcp_client(tcp_port))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "pong:ping"


def test_allow_port_still_refuses_udp(nono, tcp_port, udp_port):
    r = nono("run", "--block-net", "--allow-port", str(tcp_port), "--",
             "python3", "-c", udp_client(udp_port))  # fmt: skip
    assert r.returncode != 0
    assert "PermissionError" in r.stderr


def test_allow_port_lets_the_child_listen_on_it_but_not_elsewhere(nono):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "import socket\n"
        f"s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); print('bound')\n"
        "t=socket.socket(); t.bind(('127.0.0.1',0))\n"
    )
    r = nono("run", "--block-net", "--allow-port", str(port), "--", "python3", "-c", script)
    assert r.stdout.strip() == "bound"
    assert r.returncode != 0
    assert "PermissionError" in r.stderr


def test_allow_connect_port_opens_outbound_only(nono, tcp_port):
    r = nono("run", "--block-net", "--allow-connect-port", str(tcp_port), "--",
             "python3", "-c", tcp_client(tcp_port))  # fmt: skip
    assert r.returncode == 0, r.stderr
    script = f"import socket; s=socket.socket(); s.bind(('127.0.0.1',{tcp_port + 1}))"
    r = nono("run", "--block-net", "--allow-connect-port", str(tcp_port), "--",
             "python3", "-c", script)  # fmt: skip
    assert r.returncode != 0
    assert "PermissionError" in r.stderr


def test_other_ports_stay_blocked_with_allow_port(nono, tcp_port):
    r = nono("run", "--block-net", "--allow-port", str(tcp_port + 1), "--",
             "python3", "-c", tcp_client(tcp_port))  # fmt: skip
    assert r.returncode != 0
    assert "PermissionError" in r.stderr


def test_bad_port_is_a_clear_error(nono):
    r = nono("run", "--block-net", "--allow-port", "70000", "--", "true")
    assert r.returncode == 1
    assert "port out of range" in r.stderr
