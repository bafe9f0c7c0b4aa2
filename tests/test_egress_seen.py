"""What a session's agent reached, as the person sees it: `nono logs --net` (text, --json,
-f across rotation), `nono inspect`'s summary, and a denial reaching the agent's state
(`waiting`, "blocked: network: ..."), seen by `nono ps` and `nono wait`.

Real sessions (`nono run --detached` with a host list), curl inside them going through the
session's own proxy to real servers on 127.0.0.1 named with `--resolve`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from net_helpers import Server, http_server

from nono.net import EgressLog, EgressRecord, read_records
from tests.sshd import sshd  # noqa: F401 (fixture)
from tests.test_config import write_config
from tests.test_remote_commands2 import HOSTILE, _hostile_host

ESC = "\x1b"


@pytest.fixture(scope="module")
def web() -> Iterator[Server]:
    server = http_server()
    yield server
    server.close()


def rules(port: int) -> list[str]:
    """plain.test on the server's port allowed (and its loopback address, which the proxy
    refuses unless a rule names it); other.test resolves there too, but no rule allows it."""
    return ["--allow-host", f"plain.test:{port}", "--allow-host", f"127.0.0.1:{port}",
            "--resolve", f"plain.test:{port}:127.0.0.1",
            "--resolve", f"other.test:{port}:127.0.0.1"]  # fmt: skip


def start(nono, name: str, port: int, script: str, *extra: str) -> str:
    r = nono("run", "--detached", "--name", name, *extra, *rules(port), "--", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[0]


def log_of(session: str) -> Path:
    from nono import paths

    return paths.egress_log(session)


def until_records(session: str, count: int) -> list[EgressRecord]:
    """The session's log once it holds `count` records (the agent's pace is not ours)."""
    log = log_of(session)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        records = read_records(log) if log.exists() else []
        if len(records) >= count:
            return records
        time.sleep(0.05)
    raise AssertionError(f"the log never held {count} record(s)")


def curl(url: str) -> str:
    return f"curl -s --max-time 20 -o /dev/null {url}"


# ------------------------------------------------------------ nono logs --net


def test_logs_net_lists_each_connection_with_denials_marked_even_after_the_exit(nono, web):
    port = web.port
    script = f"{curl(f'http://plain.test:{port}/ok')}; {curl(f'http://other.test:{port}/no')}"
    session = start(nono, "fetcher", port, script + "; sleep 60")
    stored = until_records(session, 2)
    assert [(r.host, r.decision) for r in stored] == [("plain.test", "allowed"),
                                                      ("other.test", "denied")]  # fmt: skip
    for when in ("running", "exited"):
        text = nono("logs", "fetcher", "--net")
        assert text.returncode == 0, text.stderr
        allowed, denied = text.stdout.splitlines()
        assert f"  allowed  plain.test:{port}  200  up " in allowed
        assert f"rule plain.test:{port} + 127.0.0.1:{port}" in allowed
        assert f"  DENIED   other.test:{port}  403  up 0 B  down 0 B" in denied
        assert denied.endswith(f"no rule  (no rule allows this host on port {port})")
        as_json = nono("logs", "fetcher", "--net", "--json")
        assert as_json.returncode == 0, as_json.stderr
        parsed = [EgressRecord(**json.loads(line)) for line in as_json.stdout.splitlines()]
        assert parsed == stored
        last = nono("logs", "fetcher", "--net", "--tail", "1")
        assert last.stdout.splitlines() == [denied]
        if when == "running":
            assert nono("stop", "fetcher", "--force").returncode == 0


def test_logs_net_follow_shows_a_new_denial_as_it_happens(nono, web):
    port = web.port
    first, then = curl(f"http://plain.test:{port}/first"), curl(f"http://other.test:{port}/")
    script = f"{first}; read go; {then}; exec sh"
    session = start(nono, "followed", port, script)
    until_records(session, 1)
    follow = subprocess.Popen([sys.executable, "-m", "nono", "logs", "--net", "-f", "followed"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        assert f"allowed  plain.test:{port}" in follow.stdout.readline()
        assert nono("send-keys", "followed", "go", "Enter").returncode == 0
        assert f"DENIED   other.test:{port}  403" in follow.stdout.readline()
        assert nono("stop", "followed", "--force").returncode == 0
        rest, err = follow.communicate(timeout=30)  # the session ended: so does the follow
        assert (follow.returncode, rest) == (0, ""), err
    finally:
        follow.kill()
        follow.wait()


def test_logs_net_follow_reads_across_the_logs_rotation(nono, web):
    session = start(nono, "rotated", web.port, "sleep 60")
    log = log_of(session)
    # The proxy's own writer, with a cap so small that every record starts a new file.
    writer = EgressLog(log, max_bytes=100)
    follow = subprocess.Popen([sys.executable, "-m", "nono", "logs", "--net", "-f", "--json",
                               "rotated"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        for n in range(1, 6):
            record = EgressRecord(time.time(), f"h{n}.test", 443, "", "denied", "", "connect", 403)
            writer.write(record)
            assert EgressRecord(**json.loads(follow.stdout.readline())) == record
        assert log.with_name(log.name + ".1").exists()  # it did rotate, each time
        assert nono("stop", "rotated", "--force").returncode == 0
        rest, err = follow.communicate(timeout=30)
        assert (follow.returncode, rest) == (0, ""), err
    finally:
        follow.kill()
        follow.wait()


# A request naming a host full of terminal escapes: the proxy refuses it (not a host name);
# what it logs of it must reach the person's terminal as text, never as escapes.
HOSTILE_REQUEST = r"""
import os, socket
port = int(os.environ["HTTPS_PROXY"].rsplit(":", 1)[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"CONNECT evil\x1b]0;owned\x07\x1b[2J.test:443 HTTP/1.1\r\n\r\n")
print(s.recv(200).split(b"\r\n")[0].decode())
"""


def test_a_hostile_host_name_reaches_the_person_cleaned(nono, web):
    session = start(nono, "hostile", web.port, f"{sys.executable} -c '{HOSTILE_REQUEST}'; sleep 60")
    (refused,) = until_records(session, 1)
    assert (refused.kind, refused.status) == ("invalid", 400)
    # And what a log could hold that the proxy never writes (a name it did not normalise).
    odd = "evil\x1b]52;c;Zm9v\x07\u202e\x9b31m.test"
    EgressLog(log_of(session)).write(
        EgressRecord(time.time(), odd, 443, "", "denied", "", "connect", 403, error="no \x1b[2J")
    )
    text = nono("logs", "hostile", "--net")
    assert text.returncode == 0, text.stderr
    for bad in (ESC, "\x07", "\u202e", "\x9b"):
        assert bad not in text.stdout
    request, written = text.stdout.splitlines()
    assert "DENIED   (bad request)  400" in request and "evil\\x1b]0;owned\\x07" in request
    assert "evil\\x1b]52;c;Zm9v\\x07\\u202e\\x9b31m.test:443" in written
    assert written.endswith("(no \\x1b[2J)")
    as_json = nono("logs", "hostile", "--net", "--json")
    assert ESC not in as_json.stdout and "\u202e" not in as_json.stdout
    assert json.loads(as_json.stdout.splitlines()[1])["host"] == odd  # exact, re-serialised


def test_lines_of_the_log_that_are_not_records_are_left_out_and_counted(nono, web):
    session = start(nono, "garbled", web.port, "sleep 60")
    log = log_of(session)
    good = EgressRecord(time.time(), "ok.test", 443, "", "denied", "", "connect", 403)
    log.write_text(f'not json \x1b[31m\n{{"host": 1}}\n{{"time": NaN}}\n{good.to_json()}\n')
    text = nono("logs", "garbled", "--net")
    assert text.returncode == 0, text.stderr
    assert len(text.stdout.splitlines()) == 1 and "ok.test:443" in text.stdout
    assert ESC not in text.stdout + text.stderr
    assert "3 line(s) of" in text.stderr and "are not egress records; left out" in text.stderr


def test_a_session_without_a_host_list_says_there_is_no_egress_log(nono):
    r = nono("run", "--detached", "--name", "open", "--", "sleep", "60")
    assert r.returncode == 0, r.stderr
    done = nono("logs", "open", "--net")
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("nono: session open has no host list (network: allowed)")
    assert "`nono logs open` shows its events" in line and "--allow-host" in line
    inspected = json.loads(nono("inspect", "open", "--json").stdout)
    assert inspected["egress"] is None


# ------------------------------------------------------------ nono inspect


def test_inspect_summarises_hosts_reached_and_denials(nono, web):
    port = web.port
    urls = [f"plain.test:{port}/big?n=5000", f"plain.test:{port}/a", f"other.test:{port}/",
            f"other.test:{port}/"]  # fmt: skip
    script = "; ".join(curl(f"http://{url}") for url in urls)
    session = start(nono, "summed", port, script + "; sleep 60",
                    "--deny-host", f"other.test:{port}")  # fmt: skip
    records = until_records(session, 4)
    down = sum(r.bytes_down for r in records if r.decision == "allowed")
    up = sum(r.bytes_up for r in records if r.decision == "allowed")
    assert down > 5000
    text = nono("inspect", "summed")
    assert text.returncode == 0, text.stderr
    rows = dict(line.split(None, 1) for line in text.stdout.splitlines() if line[:1] != " ")
    from nono.net.egress_view import size, stamp

    assert rows["egress"] == (f"4 connection(s), 1 host(s) reached: plain.test:{port} "
                              f"({size(up + down)})")  # fmt: skip
    last = max(r.time for r in records)
    assert rows["denied"] == (f"2, the last at {stamp(last)}: other.test:{port} "
                              f"(rule other.test:{port})")  # fmt: skip
    egress = json.loads(nono("inspect", "summed", "--json").stdout)["egress"]
    assert egress["connections"] == 4 and egress["hosts_reached"] == 1 and egress["denials"] == 2
    assert egress["top_hosts"] == [{"host": "plain.test", "port": port, "connections": 2,
                                    "bytes_up": up, "bytes_down": down}]  # fmt: skip
    (denied,) = egress["denied_hosts"]
    assert (denied["host"], denied["rule"], denied["count"]) == (
        "other.test", f"other.test:{port}", 2,
    )  # fmt: skip
    assert egress["last_denial"] == last


# ------------------------------------------------------------ the agent's state


def activity(nono, name: str) -> dict:
    (entry,) = [e for e in json.loads(nono("ps", "--json").stdout) if e["name"] == name]
    return entry["activity"]


def test_a_denied_connection_makes_the_session_wait_until_the_person_types(nono, web):
    # An agent stuck on a refused host: it keeps trying, so it looks busy, and the person is
    # wanted. (One that gives up at once and is back at its prompt stays idle: test_activity.)
    port = web.port
    retry = f"while :; do {curl(f'http://other.test:{port}/')}; sleep 0.3; done"
    script = f"echo ready; read go; trap 'echo stopped; exec sh' INT; {retry}"
    start(nono, "blocked", port, script, "--deny-host", f"other.test:{port}")
    # Idle at its `read` first: nothing the agent said, no denial yet.
    idle = nono("wait", "blocked", "--state", "idle", "--timeout", "60")
    assert idle.returncode == 0, idle.stderr
    argv = [sys.executable, "-m", "nono", "wait", "blocked", "--state", "waiting", "--timeout",
            "60"]  # fmt: skip
    waiting = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        assert nono("send-keys", "blocked", "go", "Enter").returncode == 0
        _, err = waiting.communicate(timeout=90)
        assert waiting.returncode == 0, err  # it returned on the denial
    finally:
        waiting.kill()
        waiting.wait()
    reason = f"blocked: network: other.test:{port} denied (rule other.test:{port})"
    now = activity(nono, "blocked")
    assert (now["state"], now["reason"], now["source"]) == ("waiting", reason, "network")
    ps = nono("ps")
    (row,) = [line for line in ps.stdout.splitlines() if "blocked" in line]
    assert " waiting " in row
    # The person answers (stops it): typing takes the claim back; the shell waits for input.
    assert nono("send-keys", "blocked", "C-c").returncode == 0
    back = nono("wait", "blocked", "--state", "idle", "--timeout", "60")
    assert back.returncode == 0, back.stderr
    assert activity(nono, "blocked")["source"] != "network"


def test_one_refusal_given_up_is_not_the_person_s_business(nono, web):
    # A side call refused once (a release check) while the agent goes on working: not waiting.
    port = web.port
    busy = "while :; do echo tick; sleep 0.2; done"  # works on, writing as it goes
    session = start(nono, "sidecall", port, f"{curl(f'http://other.test:{port}/')}; {busy}")
    until_records(session, 1)
    # Were the refusal a claim, it would be made at the next look and hold for 3 s of output.
    never = nono("wait", "sidecall", "--state", "waiting", "--timeout", "4")
    assert never.returncode == 124, (never.stderr, activity(nono, "sidecall"))
    assert activity(nono, "sidecall")["state"] == "working"


def test_a_retry_loop_of_denials_stays_one_waiting_state(nono, web):
    port = web.port
    loop = f"while :; do {curl(f'http://other.test:{port}/')}; sleep 0.2; done"
    session = start(nono, "retrying", port, loop)
    until_records(session, 10)
    done = nono("wait", "retrying", "--state", "waiting", "--timeout", "60")
    assert done.returncode == 0, done.stderr
    now = activity(nono, "retrying")
    assert now["reason"] == (f"blocked: network: other.test:{port} denied "
                             f"(no rule allows this host on port {port})")  # fmt: skip
    # The event log names the host once, and the state changes few times (a claim per look).
    events = [json.loads(line) for line in
              nono("logs", "retrying", "--json").stdout.splitlines()]  # fmt: skip
    assert [e["event"] for e in events].count("egress-denied") == 1


# ------------------------------------------------------------ on another host


def test_logs_net_and_inspect_on_a_host_arrive_parsed(nono, sshd, web):  # noqa: F811
    write_config(sshd.config_toml("build"))
    port = web.port
    done = sshd.nono("run", "--detached", "--name", "netted", *rules(port), "--", "sh", "-c",
                     curl(f"http://other.test:{port}/") + "; sleep 60")  # fmt: skip
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    while not [r for f in sshd.remote_state().rglob("*.jsonl") for r in read_records(f)]:
        assert time.monotonic() < deadline, "the remote log never held a record"
        time.sleep(0.05)
    text = nono("logs", "build:netted", "--net")
    assert text.returncode == 0, text.stderr
    (line,) = text.stdout.splitlines()
    assert f"  DENIED   other.test:{port}  403" in line
    as_json = nono("logs", "--host", "build", "netted", "--net", "--json")
    (record,) = [EgressRecord(**json.loads(x)) for x in as_json.stdout.splitlines()]
    assert (record.host, record.decision) == ("other.test", "denied")
    egress = json.loads(nono("inspect", "build:netted", "--json").stdout)["egress"]
    assert egress["denials"] == 1 and egress["denied_hosts"][0]["host"] == "other.test"


def test_a_hostile_hosts_egress_lines_are_parsed_or_left_out(nono, sshd, tmp_path):  # noqa: F811
    good = EgressRecord(1.0, "ok.test", 443, "", "denied", "", "connect", 403, error="x\x1b[2J")
    asked = _hostile_host(tmp_path, sshd, HOSTILE + good.to_json() + "\n")
    text = nono("logs", "--net", "evil:x")
    assert asked.read_text() == "logs --json --net x\n"  # --net went through, as JSON
    everything = text.stdout + text.stderr
    assert ESC not in everything and "\x07" not in everything and "\x9b" not in everything
    (line,) = text.stdout.splitlines()  # the one record; the rest is not records
    assert "DENIED   ok.test:443  403" in line and line.endswith("(x\\x1b[2J)")
    assert "nono: host evil: 3 egress log line(s) that are not records left out" in text.stderr
