"""Host rules, address checks and the proxy's HTTP parsing: the pure parts of nono.net."""

from __future__ import annotations

import asyncio

import pytest

from nono.errors import NonoError
from nono.net import EgressPolicy, decide, normalise_host, parse_host_rule, parse_resolve_pin
from nono.net.addresses import check_address, resolve, special_kind
from nono.net.egress_log import EgressLog, EgressRecord, read_records
from nono.net.http import BadRequest, parse_head, parse_request


def policy(allow: list[str] = (), deny: list[str] = (), pins: list[str] = ()) -> EgressPolicy:  # type: ignore[assignment]
    return EgressPolicy(
        allow=tuple(parse_host_rule(r) for r in allow),
        deny=tuple(parse_host_rule(r) for r in deny),
        pins=tuple(parse_resolve_pin(p) for p in pins),
    )


def test_a_rule_without_a_port_covers_80_and_443_only() -> None:
    rule = parse_host_rule("api.example.com")
    assert rule.ports == (80, 443)
    assert parse_host_rule("api.example.com:8443").ports == (8443,)
    p = policy(["api.example.com"])
    assert decide(p, "api.example.com", 443).allowed
    assert not decide(p, "api.example.com", 22).allowed


def test_wildcard_matches_subdomains_but_not_the_apex() -> None:
    p = policy(["*.example.com"])
    assert decide(p, "api.example.com", 443).allowed
    assert decide(p, "a.b.example.com", 443).allowed
    assert not decide(p, "example.com", 443).allowed
    assert not decide(p, "notexample.com", 443).allowed
    assert not decide(p, "example.com.evil.net", 443).allowed


def test_hostnames_are_normalised_for_case_trailing_dot_and_idna() -> None:
    assert normalise_host("API.Example.COM.") == "api.example.com"
    assert normalise_host("bücher.example") == "xn--bcher-kva.example"
    p = policy(["Bücher.Example"])
    assert decide(p, normalise_host("xn--bcher-kva.example."), 443).allowed
    assert normalise_host("[2001:DB8:0::1]") == "2001:db8::1"


def test_deny_wins_over_allow_and_names_its_rule() -> None:
    p = policy(["*.example.com"], deny=["secret.example.com"])
    d = decide(p, "secret.example.com", 443)
    assert not d.allowed and d.rule == "secret.example.com"
    d = decide(p, "api.example.com", 443)
    assert d.allowed and d.rule == "*.example.com"
    assert decide(p, "other.net", 443).rule == ""


def test_ip_literals_are_matched_only_by_rules_naming_them() -> None:
    p = policy(["*.example.com", "192.0.2.7:443", "[2001:db8::1]:443"])
    assert decide(p, "192.0.2.7", 443).allowed
    assert not decide(p, "192.0.2.8", 443).allowed
    assert decide(p, normalise_host("[2001:DB8:0::1]"), 443).allowed
    assert parse_host_rule("::1").kind == "address"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("https://api.example.com/v1", "write the host alone, e.g. api.example.com"),
        ("*", "every host"),
        ("api.example.com:0", "port '0'"),
        ("api.example.com:http", "port 'http'"),
        ("api*.example.com", "write *.example.com"),
        ("*.com", "every .com host"),
        ("*.192.0.2.1", "no subdomains"),
        ("bad_host-.com", "inner hyphens"),
        ("127.1", "dotted form"),
        ("[::1", "without ']'"),
    ],
)
def test_a_bad_rule_is_refused_naming_it_and_what_to_write(text: str, says: str) -> None:
    with pytest.raises(NonoError) as caught:
        parse_host_rule(text)
    assert repr(text) in caught.value.one_line()
    assert says in caught.value.one_line()


def test_resolve_pins_read_curls_syntax() -> None:
    pin = parse_resolve_pin("api.example.com:443:192.0.2.1,[2001:db8::2]")
    assert pin.addresses == ("192.0.2.1", "2001:db8::2")
    assert pin.matches("api.example.com", 443) and not pin.matches("api.example.com", 80)
    assert parse_resolve_pin("API.example.com.:*:192.0.2.1").matches("api.example.com", 80)
    for bad in ("api.example.com:443", "api.example.com:x:1.2.3.4", "h:443:not-an-ip"):
        with pytest.raises(NonoError, match="HOST:PORT:ADDRESS"):
            parse_resolve_pin(bad)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback (inside ::ffff:127.0.0.1)"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata (inside 64:ff9b::a9fe:a9fe)"),
        ("255.255.255.255", "reserved"),
        ("93.184.216.34", None),
        ("2606:2800:220:1::1", None),
    ],
)
def test_special_addresses_are_recognised(address: str, kind: str | None) -> None:
    assert special_kind(address) == kind


def test_a_loopback_address_passes_only_when_a_rule_names_it_on_that_port() -> None:
    p = policy(["api.example.com:8080", "127.0.0.1:8080"])
    assert check_address(p, "127.0.0.1", 8080).allowed
    refused = check_address(p, "127.0.0.1", 9090)
    assert not refused.allowed and "allow 127.0.0.1:9090" in refused.reason
    assert not check_address(p, "169.254.169.254", 80).allowed
    assert check_address(p, "93.184.216.34", 443).allowed
    denied = check_address(policy(deny=["93.184.216.34"]), "93.184.216.34", 443)
    assert not denied.allowed and denied.rule == "93.184.216.34"


def test_a_pin_wins_over_the_system_resolver_and_an_ip_literal_is_itself() -> None:
    p = policy(pins=["localhost:443:192.0.2.9"])
    assert asyncio.run(resolve(p, "localhost", 443)) == ("192.0.2.9",)
    assert "127.0.0.1" in asyncio.run(resolve(p, "localhost", 80))  # /etc/hosts, unpinned port
    assert asyncio.run(resolve(p, "192.0.2.1", 80)) == ("192.0.2.1",)


def request(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def test_connect_and_absolute_form_requests_are_understood() -> None:
    t = parse_request(parse_head(request("CONNECT API.example.com:443 HTTP/1.1\nHost: x\n\n")))
    assert (t.host, t.port, t.tunnel) == ("api.example.com", 443, True)
    t = parse_request(parse_head(request("CONNECT [::1]:8443 HTTP/1.1\n\n")))
    assert (t.host, t.port) == ("::1", 8443)
    head = request(
        "POST http://example.com/a?b=1#frag HTTP/1.1\nHost: example.com:80\n"
        "Proxy-Connection: keep-alive\nProxy-Authorization: Basic eA==\nConnection: X-Drop\n"
        "X-Drop: 1\nKeep-Alive: 5\nTE: trailers\nContent-Length: 3\n\n"
    )
    t = parse_request(parse_head(head))
    assert (t.host, t.port, t.tunnel) == ("example.com", 80, False)
    sent = t.forward_head.decode()
    assert sent.startswith("POST /a?b=1 HTTP/1.1\r\n")
    for gone in ("Proxy-", "X-Drop", "Keep-Alive", "TE:"):
        assert gone not in sent
    assert "Content-Length: 3\r\n" in sent and sent.endswith("Connection: close\r\n\r\n")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("GET /path HTTP/1.1\nHost: example.com\n\n", "absolute http:// URL"),
        ("GET https://example.com/ HTTP/1.1\nHost: example.com\n\n", "through CONNECT"),
        ("GET http://example.com/ HTTP/1.1\nHost: evil.com\n\n", "does not match"),
        ("GET http://example.com/ HTTP/1.1\nHost: a\nHost: b\n\n", "more than one Host"),
        ("GET http://example.com/ HTTP/1.1\n\n", "without a Host"),
        ("GET http://u:p@example.com/ HTTP/1.1\nHost: example.com\n\n", "user information"),
        ("CONNECT example.com HTTP/1.1\n\n", "has no port"),
        ("CONNECT example.com:443 HTTP/2\n\n", "HTTP/1.x"),
        ("hello\n\n", "METHOD TARGET VERSION"),
        ("CONNECT a:1 HTTP/1.1\nno colon here\n\n", "NAME: VALUE"),
    ],
)
def test_a_malformed_request_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(BadRequest, match=says):
        parse_request(parse_head(request(text)))


def test_the_egress_log_rotates_and_keeps_at_most_two_files(tmp_path) -> None:
    path = tmp_path / "egress.jsonl"
    denials: list[EgressRecord] = []
    log = EgressLog(path, max_bytes=2000, on_denied=denials.append)
    for i in range(100):
        log.write(
            EgressRecord(float(i), "h.example", 443, "", "denied", "", "connect", 403, error="x")
        )
    assert path.stat().st_size <= 2000
    rotated = path.with_name("egress.jsonl.1")
    assert rotated.stat().st_size <= 2000
    records = read_records(path)
    assert records[-1].time == 99.0 and 0 < len(records) < 100
    assert len(denials) == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["egress.jsonl", "egress.jsonl.1"]
