"""The HTTP the proxy speaks: reading a request head, what it asks for, the head forwarded for
a plain-HTTP request, and the short answers the proxy gives itself (403, 400, 502, ...).

Pure: bytes in, values or bytes out. Only HTTP/1.x proxy requests are understood: CONNECT in
authority form, and other methods in absolute form (`GET http://host/path HTTP/1.1`); an
origin-form request (`GET /path`) is not a proxy request and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nono.net.rules import normalise_host, parse_port, split_host_port

# RFC 9110 7.6.1 plus the proxy-only ones: never passed on, in either direction.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
    }
)
_TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_VERSION = re.compile(rb"^HTTP/1\.[01]$")


class BadRequest(Exception):
    """A request the proxy cannot act on; the text is the 400 body."""


@dataclass(frozen=True)
class Head:
    """A request or response head: its first line split in three, and the header fields."""

    start: tuple[str, str, str]
    headers: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]


@dataclass(frozen=True)
class Target:
    """Where a request wants to go: normalised host, port, and (plain HTTP) the request to send."""

    host: str
    port: int
    tunnel: bool  # CONNECT: relay bytes; otherwise forward `forward_head` then relay
    forward_head: bytes = b""


def parse_head(data: bytes) -> Head:
    """A head ending in CRLF CRLF -> Head; raises BadRequest naming what is wrong."""
    lines = data.split(b"\r\n")
    if len(lines) < 3 or lines[-1] or lines[-2]:
        raise BadRequest("request head does not end in CRLF CRLF")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not all(parts):
        raise BadRequest("first line is not METHOD TARGET VERSION")
    headers = []
    for line in lines[1:-2]:
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise BadRequest("a header line is not NAME: VALUE")
        headers.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))
    try:
        start = tuple(p.decode("ascii") for p in parts)
    except UnicodeDecodeError:
        raise BadRequest("first line is not ASCII") from None
    return Head((start[0], start[1], start[2]), tuple(headers))


def parse_request(head: Head) -> Target:
    method, target, version = head.start
    if not _TOKEN.match(method.encode()) or not _VERSION.match(version.encode()):
        raise BadRequest("first line is not METHOD TARGET HTTP/1.x")
    if any("\r" in v or "\n" in v or "\0" in v for _k, v in head.headers):
        raise BadRequest("a header value holds a control character")
    if method == "CONNECT":
        host, port = _authority(target, default_port=None)
        return Target(host, port, tunnel=True)
    if not target.lower().startswith("http://"):
        if target.lower().startswith("https://"):
            raise BadRequest("https:// URLs go through CONNECT, not as a plain request")
        raise BadRequest("not a proxy request: the target must be an absolute http:// URL")
    rest = target[len("http://") :]
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, path = rest[:cut], rest[cut:].split("#", 1)[0]
    host, port = _authority(authority, default_port=80)
    hosts = head.values("host")
    if len(hosts) > 1:
        raise BadRequest("more than one Host header")
    if hosts:
        if _authority(hosts[0], default_port=80) != (host, port):
            raise BadRequest(f"Host header {hosts[0]!r} does not match the URL's {authority!r}")
    elif version == "HTTP/1.1":
        raise BadRequest("HTTP/1.1 request without a Host header")
    if not path.startswith("/"):
        path = "/" + path
    return Target(host, port, tunnel=False, forward_head=forward_head(head, path, authority))


def _authority(text: str, default_port: int | None) -> tuple[str, int]:
    if "@" in text:
        raise BadRequest("user information in the target is not accepted")
    try:
        host_text, port_text = split_host_port(text)
        if port_text is None or (port_text == "" and default_port is not None):
            if default_port is None:
                raise BadRequest(f"CONNECT target {text!r} has no port")
            port = default_port
        else:
            port = parse_port(port_text)
        return normalise_host(host_text), port
    except ValueError as exc:
        raise BadRequest(f"target {text!r}: {exc}") from None


def _strip_hop_by_hop(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    named = {
        token.strip().lower()
        for k, v in headers
        if k.lower() in ("connection", "proxy-connection")
        for token in v.split(",")
    }
    drop = HOP_BY_HOP | named
    return [(k, v) for k, v in headers if k.lower() not in drop]


def forward_head(head: Head, path: str, authority: str) -> bytes:
    """The request as the origin server should see it: origin form, no hop-by-hop or proxy
    headers, `Connection: close` (the proxy serves one request per connection)."""
    method, _target, version = head.start
    headers = _strip_hop_by_hop(head.headers)
    if not any(k.lower() == "host" for k, _v in headers):
        headers.insert(0, ("Host", authority))
    headers.append(("Connection", "close"))
    lines = [f"{method} {path} {version}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def rewrite_response_head(data: bytes) -> bytes:
    """The origin's response head with its hop-by-hop headers replaced by `Connection: close`,
    so the client does not try to reuse a connection the proxy is about to close."""
    lines = data.split(b"\r\n")
    status = lines[0]
    if not status.startswith(b"HTTP/1.") or len(lines) < 3:
        raise BadRequest("the server's answer is not an HTTP/1.x response")
    fields = []
    for line in lines[1:-2]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest("the server sent a header line that is not NAME: VALUE")
        fields.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    kept = _strip_hop_by_hop(tuple(fields))
    kept.append(("Connection", "close"))
    out = [status.decode("latin-1")] + [f"{k}: {v}" for k, v in kept]
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def answer(status: int, text: str, denied_by: str | None = None) -> bytes:
    """A complete short response the proxy sends itself, then closes the connection."""
    body = f"nono egress proxy: {text}\n".encode()
    headers = [
        f"HTTP/1.1 {status} {REASONS[status]}",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if denied_by is not None:
        # The rule's text came from a person's flag or profile: keep the header one safe line.
        safe = re.sub(r"[^\x20-\x7e]", "?", denied_by) or "no rule allows it"
        headers.append(f"X-Nono-Denied: {safe}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body
