"""A session's egress as its own clients see it: the counts on its record (`nono ps --json`,
written at most once a second), the `egress` request (the log's tail, counts, rules) and
`allow_host` (a rule added to the running proxy), refused for a bad rule and for a session
without a host list; and a host's counts read strictly."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from nono.errors import NonoError
from nono.mux.hosts import remote_record
from nono.session import registry
from nono.session.client import Control
from tests.net_helpers import Server, http_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = http_server()
    yield s
    s.close()


@pytest.fixture
def session(nono, server) -> Iterator[str]:
    """An agent asking late.test (no rule allows it) as fast as curl goes."""
    port = server.port
    r = nono("run", "--detached", "--allow-host", "listed.test", "--allow-host",
             f"127.0.0.1:{port}", "--resolve", f"late.test:{port}:127.0.0.1", "--", "sh", "-c",
             f'while :; do curl -sS -x "$HTTPS_PROXY" http://late.test:{port}/x; done')  # fmt: skip
    assert r.returncode == 0, r.stderr
    sid = r.stdout.split()[0]
    yield sid
    nono("stop", sid, "--force")


def denied_so_far(nono, sid: str, at_least: int) -> dict[str, int]:
    deadline = time.monotonic() + 20
    while True:
        (entry,) = [e for e in json.loads(nono("ps", "--json").stdout) if e["id"] == sid]
        if entry["egress"] and entry["egress"]["denied"] >= at_least:
            return entry["egress"]
        assert time.monotonic() < deadline, entry["egress"]
        time.sleep(0.1)


def test_egress_answers_the_logs_tail_the_counts_and_the_rules(nono, session, server):
    denied_so_far(nono, session, 3)
    with Control(registry.resolve(session)) as control:
        answer = control.request("egress", limit=2)
    assert len(answer["entries"]) == 2
    last = answer["entries"][-1]
    assert (last["host"], last["port"], last["decision"]) == ("late.test", server.port, "denied")
    assert answer["counts"]["denied"] >= 3 and answer["counts"]["allowed"] == 0
    assert answer["rules"] == {"allow": ["listed.test", f"127.0.0.1:{server.port}"], "deny": []}


def test_a_denial_loop_rewrites_the_record_about_once_a_second_not_per_connection(nono, session):
    # Every version of the record the supervisor writes is seen by reading it far more often
    # than a connection is refused (records are replaced by rename: never read half-written).
    path = registry.record_path(session)
    before = denied_so_far(nono, session, 1)["denied"]
    seen = set()
    end = time.monotonic() + 3
    while time.monotonic() < end:
        seen.add(json.dumps(json.loads(path.read_bytes())["egress"]))
        time.sleep(0.002)
    after = denied_so_far(nono, session, 1)["denied"]
    assert after - before >= 20, (before, after)  # the loop really ran
    assert 2 <= len(seen) <= 6, (len(seen), after - before)


def test_allow_host_refuses_a_bad_rule_and_adds_a_good_one(nono, session, server):
    denied_so_far(nono, session, 1)
    with Control(registry.resolve(session)) as control:
        with pytest.raises(NonoError, match="is a URL, not a host"):
            control.request("allow_host", rule="https://late.test/")
        answer = control.request("allow_host", rule=f"LATE.test.:{server.port}")
        assert answer["rule"] == f"late.test:{server.port}"  # as nono writes it
        rules = control.request("egress", limit=1)["rules"]["allow"]
        assert f"late.test:{server.port}" in rules
    deadline = time.monotonic() + 20
    while not json.loads(nono("ps", "--json").stdout)[0]["egress"]["allowed"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_session_without_a_host_list_has_no_counts_and_refuses_both_requests(nono):
    r = nono("run", "--detached", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    sid = r.stdout.split()[0]
    try:
        (entry,) = json.loads(nono("ps", "--json").stdout)
        assert "egress" in entry and entry["egress"] is None
        with Control(registry.resolve(sid)) as control:
            for op, args in (("allow_host", {"rule": "example.com"}), ("egress", {})):
                with pytest.raises(NonoError, match="no host list in this session"):
                    control.request(op, **args)
    finally:
        nono("stop", sid, "--force")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ({"allowed": 2, "denied": 3}, {"allowed": 2, "denied": 3}),
        ({"allowed": -1, "denied": 3}, None),
        ({"allowed": True, "denied": 3}, None),
        ({"allowed": 1.5, "denied": 3}, None),
        ({"allowed": 1, "denied": 3, "x": 1}, None),
        ({"denied": 3}, None),
        ("3", None),
    ],
)
def test_a_hosts_egress_counts_are_kept_only_when_well_formed(sent, kept):
    assert remote_record("h", {"id": "ab12", "egress": sent}).egress == kept
