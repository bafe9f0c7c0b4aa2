"""Sessions, black-box: detached supervisors, attach through a real PTY read with pyte, control."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import time

import pexpect
import psutil
import pyte
import pytest


@pytest.fixture
def sessions(nono, workspace):
    """Start detached sessions; every one still running is force-stopped afterwards."""
    started: list[str] = []

    def start(*cmd: str, name: str | None = None, size: str = "80x24", extra=()) -> str:
        args = ["run", "--detached", "--size", size, "--allow-cwd", *extra]
        if name:
            args += ["--name", name]
        r = nono(*args, "--", *cmd)
        assert r.returncode == 0, r.stderr
        session_id, _name = r.stdout.split()
        started.append(session_id)
        return session_id

    yield start
    for session_id in started:
        nono("stop", session_id, "--force")


class Screen:
    """`nono attach` in a real PTY of a fixed size, its output read through pyte."""

    def __init__(self, args: list[str], cwd, rows: int = 24, cols: int = 80) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "nono", *args],
            cwd=str(cwd),
            env=dict(os.environ),
            dimensions=(rows, cols),
            timeout=15,
        )

    def pump(self, seconds: float = 0.3) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.05)
                self.stream.feed(data)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break

    def wait_for(self, text: str, seconds: float = 10) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump(0.1)
            if text in self.text():
                return
        raise AssertionError(f"{text!r} never appeared on screen:\n{self.text()}")

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def finish(self) -> int | None:
        self.child.expect(pexpect.EOF, timeout=15)
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        self.child.close(force=True)


def record_of(nono, session_id: str) -> dict:
    r = nono("inspect", session_id, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_until(predicate, seconds: float = 10) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition never became true")


# ---------------------------------------------------------------- lifecycle


def test_detached_start_lists_in_ps_and_inspect(nono, sessions, workspace):
    sid = sessions("sh", "-c", "echo started; sleep 60", name="worker")
    r = nono("ps", "--json")
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == [sid]
    row = rows[0]
    assert row["name"] == "worker" and row["state"] == "running"
    assert row["attached"] == 0 and row["profile"] == "default"
    assert psutil.pid_exists(row["child_pid"])
    info = record_of(nono, sid)
    assert info["workdir"] == str(workspace)
    assert info["command"] == ["sh", "-c", "echo started; sleep 60"]
    assert info["network"] == "allowed"
    assert str(workspace) in info["sandbox"]["writable"]
    text = nono("ps").stdout
    row = next(line for line in text.splitlines() if "worker" in line)
    assert row.split()[2] in ("starting", "working", "idle")  # STATE: a live session's activity


def test_child_dying_at_start_is_reported_with_its_output(nono):
    r = nono("run", "--detached", "--", "sh", "-c", "echo missing API key >&2; exit 3")
    assert r.returncode == 3
    assert "missing API key" in r.stderr
    assert "exited at start" in r.stderr


def test_ids_resolve_by_prefix_and_name_and_unknown_ids_list_candidates(nono, sessions):
    sid = sessions("sleep", "60", name="alpha")
    assert record_of(nono, sid[:5])["id"] == sid
    assert record_of(nono, "alpha")["id"] == sid
    r = nono("inspect", "nosuch")
    assert r.returncode == 1
    assert "no session matches 'nosuch'" in r.stderr and "alpha" in r.stderr


def test_duplicate_running_name_is_refused(nono, sessions):
    sessions("sleep", "60", name="twin")
    r = nono("run", "--detached", "--name", "twin", "--", "sleep", "60")
    assert r.returncode == 1
    assert "already named 'twin'" in r.stderr


def test_stop_records_the_exit_code(nono, sessions):
    sid = sessions("sleep", "60")
    r = nono("stop", sid, "--timeout", "5")
    assert r.returncode == 0, r.stderr
    info = record_of(nono, sid)
    assert info["state"] == "exited(129)"  # SIGHUP comes first, as from a closing terminal
    assert nono("ps").stdout.count(sid) == 0
    assert sid in nono("ps", "--all").stdout


def test_stop_escalates_to_sigkill_after_the_timeout(nono, sessions):
    sid = sessions("sh", "-c", "trap '' HUP TERM; while :; do sleep 0.1; done")
    time.sleep(0.3)
    r = nono("stop", sid, "--timeout", "0.5")
    assert r.returncode == 0, r.stderr
    assert record_of(nono, sid)["exit_code"] == 137


def test_logs_show_the_lifecycle(nono, sessions):
    sid = sessions("sleep", "60")
    nono("stop", sid, "--force")
    r = nono("logs", sid, "--json")
    events = [json.loads(line)["event"] for line in r.stdout.splitlines()]
    assert events[0] == "started" and "exited" in events
    assert nono("logs", sid, "--tail", "1", "--json").stdout.count("\n") == 1


def test_prune_removes_exited_records(nono, sessions):
    done = sessions("sleep", "60")
    live = sessions("sleep", "60")
    nono("stop", done, "--force")
    assert done in nono("prune", "--dry-run").stdout
    assert done in nono("ps", "--all").stdout
    nono("prune")
    listing = nono("ps", "--all").stdout
    assert done not in listing and live in listing


# ---------------------------------------------------------------- scripting


def test_send_keys_and_capture(nono, sessions):
    sid = sessions("bash", "--norc", "--noprofile", "-i")
    nono("send-keys", sid, "echo", "Space", "hello-there", "Enter")
    wait_until(lambda: "\nhello-there" in nono("capture", sid).stdout)
    nono("send-keys", sid, "-l", "echo literal Enter")
    nono("send-keys", sid, "Enter")
    wait_until(lambda: "literal Enter\n" in nono("capture", sid).stdout + "\n")


def test_send_keys_takes_the_spellings_config_and_keymaps_take(nono, sessions):
    sid = sessions("bash", "--norc", "--noprofile", "-i")
    nono("send-keys", sid, "echo", "space", "spelled-out", "ctrl-m")
    wait_until(lambda: "\nspelled-out" in nono("capture", sid).stdout)


def test_capture_with_history_and_ansi(nono, sessions):
    sid = sessions("sh", "-c", "seq 1 100; printf '\\033[31mred\\033[0m\\n'; sleep 60")
    wait_until(lambda: "red" in nono("capture", sid).stdout)
    screen = nono("capture", sid).stdout.splitlines()
    assert "1" not in screen
    more = nono("capture", sid, "--history", "50").stdout.splitlines()
    assert "60" in more and len(more) > len(screen)
    coloured = nono("capture", sid, "--ansi").stdout
    assert re.search(r"\x1b\[[0-9;]*31m(?:\x1b\[[0-9;]*m)*red", coloured)


def test_exited_session_can_still_be_captured(nono, sessions):
    sid = sessions("sh", "-c", "echo last words; sleep 0.5")
    wait_until(lambda: record_of(nono, sid)["state"] == "exited(0)")
    assert "last words" in nono("capture", sid).stdout


# ---------------------------------------------------------------- attach


def test_attach_replays_the_screen_with_colours(nono, sessions, workspace):
    sid = sessions("sh", "-c", "printf '\\033[1;31mred title\\033[0m\\nplain\\n'; sleep 60")
    wait_until(lambda: "plain" in nono("capture", sid).stdout)
    term = Screen(["attach", sid], workspace)
    try:
        term.wait_for("red title")
        assert "plain" in term.text()
        cell = term.screen.buffer[0][0]
        assert cell.fg == "red" and cell.bold
    finally:
        term.close()


def test_attach_replays_an_alternate_screen_program(nono, sessions, workspace):
    script = "printf 'main line\\n'; printf '\\033[?1049h\\033[2;3HIN ALT'; sleep 60"
    sid = sessions("sh", "-c", script)
    wait_until(lambda: "IN ALT" in nono("capture", sid).stdout)
    term = Screen(["attach", sid], workspace)
    try:
        term.wait_for("IN ALT")
        assert "main line" not in term.text()
        assert term.screen.buffer[1][2].data == "I"
        term.child.send(b"\x1dd")
        assert term.finish() == 0
    finally:
        term.close()


def test_typing_reaches_the_agent_and_detach_sequence_leaves_it_running(nono, sessions, workspace):
    sid = sessions("bash", "--norc", "--noprofile", "-i")
    term = Screen(["attach", sid], workspace)
    try:
        term.pump(0.5)
        term.child.send(b"echo typed-$((6*7))\r")
        term.wait_for("typed-42")
        term.child.send(b"\x1d")  # the start of the sequence alone sends nothing yet
        term.child.send(b"d")
        assert term.finish() == 0
    finally:
        term.close()
    assert record_of(nono, sid)["state"] == "running"
    assert "typed-42" in nono("capture", sid).stdout


def test_a_lone_sequence_prefix_is_passed_through(nono, sessions, workspace):
    sid = sessions("sh", "-c", "stty raw -echo; od -An -tx1 -w1 -v")
    term = Screen(["attach", sid], workspace)
    try:
        term.pump(0.5)
        term.child.send(b"\x1dx")
        term.wait_for("78")
        assert "1d" in term.text()
        term.child.send(b"\x1dd")
        term.finish()
    finally:
        term.close()


def test_detach_from_another_terminal(nono, sessions, workspace):
    sid = sessions("sleep", "60")
    term = Screen(["attach", sid], workspace)
    try:
        term.pump(0.5)
        wait_until(lambda: record_of(nono, sid)["attached"] == 1)
        r = nono("detach", sid)
        assert r.returncode == 0 and "detached 1" in r.stdout
        assert term.finish() == 0
    finally:
        term.close()
    assert record_of(nono, sid)["state"] == "running"


def test_session_survives_its_client_being_killed(nono, sessions, workspace):
    sid = sessions("bash", "--norc", "--noprofile", "-i")
    term = Screen(["attach", sid], workspace)
    term.pump(0.5)
    os.kill(term.child.pid, signal.SIGKILL)
    term.close()
    wait_until(lambda: record_of(nono, sid)["attached"] == 0)
    nono("send-keys", sid, "echo still-here", "Enter")
    wait_until(lambda: "still-here" in nono("capture", sid).stdout)
    again = Screen(["attach", sid], workspace)
    try:
        again.wait_for("still-here")
    finally:
        again.close()


def test_second_attach_is_refused_unless_stolen_and_read_only_watches(nono, sessions, workspace):
    sid = sessions("bash", "--norc", "--noprofile", "-i")
    first = Screen(["attach", sid], workspace)
    try:
        first.pump(0.5)
        second = Screen(["attach", sid], workspace)
        assert second.finish() == 1
        assert "already attached" in second.child.before.decode() + second.text()
        watcher = Screen(["attach", "--read-only", sid], workspace)
        watcher.pump(0.5)
        watcher.child.send(b"echo from-watcher\r")
        first.child.send(b"echo from-owner\r")
        watcher.wait_for("from-owner")
        assert "from-watcher" not in nono("capture", sid).stdout
        watcher.close()
        thief = Screen(["attach", "--steal", sid], workspace)
        thief.pump(0.5)
        assert first.finish() == 0
        thief.child.send(b"echo stolen\r")
        thief.wait_for("stolen")
        thief.close()
    finally:
        first.close()


def test_resize_reaches_the_child(nono, sessions, workspace):
    sid = sessions("bash", "--norc", "--noprofile", "-i")
    term = Screen(["attach", sid], workspace, rows=30, cols=100)
    try:
        term.pump(0.5)
        term.child.send(b"stty size\r")
        term.wait_for("30 100")
        term.child.setwinsize(20, 70)
        term.pump(0.3)
        term.child.send(b"stty size\r")
        term.wait_for("20 70")
    finally:
        term.close()


def test_attached_run_passes_the_exit_code_through(workspace):
    term = Screen(["run", "--allow-cwd", "--", "sh", "-c", "echo inside; exit 7"], workspace)
    try:
        assert term.finish() == 7
    finally:
        term.close()


# ---------------------------------------------------------------- security and faults


def test_sandboxed_process_cannot_reach_a_session_socket(nono, sessions):
    sid = sessions("sleep", "60")
    name = record_of(nono, sid)["socket"]
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"s.connect('\\0{name}')\n"
        "print('CONNECTED')\n"
    )
    r = nono("run", "--", "python3", "-c", script)  # a real sandbox, not attached
    assert "CONNECTED" not in r.stdout
    assert "PermissionError" in r.stderr
    outside = socket.socket(socket.AF_UNIX)
    outside.connect("\0" + name)  # the same connect from outside works
    outside.close()


def test_session_commands_refuse_to_run_inside_a_sandbox(nono, sessions):
    sessions("sleep", "60")
    import nono as package

    source = os.path.dirname(os.path.dirname(package.__file__))
    r = nono("run", "--read", source, "--", sys.executable, "-m", "nono", "ps")
    assert r.returncode == 1
    assert "cannot run inside a nono sandbox" in r.stderr


def test_garbled_and_truncated_frames_do_not_harm_the_session(nono, sessions):
    sid = sessions("bash", "--norc", "--noprofile", "-i")
    name = record_of(nono, sid)["socket"]
    for junk in (
        b"\xff\xff\xff\xff\x01garbage",
        b'\x00\x00\x00\x10\x01{"v":',
        b"\x00\x00",
        b"\x00\x00\x00\x02\x63{}",
    ):
        s = socket.socket(socket.AF_UNIX)
        s.connect("\0" + name)
        s.sendall(junk)
        s.close()
    nono("send-keys", sid, "echo survived", "Enter")
    wait_until(lambda: "survived" in nono("capture", sid).stdout)
    assert record_of(nono, sid)["state"] == "running"


def test_killed_supervisor_is_shown_exited_and_leaves_no_orphan(nono, sessions):
    sid = sessions("sleep", "600")
    info = record_of(nono, sid)
    os.kill(info["supervisor_pid"], signal.SIGKILL)
    wait_until(
        lambda: (
            not psutil.pid_exists(info["child_pid"])
            or psutil.Process(info["child_pid"]).status() == "zombie"
        )
    )
    row = json.loads(nono("ps", "--all", "--json").stdout)[0]
    assert row["state"] == "exited" and "supervisor died" in row["note"]
    r = nono("attach", sid)
    assert r.returncode == 1 and "has exited" in r.stderr


def test_bad_config_is_a_clear_error_before_anything_starts(nono, tmp_path):
    config = tmp_path / "config" / "nono"
    config.mkdir(parents=True)
    (config / "config.toml").write_text("[ui]\ndetach_sequence = 'ctrl-]'\n")
    r = nono("run", "--detached", "--", "sleep", "60")
    assert r.returncode == 1
    assert "config.toml" in r.stderr and ":2" in r.stderr
    (config / "config.toml").unlink()  # ps reads the config too (issue 13): mend it to look
    assert json.loads(nono("ps", "--json").stdout) == []


def test_unscoped_runs_cannot_be_sessions(nono):
    r = nono("run", "--detached", "--unscoped", "--", "sleep", "60")
    assert r.returncode == 1
    assert "--unscoped cannot run as a session" in r.stderr


def test_a_client_that_never_reads_does_not_slow_the_agent(nono, sessions, workspace):
    # The agent writes only once the client is in: 3 MB no longer outlasts the connect.
    flood = "head -c 3000000 /dev/zero | tr '\\0' x | fold -w 100; echo END"
    sid = sessions("sh", "-c", f"while [ ! -e go ]; do sleep 0.01; done; {flood}")
    name = record_of(nono, sid)["socket"]
    stalled = socket.socket(socket.AF_UNIX)
    stalled.connect("\0" + name)
    hello = json.dumps({"v": 1, "mode": "raw", "read_only": True}).encode()
    stalled.sendall(len(hello).to_bytes(4, "big") + b"\x01" + hello)
    (workspace / "go").touch()
    try:
        # The agent's output goes past the stalled client: the agent finishes regardless.
        wait_until(lambda: record_of(nono, sid)["state"] == "exited(0)", seconds=60)
    finally:
        stalled.close()
    assert "END" in nono("capture", sid).stdout


def test_full_disk_during_start_is_a_clear_error(nono, tmp_path):
    from conftest import kill_supervisors, small_tmpfs

    with small_tmpfs(tmp_path / "state", "12k") as state:
        try:
            os.makedirs(state / "nono" / "sessions", mode=0o700)
            os.chmod(state / "nono", 0o700)
            try:
                with open(state / "filler", "wb") as f:
                    while True:
                        f.write(b"\0" * 1024)
                        f.flush()
            except OSError:
                pass  # full, which is the point
            r = nono("run", "--detached", "--", "sleep", "60")
            assert r.returncode == 1
            assert "disk full" in r.stderr or "No space left" in r.stderr
            assert "Traceback" not in r.stderr
        finally:
            kill_supervisors(state)


def test_attached_run_names_denied_paths_after_a_failure(workspace, home):
    secret = home / "data"
    secret.mkdir()
    (secret / "notes.txt").write_text("n\n")
    term = Screen(["run", "--allow-cwd", "--", "cat", str(secret / "notes.txt")], workspace)
    try:
        assert term.finish() == 1
    finally:
        term.close()
    term.stream.feed(term.child.before or b"")
    text = term.text()
    assert "the sandbox refused" in text
    assert f"--read-file {secret / 'notes.txt'}" in text.replace("\n", "")


def test_screen_mode_client_gets_styled_rows_and_then_only_changes(nono, sessions):
    from nono.session.protocol import Decoder, Kind, encode
    from nono.term.style import decode_style

    sid = sessions("bash", "--norc", "--noprofile", "-i")
    name = record_of(nono, sid)["socket"]
    client = socket.socket(socket.AF_UNIX)
    client.connect("\0" + name)
    client.sendall(encode(Kind.HELLO, {"v": 1, "mode": "screen", "read_only": True}))
    decoder = Decoder()
    client.settimeout(10)

    queued = []

    def next_screen():
        while True:
            while queued:
                frame = queued.pop(0)
                if frame.kind == Kind.SCREEN:
                    return frame.json()
            queued.extend(decoder.feed(client.recv(65536)))

    try:
        first = next_screen()
        assert first["full"] and len(first["rows"]) == 24
        nono("send-keys", sid, "-l", "printf '\\033[32mgreen\\033[0m\\n'")
        nono("send-keys", sid, "Enter")
        seen = ""
        deadline = time.monotonic() + 10
        while "green" not in seen and time.monotonic() < deadline:
            update = next_screen()
            assert not update["full"] and len(update["rows"]) < 24
            for runs in update["rows"].values():
                for text, style in runs:
                    if text == "green":
                        assert decode_style(update["styles"][style]).fg == 2
                        seen += text
        assert "green" in seen
    finally:
        client.close()


QUERY_AGENT = r"""
import os, sys, termios, time, select
got = b""
end = time.time() + 1.0
while time.time() < end:
    if select.select([0], [], [], 0.1)[0]:
        got += os.read(0, 100)
termios.tcsetattr(0, termios.TCSANOW, termios.tcgetattr(0))
os.write(1, b"\r\nreplies=%d\r\n" % got.count(b"c"))
"""


def test_a_terminal_query_at_start_is_answered_exactly_once(workspace):
    """The attached terminal answers DA itself; the supervisor must not answer as well."""
    # The query goes out at once, before the attaching client is likely to be connected.
    script = f"stty raw -echo; printf '\\033[c'; exec python3 -c '{QUERY_AGENT}'"
    term = Screen(["run", "--", "sh", "-c", script], workspace)
    try:
        answered = False
        end = time.monotonic() + 15
        text = b""
        while time.monotonic() < end:
            try:
                data = term.child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                break
            text += data
            term.stream.feed(data)
            if b"\x1b[c" in data and not answered:  # behave like a real terminal
                term.child.send(b"\x1b[?62;22c")
                answered = True
        assert "replies=1" in term.text(), term.text()
    finally:
        term.close()


def test_a_killed_attach_client_puts_the_terminal_back(nono, sessions, workspace):
    sid = sessions("sleep", "60")
    term = Screen(["attach", sid], workspace)
    try:
        term.pump(0.5)
        os.kill(term.child.pid, signal.SIGTERM)
        term.child.expect(pexpect.EOF, timeout=10)
        # The PTY is back in cooked mode with echo, as before nono attach set it raw.
        import termios

        attrs = termios.tcgetattr(term.child.child_fd)
        assert attrs[3] & termios.ICANON and attrs[3] & termios.ECHO
    finally:
        term.close()
    assert record_of(nono, sid)["state"] == "running"


def test_a_screen_client_can_ask_for_fewer_frames_while_the_agent_floods(nono, sessions, workspace):
    from nono.session.protocol import Decoder, Kind, encode

    go = workspace / "go"
    sid = sessions("sh", "-c", "while [ ! -e go ]; do sleep 0.02; done; "
                   "while :; do seq 1 2000; done")  # fmt: skip
    client = socket.socket(socket.AF_UNIX)
    client.connect("\0" + record_of(nono, sid)["socket"])
    client.sendall(encode(Kind.HELLO, {"v": 1, "mode": "screen", "read_only": True}))
    client.sendall(encode(Kind.REQUEST, {"op": "rate", "fps": 5}))
    decoder = Decoder()
    client.settimeout(10)
    try:
        go.touch()
        frames, end = 0, time.monotonic() + 2.0
        while time.monotonic() < end:
            frames += sum(f.kind == Kind.SCREEN for f in decoder.feed(client.recv(1 << 20)))
        assert 4 <= frames <= 16  # ~5 a second for 2 s (plus the first), not 30 a second
    finally:
        client.close()


def test_backlog_hands_the_model_every_byte_in_order() -> None:
    from nono.session.supervisor import Backlog

    backlog = Backlog()
    data = bytes(range(256)) * 40
    for at in range(0, len(data), 1000):
        backlog.append(data[at : at + 1000])
    backlog.append(b"")
    assert len(backlog) == len(data) and backlog.peek() == data
    taken = b""
    while backlog:
        piece = backlog.take(333)
        assert 0 < len(piece) <= 333
        taken += piece
        assert backlog.peek() == data[len(taken) :]
    assert taken == data and len(backlog) == 0 and backlog.peek() == b""


def test_a_client_of_another_protocol_version_is_refused_naming_both(nono, sessions):
    from nono.session.protocol import VERSION, Decoder, Hello, Kind, Reason, Refused

    sid = sessions("sleep", "60")
    name = record_of(nono, sid)["socket"]

    def first_answer(hello: Hello):
        client = socket.socket(socket.AF_UNIX)
        client.connect("\0" + name)
        client.settimeout(10)
        try:
            client.sendall(hello.encode())
            decoder = Decoder()
            while True:
                frames = decoder.feed(client.recv(65536))
                if frames:
                    return frames[0]
        finally:
            client.close()

    answer = first_answer(Hello("control", version=VERSION + 1))
    refused = Refused.decode(answer)
    assert refused.reason is Reason.VERSION
    assert f"client speaks session protocol version {VERSION + 1}" in refused.text
    assert f"supervisor speaks version {VERSION}" in refused.text
    # The same hello in this version is welcome.
    assert first_answer(Hello("control")).kind == Kind.WELCOME


def test_detaching_from_a_main_screen_agent_leaves_a_clean_terminal(nono, sessions, workspace):
    # Claude draws on the main screen: its UI must not stay behind the detach message.
    script = "printf '\\033[2J\\033[HAGENT-UI top\\n> prompt box\\n'; sleep 60"
    sid = sessions("sh", "-c", script, name="drawer")
    wait_until(lambda: "AGENT-UI" in nono("capture", sid).stdout)
    term = Screen(["attach", sid], workspace)
    try:
        term.wait_for("AGENT-UI")
        term.child.send(b"\x1dd")
        assert term.finish() == 0
        term.stream.feed(term.child.before or b"")
        text = term.text()
        assert "AGENT-UI" not in text and "prompt box" not in text
        assert "back with: nono attach drawer" in text.replace("\n", "")
    finally:
        term.close()


def test_a_client_whose_session_was_taken_is_told_how_to_take_it_back(nono, sessions, workspace):
    sid = sessions("bash", "--norc", "--noprofile", "-i", name="shared")
    first = Screen(["attach", sid], workspace)
    try:
        first.pump(0.5)
        thief = Screen(["attach", "--steal", sid], workspace)
        thief.pump(0.5)
        first.finish()
        first.stream.feed(first.child.before or b"")
        text = first.text().replace("\n", "")
        assert "another client took it over" in text
        assert "nono attach --steal shared" in text
        thief.close()
    finally:
        first.close()
