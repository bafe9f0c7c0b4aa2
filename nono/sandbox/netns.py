"""The sandbox's own network namespace, when a host list is in effect: only loopback, and the
proxy's listening socket made inside it and handed to the supervisor.

The socket is bound inside the namespace, so the agent reaches it at 127.0.0.1:PORT; the
supervisor holds it and accepts from the host's namespace, so the proxy's own connections go
out through the host's network. Nothing else in the namespace leads anywhere: no other
interface, no route, no resolver. And no process outside it can connect to the proxy: the
socket exists only on that namespace's loopback.
"""

from __future__ import annotations

import fcntl
import random
import socket
import struct
from collections.abc import Iterable

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def choose_port(taken: Iterable[int]) -> int:
    """A port for the proxy. The namespace is new and empty, so any port is free there; it
    only has to differ from the ports the person opened for the agent's own servers."""
    busy = set(taken)
    while True:
        port = random.randint(20000, 60999)
        if port not in busy:
            return port


def loopback_up() -> None:
    """Bring `lo` up (a new network namespace starts with it down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def hand_over_listener(channel: int, port: int) -> None:
    """In the sandbox's first process, inside the new namespace: lo up, a socket listening on
    127.0.0.1:`port`, sent over `channel` to the supervisor. This process keeps no copy."""
    loopback_up()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(1024)
        with socket.socket(fileno=channel) as chan:
            socket.send_fds(chan, [b"p"], [listener.fileno()])
    finally:
        listener.close()


def receive_listener(channel: socket.socket) -> socket.socket | None:
    """In the supervisor: the proxy's listening socket, or None if the sandbox sent none."""
    _, fds, _, _ = socket.recv_fds(channel, 16, 1)
    if not fds:
        return None
    import os

    # Received descriptors are inheritable: a command the supervisor runs (a notice) must not
    # get the agent's way out.
    for extra in fds[1:]:
        os.close(extra)
    os.set_inheritable(fds[0], False)
    return socket.socket(fileno=fds[0])
