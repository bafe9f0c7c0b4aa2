"""The egress proxy's cost: a 200 MB download from a local server through the proxy against
the same download direct (throughput ratio; goal >= 0.8), and the latency a connection gains
by going through it (CONNECT, the decision, the upstream connect; goal < 2 ms p50).

Three processes, so that none shares an interpreter lock with another: a data server and an
echo server (one child), the proxy (another child, on its own asyncio loop, serving a socket
it was handed as the supervisor will be), and this one driving curl and the latency probe.
Prints numbers; no pass/fail. Usage: python bench/egress.py [--mb 200] [--runs 3] [--probes 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CHUNK = memoryview(b"\0" * (1 << 20))


def serve_data_and_echo() -> None:
    """Child: GET /<bytes> answers that many bytes; the second port echoes. Blocking sockets,
    a thread per connection: the servers should be faster than what is measured through them."""

    class Data(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            head = b""
            while b"\r\n\r\n" not in head:
                head += self.request.recv(4096)
            size = int(head.split(b" ")[1].strip(b"/"))
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size
            )
            while size > 0:
                n = min(size, len(CHUNK))
                self.request.sendall(CHUNK[:n])
                size -= n

    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := self.request.recv(65536):
                self.request.sendall(data)

    servers = []
    for handler in (Data, Echo):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    print(*(s.server_address[1] for s in servers), flush=True)
    threading.Event().wait()


def serve_bare_relay(port: str) -> None:
    """Child: the floor any relay pays on this machine: blocking splice(2) socket -> pipe ->
    socket, a thread per direction, to 127.0.0.1:port, with no HTTP, rules or event loop."""

    def splice_all(src: socket.socket, dst: socket.socket) -> None:
        r, w = os.pipe()
        while n := os.splice(src.fileno(), w, 1 << 20):
            while n:
                n -= os.splice(r, dst.fileno(), n)
        dst.shutdown(socket.SHUT_WR)

    def one(client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", int(port)))
        threading.Thread(target=splice_all, args=(client, upstream), daemon=True).start()
        splice_all(upstream, client)

    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=one, args=(client,), daemon=True).start()


def serve_proxy(ports: list[str], log: str) -> None:
    """Child: the proxy, allowing bench.test (pinned to 127.0.0.1) on the given ports."""
    from nono.net import EgressLog, EgressPolicy, EgressProxy, parse_host_rule, parse_resolve_pin

    rules = [f"bench.test:{p}" for p in ports] + [f"127.0.0.1:{p}" for p in ports]
    policy = EgressPolicy(
        allow=tuple(parse_host_rule(r) for r in rules),
        pins=(parse_resolve_pin("bench.test:*:127.0.0.1"),),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)

    async def main() -> None:
        proxy = EgressProxy(policy, EgressLog(Path(log)))
        await proxy.serve(sock)
        print(sock.getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def child(*args: str) -> tuple[subprocess.Popen[str], list[int]]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    return proc, [int(p) for p in proc.stdout.readline().split()]


def download(url: str, proxy: str | None, rate: str = "") -> float:
    """MB/s curl reports for the whole download (at most `rate`, curl's --limit-rate)."""
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url]
    if rate:
        argv[1:1] = ["--limit-rate", rate]
    if proxy:
        argv[1:1] = ["--proxy", proxy]
    out = subprocess.run(
        argv, capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]}
    )
    size, seconds = out.stdout.split()
    return int(size) / float(seconds) / 1e6


def probe(port: int, via_proxy: int | None) -> float:
    """Milliseconds from connect to the first echoed byte, direct or through a CONNECT."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", via_proxy or port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if via_proxy:
            sock.sendall(b"CONNECT bench.test:%d HTTP/1.1\r\n\r\n" % port)
            answer = b""
            while not answer.endswith(b"\r\n\r\n"):
                answer += sock.recv(100)
            assert answer.startswith(b"HTTP/1.1 200"), answer
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--probes", type=int, default=500)
    args = parser.parse_args()
    servers, (data_port, echo_port) = child("--servers")
    log = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="nono-bench-")) / "egress.jsonl"
    proxy, (proxy_port,) = child("--proxy", str(data_port), str(echo_port), str(log))
    bare, (bare_port,) = child("--bare", str(data_port))
    try:
        size = args.mb * 1_000_000
        proxy_url = f"http://127.0.0.1:{proxy_port}"
        direct = [download(f"http://127.0.0.1:{data_port}/{size}", None) for _ in range(args.runs)]
        proxied = [
            download(f"http://bench.test:{data_port}/{size}", proxy_url) for _ in range(args.runs)
        ]
        floor = [download(f"http://127.0.0.1:{bare_port}/{size}", None) for _ in range(args.runs)]
        best_direct, best_proxied, best_floor = max(direct), max(proxied), max(floor)
        print(f"download {args.mb} MB, best of {args.runs}:")
        print(f"  direct        {best_direct:8.0f} MB/s")
        print(f"  through proxy {best_proxied:8.0f} MB/s  (plain HTTP, relayed)")
        print(f"  ratio         {best_proxied / best_direct:8.2f}  (goal >= 0.8)")
        print(f"  bare relay    {best_floor:8.0f} MB/s  (ratio {best_floor / best_direct:.2f}:")
        print("                 blocking splice, no proxy: what the second hop alone costs)")
        # A real link is far slower than loopback: at 1 Gbit/s does the proxy cost anything?
        link_direct = download(f"http://127.0.0.1:{data_port}/{size}", None, "125M")
        link_proxied = download(f"http://bench.test:{data_port}/{size}", proxy_url, "125M")
        print("at 1 Gbit/s (curl --limit-rate 125M), one run each:")
        print(
            f"  direct {link_direct:.0f} MB/s, through proxy {link_proxied:.0f} MB/s,"
            f" ratio {link_proxied / link_direct:.2f}"
        )
        for _ in range(20):  # warm both paths
            probe(echo_port, None), probe(echo_port, proxy_port)
        direct_ms = [probe(echo_port, None) for _ in range(args.probes)]
        proxied_ms = [probe(echo_port, proxy_port) for _ in range(args.probes)]
        d50, p50 = statistics.median(direct_ms), statistics.median(proxied_ms)
        print(f"connect + first echoed byte, median of {args.probes}:")
        print(f"  direct        {d50:8.3f} ms")
        print(f"  through proxy {p50:8.3f} ms  (CONNECT, rules, pinned resolve, connect)")
        print(f"  added         {p50 - d50:8.3f} ms  (goal < 2 ms)")
        print(f"egress log: {log} ({log.stat().st_size} bytes)")
    finally:
        for proc in (bare, proxy, servers):
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--servers"]:
        serve_data_and_echo()
    elif sys.argv[1:2] == ["--bare"]:
        serve_bare_relay(sys.argv[2])
    elif sys.argv[1:2] == ["--proxy"]:
        serve_proxy(sys.argv[2:-1], sys.argv[-1])
    else:
        main()
