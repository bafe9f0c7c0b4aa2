"""`nono ps --host NAME` and `nono ps --all-hosts`: remote sessions listed beside local ones,
through a real sshd (tests/sshd.py); what a remote host answers is untrusted."""

from __future__ import annotations

import json

from tests.sshd import sshd  # noqa: F401 (fixture)
from tests.test_config import write_config

SLEEPER = ("sh", "-c", "echo ready; exec sleep 600")


def test_ps_host_lists_the_remote_hosts_sessions_with_a_host_column(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("far-away", *SLEEPER)
    done = nono("ps", "--host", "build")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split()[:3] == ["HOST", "ID", "NAME"]
    assert len(rows) == 1 and rows[0].split()[0] == "build" and "far-away" in rows[0]
    assert "sleep 600" in rows[0]


def test_ps_host_with_an_unknown_name_lists_the_configured_ones(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono("ps", "--host", "biuld")
    assert done.returncode == 1
    assert done.stderr.startswith("nono: unknown host 'biuld'") and "hosts: build" in done.stderr


def test_a_failing_remote_nono_is_one_clean_line(nono, sshd):  # noqa: F811
    write_config(f'[hosts.bad]\naddress = "{sshd.address}"\n'
                 "nono = \"printf 'Traceback\\\\n\\\\033[2Jboom' >&2; exit 3 #\"\n")  # fmt: skip
    done = nono("ps", "--host", "bad")
    assert done.returncode == 1
    assert done.stderr == "nono: host bad: its nono failed (exit 3): [2Jboom\n"


def test_all_hosts_lists_local_and_remote_and_says_which_host_failed(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build") + '[hosts.gone]\naddress = "me@gone.invalid"\n')
    sshd.start_session("remote-one", *SLEEPER)
    started = nono("run", "--detached", "--name", "local-one", "--allow-cwd", "--", *SLEEPER)
    assert started.returncode == 0, started.stderr
    done = nono("ps", "--all-hosts")
    lines = done.stdout.splitlines()
    hosts_and_names = sorted((line.split()[0], line.split()[2]) for line in lines[1:])
    assert hosts_and_names == [("build", "remote-one"), ("local", "local-one")]
    # The unreachable host is one line, not a traceback, and the exit status says it.
    assert done.returncode == 1
    assert done.stderr.startswith("nono: host gone: cannot reach it (ssh failed)")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_all_hosts_json_names_each_entrys_host(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("remote-two", *SLEEPER)
    done = nono("ps", "--all-hosts", "--json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [(e["host"], e["name"]) for e in entries] == [("build", "remote-two")]
    assert entries[0]["status"] in ("running", "starting")


def _fake_remote(sshd, answer: str) -> None:  # noqa: F811
    """A host whose `nono` prints `answer` instead of listing (what a hostile host could)."""
    path = sshd.dir / "answer.json"
    path.write_text(answer)
    write_config(f'[hosts.evil]\naddress = "{sshd.address}"\nnono = "cat {path} #"\n')


def test_escape_sequences_in_a_remote_answer_never_reach_the_terminal(nono, sshd):  # noqa: F811
    entry = {"id": "abc123", "name": "x\x1b]0;pwned\x07\x1b[2Jy", "status": "running",
             "state": "running\x1b[31m", "command": ["sh", "\x1b]52;c;Zm9v\x07"],
             "attached": 0, "child_pid": 7, "profile": "\x9b31m", "uptime": "1s",
             "activity": {"state": "waiting", "since": 1.0, "reason": "\x1b[H"}}  # fmt: skip
    _fake_remote(sshd, json.dumps([entry]))
    for args in (("ps", "--host", "evil"), ("ps", "--host", "evil", "--json")):
        done = nono(*args)
        assert done.returncode == 0, done.stderr
        shown = json.loads(done.stdout) if "--json" in args else done.stdout
        text = json.dumps(shown, ensure_ascii=False) if "--json" in args else shown
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
        assert "abc123" in text


def test_a_remote_answer_that_is_not_a_listing_is_one_clear_line(nono, sshd):  # noqa: F811
    for answer, said in (("garbage\x1b[2J", "its answer is not JSON"),
                         ('{"id": 1}', "its answer is not a list of sessions"),
                         ('[{"id": "../x", "name": "n"}]', "session 0 of its answer: no valid id"),
                         ('[{"id": "ab", "name": 3, "status": "s", "state": "s"}]',
                          "session 0 of its answer: name is not a string")):  # fmt: skip
        _fake_remote(sshd, answer)
        done = nono("ps", "--host", "evil")
        assert done.returncode == 1
        assert done.stderr.startswith(f"nono: host evil: {said}"), done.stderr
        assert "\x1b" not in done.stderr and done.stdout == ""
