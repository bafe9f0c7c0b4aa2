"""The rest of the session commands on a host (`--host NAME` / `NAME:SESSION`) through a real
sshd: inspect, logs (and -f), wait and its exit codes, rollback list/show/restore, capture of
an exited session, and an attached `nono run --host` in a real PTY. What a host sends is
untrusted: a second host whose `nono` is a script printing escape sequences shows that none
of them reaches the terminal."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sshd import _free_port, _toml, sshd  # noqa: F401 (fixture)
from tests.test_config import write_config

ESC = "\x1b"


def _until(what, seconds: float = 20):
    """What `what()` gives once it is truthy (a remote agent's pace is not ours to time)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("never happened")


def _exited(nono, ref: str) -> dict:
    def check():
        done = nono("inspect", "--json", ref)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        return data if data["status"] == "exited" else None

    return _until(check)


def _hostile_host(tmp_path: Path, sshd, said: str, code: int = 0) -> Path:  # noqa: F811
    """[hosts.evil]: the same sshd, but its `nono` a script that prints `said` (escapes and
    all) for whatever it is asked, exits `code`, and notes the arguments it was given."""
    script = tmp_path / "evil-nono.sh"
    asked = tmp_path / "evil-asked"
    payload = tmp_path / "evil-said"
    payload.write_bytes(said.encode())
    boom = r"printf 'nono: boom \033]52;c;Zm9v\007 \033[2J' >&2"
    script.write_text(f'printf "%s\\n" "$*" > {shlex.quote(str(asked))}\n'
                      f"cat {shlex.quote(str(payload))}\n{boom}\nexit {code}\n")  # fmt: skip
    write_config(sshd.config_toml("build") + f"[hosts.evil]\naddress = {_toml(sshd.address)}\n"
                 f"nono = {_toml('sh ' + shlex.quote(str(script)))}\n")  # fmt: skip
    return asked


HOSTILE = (
    "plain line\n"
    "osc52 \x1b]52;c;ZXZpbA==\x07 clear \x1b[2J\x1b[H csi8 \x9b31m tab\there\r\n"
    '{"ts": 1, "event": "evil\\u001b]0;title\\u0007", "x": "\\u001b[2J"}\n'
)


def test_inspect_on_a_host_shows_a_live_and_an_exited_session(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("probe", "cat")
    done = nono("inspect", "--host", "build", "probe")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "name        probe" in lines and "status      running" in lines
    data = json.loads(nono("inspect", "build:probe", "--json").stdout)
    assert (data["name"], data["status"], data["command"]) == ("probe", "running", ["cat"])
    assert nono("stop", "build:probe", "--force").returncode == 0
    assert _exited(nono, "build:probe")["state"].startswith("exited")  # its record, read there


def test_logs_on_a_host_arrive_parsed_and_cleaned(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("logged", "cat")
    (events,) = sshd.remote_state().rglob("*.events.ndjson")
    with events.open("a") as f:  # what an agent could get into its log: its title, say
        f.write(json.dumps({"ts": 2, "event": "titled", "title": f"{ESC}]52;c;Zm9v\a{ESC}[2J"})
                + "\nnot json \x1b[31m at all\n")  # fmt: skip
    done = nono("logs", "build:logged")
    assert done.returncode == 0, done.stderr
    assert ESC not in done.stdout and "\a" not in done.stdout
    assert "started" in done.stdout
    assert "titled         title=\\x1b]52;c;Zm9v\\x07\\x1b[2J" in done.stdout
    assert "(unreadable) not json \\x1b[31m at all" in done.stdout
    as_json = nono("logs", "--host", "build", "logged", "--json", "--tail", "2")
    assert as_json.returncode == 0, as_json.stderr
    (line,) = as_json.stdout.splitlines()  # the last two: the odd one left out, and said so
    assert ESC not in as_json.stdout
    assert json.loads(line)["title"] == f"{ESC}]52;c;Zm9v\a{ESC}[2J"  # JSON stays exact
    assert "1 event line(s) that are not JSON left out" in as_json.stderr


def test_logs_follow_on_a_host_streams_until_the_session_ends(nono, sshd, workspace):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("followed", "cat")
    follow = subprocess.Popen([sys.executable, "-m", "nono", "logs", "-f", "build:followed"],
                              cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        assert "started" in follow.stdout.readline()  # streamed while the session runs
        assert nono("stop", "build:followed", "--force").returncode == 0
        rest, err = follow.communicate(timeout=30)
        assert follow.returncode == 0, err
        assert "exited" in rest
    finally:
        follow.kill()
        follow.wait()


def test_wait_on_a_host_gives_the_local_exit_codes(nono, sshd, workspace):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("ender", "sh", "-c", "echo READY; read line; exit 255")
    reached = nono("wait", "build:ender", "--pattern", "READY")
    assert reached.returncode == 0, reached.stderr
    assert "build:ender's screen matches 'READY'" in reached.stderr
    late = nono("wait", "--host", "build", "ender", "--pattern", "NEVER", "--timeout", "0.5")
    assert late.returncode == 124, late.stderr
    assert late.stderr.startswith("nono: timed out after 0.5s; build:ender is ")
    assert nono("send-keys", "build:ender", "Enter").returncode == 0
    # 255 is the agent's: ssh's own 255 is never taken for it.
    done = nono("wait", "build:ender", "--state", "exited")
    assert (done.returncode, done.stderr) == (255, "nono: build:ender exited(255)\n")
    again = nono("wait", "build:ender", "--state", "exited")  # from its record there
    assert (again.returncode, again.stderr) == (255, "nono: build:ender exited(255)\n")
    gone = nono("wait", "build:ender", "--pattern", "x")
    assert gone.returncode == 1
    assert gone.stderr.startswith("nono: session build:ender has exited")
    sshd.start_session("quitter", "sh", "-c", "read line; exit 3")
    waiting = subprocess.Popen([sys.executable, "-m", "nono", "wait", "build:quitter", "-p",
                                "NEVER"], cwd=workspace, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        _until(lambda: "quitter" in nono("ps", "--host", "build").stdout)
        time.sleep(1)  # not an assertion: the wait is asked of the supervisor by now
        assert nono("send-keys", "build:quitter", "Enter").returncode == 0
        _, err = waiting.communicate(timeout=30)
    finally:
        waiting.kill()
    assert waiting.returncode == 1
    assert "build:quitter exited(3) before its screen matched 'NEVER'" in err


def test_wait_for_a_session_the_host_does_not_have_names_the_host(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono("wait", "build:nope", "--state", "idle")
    assert done.returncode == 1
    assert done.stderr.startswith("nono: host build: no session matches 'nope'")
    assert len(done.stderr.splitlines()) == 1


def test_capture_of_an_exited_session_on_a_host_shows_its_last_screen(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    sshd.start_session("brief", "sh", "-c", "echo last-words")
    _exited(nono, "build:brief")
    done = nono("capture", "build:brief")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "last-words"


def test_rollback_on_a_host_lists_shows_and_restores(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    work = sshd.remote_workdir()
    (work / "kept.txt").write_text("before\n")
    started = sshd.nono("run", "--detached", "--rollback", "--name", "writer", "--workdir",
                        str(work), "--allow-cwd", "--", "sh", "-c",
                        r"printf 'after \033]52;c;Zm9v\007\n' > kept.txt; sleep 600")  # fmt: skip
    assert started.returncode == 0, started.stderr
    rb = started.stdout.split()[-1]
    _until(lambda: "after" in (work / "kept.txt").read_text())
    assert nono("stop", "build:writer", "--force").returncode == 0
    listed = nono("rollback", "list", "--host", "build", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [rb]
    shown = nono("rollback", "show", f"build:{rb}", "--diff")
    assert shown.returncode == 0, shown.stderr
    assert f"~ modified  {work / 'kept.txt'}" in shown.stdout
    assert "+after \\x1b]52;c;Zm9v\\x07" in shown.stdout and ESC not in shown.stdout
    exact = json.loads(nono("rollback", "show", "--host", "build", rb, "--diff", "--json").stdout)
    assert f"+after {ESC}]52;c;Zm9v\a" in exact["changes"][0]["diff"]
    dry = nono("rollback", "restore", "--host", "build", rb, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would restore 2 action(s) to snapshot 0:\n")
    assert f"  write    {work / 'kept.txt'}" in dry.stdout
    assert "after" in (work / "kept.txt").read_text()  # a dry run changed nothing
    (work / "kept.txt").write_text("the person's own edit\n")
    refused = nono("rollback", "restore", f"build:{rb}")  # as here: changed since, so asked
    assert refused.returncode == 1
    assert refused.stderr == (f"nono: host build: changed since the session ended: {work}/"
                              "kept.txt (rerun with --force to overwrite them)\n")  # fmt: skip
    assert (work / "kept.txt").read_text() == "the person's own edit\n"
    forced = nono("rollback", "restore", f"build:{rb}", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (work / "kept.txt").read_text() == "before\n"


def test_what_a_hostile_host_prints_reaches_the_terminal_cleaned(nono, sshd, tmp_path):  # noqa: F811
    asked = _hostile_host(tmp_path, sshd, HOSTILE, code=3)
    for args in (["logs", "evil:x"], ["inspect", "--host", "evil", "x"],
                 ["rollback", "show", "evil:rb1", "--diff", "--turn", "2"]):  # fmt: skip
        done = nono(*args)
        assert done.returncode == 3, (args, done.stderr)  # its nono's status comes through
        everything = done.stdout + done.stderr
        assert ESC not in everything and "\x07" not in everything and "\x9b" not in everything
        assert "\r" not in everything
        assert done.stderr.startswith("nono: host evil: boom \\x1b]52;c;Zm9v\\x07")
    assert asked.read_text() == "rollback show rb1 --diff --turn 2\n"
    restore = nono("rollback", "restore", "--host", "evil", "rb1", "--turn", "last", "--dry-run")
    assert restore.returncode == 3
    assert asked.read_text() == "rollback restore rb1 --turn last --dry-run\n"


def test_a_hostile_hosts_json_is_refused_or_printed_again(nono, sshd, tmp_path):  # noqa: F811
    _hostile_host(tmp_path, sshd, HOSTILE)
    refused = nono("rollback", "list", "--host", "evil", "--json")
    assert refused.returncode == 1
    assert refused.stderr.startswith("nono: host evil: its answer is not JSON")
    assert ESC not in refused.stdout + refused.stderr
    _hostile_host(tmp_path, sshd, '{"name": "x\\u001b[2J", "n": [1, "\\u009b"]}')
    again = nono("inspect", "evil:x", "--json")
    assert again.returncode == 0, again.stderr
    assert ESC not in again.stdout and "\x9b" not in again.stdout
    assert json.loads(again.stdout) == {"name": f"x{ESC}[2J", "n": [1, "\x9b"]}


def test_an_unreachable_host_is_one_line_with_ssh_s_status(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build")
                 + f'[hosts.gone]\naddress = {_toml(sshd.address)}\n'
                 f'ssh_options = ["-p", "{_free_port()}"]\n')  # fmt: skip
    done = nono("logs", "gone:x")
    assert done.returncode == 255
    assert done.stderr.startswith("nono: host gone: cannot reach it (ssh failed): ")
    assert "check that ssh reaches" in done.stderr and len(done.stderr.splitlines()) == 1


def test_an_unreachable_host_under_wait_is_one_line_naming_it(nono, sshd):  # noqa: F811
    write_config(f'[hosts.gone]\naddress = {_toml(sshd.address)}\n'
                 f'ssh_options = ["-p", "{_free_port()}"]\n')  # fmt: skip
    done = nono("wait", "gone:x", "--state", "idle")
    assert done.returncode == 1  # not 255: that status is an agent's to give
    assert done.stderr.startswith("nono: host gone: cannot reach it (ssh failed)")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["inspect", "--host", "biuld", "x"], ["logs", "--host", "biuld", "x"],
    ["wait", "--host", "biuld", "x", "-s", "idle"], ["rollback", "list", "--host", "biuld"],
    ["rollback", "restore", "--host", "biuld", "rb"], ["run", "--host", "biuld", "--", "true"],
])  # fmt: skip
def test_an_unknown_host_is_named_with_the_configured_ones(nono, sshd, args):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono(*args)
    assert done.returncode == 1
    assert done.stderr == ("nono: unknown host 'biuld' (hosts: build; name one in config.toml "
                           "as [hosts.NAME], or give user@host)\n")  # fmt: skip


@pytest.fixture
def screen():
    from tests.test_sessions import Screen

    made: list[Screen] = []

    def make(args: list[str], cwd: Path, **kw) -> Screen:
        made.append(Screen(args, cwd, **kw))
        return made[-1]

    yield make
    for term in made:
        term.close()


def _run_there(sshd, *command: str) -> list[str]:  # noqa: F811
    return ["run", "--host", "build", "--workdir", str(sshd.remote_workdir()), "--allow-cwd",
            "--", *command]  # fmt: skip


def test_run_host_attached_types_detaches_and_leaves_it_running(nono, sshd, workspace, screen):  # noqa: F811
    write_config(sshd.config_toml("build"))
    term = screen(_run_there(sshd, "bash", "--norc", "--noprofile", "-i"), workspace,
                  rows=30, cols=100)  # fmt: skip
    _until(lambda: term.pump(0.1) or ("started on build" not in term.text()
                                       and "bash-" in term.text()))  # fmt: skip
    # Its prompt on a redrawn screen: attached (what is typed before is flushed, as locally).
    term.child.send(b"stty size; echo typed-$((6*7))\r")
    term.wait_for("typed-42")
    assert "30 100" in term.text()  # started at this terminal's size
    term.child.send(b"\x1d")  # ctrl-] then d: the default detach sequence
    term.child.send(b"d")
    assert term.finish() == 0
    assert b"[detached from session build:bash-" in term.child.before
    listed = nono("ps", "--host", "build")
    assert "bash --norc" in listed.stdout and "exited" not in listed.stdout  # it runs on there


def test_run_host_attached_exits_with_the_agents_code(nono, sshd, workspace, screen):  # noqa: F811
    write_config(sshd.config_toml("build"))
    term = screen(["run", "--rollback", "--no-rollback-prompt",
                   *_run_there(sshd, "sh", "-c", "echo ASK; read x; echo got-$x; exit 5")[1:]],
                  workspace)  # fmt: skip
    term.wait_for("ASK")
    term.child.send(b"hi\r")
    term.wait_for("got-hi")
    assert term.finish() == 5
    said = term.child.before.decode() + term.text()
    assert "nono: rollback on build: see it with: nono rollback show --host build " in said
    quick = screen(_run_there(sshd, "sh", "-c", "echo quick-one"), workspace)
    assert quick.finish() == 0  # done before the attach: its last screen, its code
    assert b"quick-one" in quick.child.before
    failing = screen(_run_there(sshd, "sh", "-c", "echo oops; exit 4"), workspace)
    assert failing.finish() == 4
    assert b"oops" in failing.child.before


def test_run_host_attached_with_rollback_asks_before_undoing_there(nono, sshd, workspace, screen):  # noqa: F811
    write_config(sshd.config_toml("build"))
    made = sshd.remote_workdir() / "made.txt"
    term = screen(["run", "--rollback", *_run_there(sshd, "sh", "-c",
                   "echo made > made.txt; echo ASK; read x; exit 6")[1:]], workspace)  # fmt: skip
    term.wait_for("ASK")
    term.child.send(b"\r")
    term.child.expect_exact("[k]eep all, [r]estore all, [d]iffs? ")  # asked, not assumed
    assert made.exists()
    assert f"+ created   {made}" in term.child.before.decode()
    term.child.send(b"d\r")
    term.child.expect_exact("+made")  # the diff, from that host
    term.child.expect_exact("[k]eep all, [r]estore all, [d]iffs? ")
    term.child.send(b"r\r")
    term.child.expect_exact("restored 0, removed 1")
    assert term.finish() == 6  # the agent's code still
    assert not made.exists()


def test_run_host_attached_needs_a_terminal(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono("run", "--host", "build", "--", "true")
    assert done.returncode == 1
    assert done.stderr == ("nono: nono run --host without --detached needs a terminal "
                           "(add --detached, then: nono attach build:NAME)\n")  # fmt: skip


def test_run_host_takes_a_command_typed_without_a_double_dash_once(nono, sshd):  # noqa: F811
    write_config(sshd.config_toml("build"))
    done = nono("run", "--host", "build", "-d", "--name", "cat", "--workdir",
                str(sshd.remote_workdir()), "--allow-cwd", "cat")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(nono("inspect", "build:cat", "--json").stdout)
    assert data["command"] == ["cat"]
