"""`nono mux`, black-box: the real dashboard in a PTY, its screen read through pyte, real
sandboxed sessions behind it."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest

from tests.mux_helpers import PREFIX, Dashboard

SHELL = ("bash", "--norc", "--noprofile", "-i")


@pytest.fixture
def sessions(nono, workspace):
    """Start detached sessions (each prints a marker first); all are stopped afterwards."""

    def start(name: str, *cmd: str, size: str = "80x24", extra=()) -> str:
        # The marker is quoted apart in the command, which the pane's border shows: a wait for
        # it must be a wait for the session's output, not for the border.
        command = cmd or ("bash", "-c", f'echo READY-"{name}"; exec bash --norc --noprofile -i')
        r = nono("run", "--detached", "--size", size, "--allow-cwd", "--name", name, *extra,
                 "--", *command)  # fmt: skip
        assert r.returncode == 0, r.stderr
        return r.stdout.split()[0]

    yield start
    r = nono("ps", "--json")
    for record in json.loads(r.stdout or "[]"):
        nono("stop", record["id"], "--force")


@pytest.fixture
def dashboard(workspace):
    """Open `nono mux`; every dashboard opened is closed at the end."""
    opened: list[Dashboard] = []

    def open_(*args: str, cols: int = 100, rows: int = 30, env: dict | None = None) -> Dashboard:
        dash = Dashboard(workspace, *args, cols=cols, rows=rows, env=env)
        opened.append(dash)
        return dash

    yield open_
    for dash in opened:
        dash.close()


def pane_text(dash: Dashboard, name: str) -> str:
    """The text of one pane: from below its header to the next header in its columns."""
    headers = dash.headers()
    lines = dash.lines()
    for y, x, found in headers:
        if found != name:
            continue
        right = min([hx for hy, hx, _ in headers if hy == y and hx > x] + [dash.cols])
        below = min([hy for hy, hx, _ in headers if hy > y and hx <= x < hx + 999 and
                     _overlaps(hx, headers, hy, x)] + [len(lines) - 1])  # fmt: skip
        return "\n".join(line[x:right] for line in lines[y + 1 : below])
    raise AssertionError(f"no pane named {name} on screen:\n{dash.text()}")


def _overlaps(hx: int, headers, hy: int, x: int) -> bool:
    right = min([ox for oy, ox, _ in headers if oy == hy and ox > hx] + [10_000])
    return hx <= x < right


def stty_size(dash: Dashboard, name: str, nono) -> tuple[int, int]:
    """Ask the focused pane's shell for its terminal size; read the answer via capture."""
    token = f"SZ{int(time.monotonic() * 1000) % 100000}"
    dash.type_line(f"echo {token} $(stty size)")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        dash.pump(0.1)
        captured = nono("capture", name).stdout
        match = re.search(rf"^{token} (\d+) (\d+)\s*$", captured, re.M)
        if match:
            return int(match.group(2)), int(match.group(1))
    raise AssertionError(f"no size answer from {name}:\n{dash.text()}")


def test_panes_show_their_sessions_screens_and_the_status_bar_lists_them(sessions, dashboard):
    sessions("alpha")
    sessions("beta")
    dash = dashboard()
    text = dash.wait(lambda t: "READY-alpha" in t and "READY-beta" in t)
    assert "READY-alpha" in pane_text(dash, "alpha")
    assert "READY-beta" in pane_text(dash, "beta")
    status = dash.status()
    # Alive: "running", or "idle" once 5 s passed without output (a slow start under load).
    assert "alpha" in status and "beta" in status
    assert "running" in status or "idle" in status
    assert "net:on" in text and "rw:" in text


def test_typing_reaches_only_the_focused_pane(sessions, dashboard, nono):
    sessions("alpha")
    sessions("beta")
    dash = dashboard()
    dash.wait("READY-beta")
    dash.type_line("echo typed-$((6*7))")
    dash.wait("typed-42")
    assert "typed-42" in pane_text(dash, "alpha")
    assert "typed-42" not in nono("capture", "beta").stdout


def test_focus_moves_by_keys_and_by_mouse_click(sessions, dashboard, nono):
    sessions("alpha")
    sessions("beta")
    dash = dashboard()
    dash.wait("READY-beta")
    dash.prefix("o")  # focus-next
    dash.type_line("echo in-beta")
    dash.wait("in-beta")
    assert "in-beta" in nono("capture", "beta").stdout
    # A click inside alpha's pane focuses it (SGR mouse report: button 0 press and release).
    y, x, _ = next(h for h in dash.headers() if h[2] == "alpha")
    dash.send(f"\x1b[<0;{x + 3};{y + 3}M\x1b[<0;{x + 3};{y + 3}m")
    dash.settle()
    dash.type_line("echo in-alpha")
    dash.wait("in-alpha")
    assert "in-alpha" in nono("capture", "alpha").stdout
    assert "in-alpha" not in nono("capture", "beta").stdout


def test_split_starts_a_sandboxed_session_and_each_pty_gets_its_pane_size(
    sessions, dashboard, nono, workspace
):
    sessions("alpha")
    dash = dashboard(cols=100, rows=30)
    dash.wait("READY-alpha")
    assert stty_size(dash, "alpha", nono) == (100, 28)  # one header row, one status row
    dash.prefix("%")
    dash.wait("new pane profile:")
    dash.send("\r")  # default profile
    dash.wait("directory:")
    assert str(workspace) in dash.status()
    dash.send("\r")
    dash.wait("command:")
    dash.send("\x15bash --norc --noprofile -i\r")  # ctrl-u clears the default
    dash.wait(lambda t: len(dash.headers()) == 2)
    records = json.loads(nono("ps", "--json").stdout)
    new = next(r for r in records if r["name"] != "alpha")
    assert new["profile"] == "default" and new["workdir"] == str(workspace)
    assert str(workspace) in new["sandbox"]["writable"]
    # Side by side: 100 = 49 + separator + 50 (tmux splits the same way).
    left, right = stty_size(dash, new["name"], nono), None
    dash.prefix("o")
    right = stty_size(dash, "alpha", nono)
    assert left[0] + right[0] + 1 == 100 and left[1] == right[1] == 28
    # Zoom gives the focused pane the whole screen; its PTY follows.
    dash.prefix("z")
    dash.wait("[zoom]")
    assert stty_size(dash, "alpha", nono) == (100, 28)
    dash.prefix("z")
    dash.wait_gone("[zoom]")
    # even-vertical stacks them: full width, half the height each (minus headers).
    dash.send(PREFIX + "\x1b2")
    dash.wait(lambda t: [h[1] for h in dash.headers()] == [0, 0])
    rows = stty_size(dash, "alpha", nono)
    assert rows[0] == 100 and rows[1] in (13, 14)


def test_outer_terminal_resize_resizes_every_pane(sessions, dashboard, nono):
    sessions("alpha")
    dash = dashboard(cols=100, rows=30)
    dash.wait("READY-alpha")
    dash.resize(120, 40)
    dash.settle()
    assert stty_size(dash, "alpha", nono) == (120, 38)


def test_detach_keeps_sessions_and_reopening_restores_the_layout(sessions, dashboard, nono):
    sessions("alpha")
    sessions("beta")
    sessions("gamma")
    dash = dashboard()
    dash.wait("READY-gamma")
    dash.send(PREFIX + "\x1b2")  # even-vertical: a layout the default tiling would not give
    dash.wait(lambda t: [h[1] for h in dash.headers()] == [0, 0, 0])
    dash.prefix("o")
    dash.settle()
    before = dash.headers()
    dash.prefix("d")
    assert dash.exit() == 0
    assert b"detached" in dash.raw
    states = {r["name"]: r["state"] for r in json.loads(nono("ps", "--json").stdout)}
    assert states == {"alpha": "running", "beta": "running", "gamma": "running"}
    again = dashboard()
    again.wait(lambda t: again.headers() == before)
    again.settle()
    assert again.headers() == before
    again.type_line("echo focus-kept")  # the focus was on beta when we left
    again.wait("focus-kept")
    assert "focus-kept" in nono("capture", "beta").stdout


def test_killing_the_dashboard_leaves_every_session_running(sessions, dashboard, nono):
    sessions("alpha")
    sessions("beta")
    dash = dashboard()
    dash.wait("READY-beta")
    os.kill(dash.child.pid, signal.SIGKILL)
    dash.exit()
    states = {r["name"]: r["state"] for r in json.loads(nono("ps", "--json").stdout)}
    assert states == {"alpha": "running", "beta": "running"}
    r = nono("send-keys", "alpha", "echo still-here", "Enter")
    assert r.returncode == 0
    deadline = time.monotonic() + 10
    while "still-here" not in nono("capture", "alpha").stdout[-500:]:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_copy_mode_finds_a_line_5000_lines_back_while_the_pane_keeps_printing(
    sessions, dashboard, nono
):
    program = "seq -f 'line-%06g' 1 6000; while :; do echo tick; sleep 0.02; done"
    sessions("printer", "sh", "-c", program)
    dash = dashboard()
    dash.wait("tick")
    dash.prefix("[")
    dash.wait(lambda t: re.search(r"\[\d+/\d+\]", t) is not None)
    dash.send("?")
    dash.wait("search up:")
    dash.send("line-000900\r")
    dash.wait("line-000900")
    # tmux's position indicator: far up in a history of thousands of lines.
    offset, size = map(int, re.search(r"\[(\d+)/(\d+)\]", dash.text()).groups())
    assert offset >= 5000 and size >= 5900
    # The agent was never blocked: it kept printing while we read.
    before = nono("capture", "printer", "--history", "20000").stdout.count("tick")
    time.sleep(0.5)
    after = nono("capture", "printer", "--history", "20000").stdout.count("tick")
    assert after > before
    dash.send("q")
    dash.wait(lambda t: re.search(r"\[\d+/\d+\]", t) is None)


def _key_echo_dashboard(sessions, dashboard, home, file: str, text: str):
    """A dashboard over one key-echoing session, with one of the person's files written."""
    config = home.parent / "config" / "nono"
    config.mkdir(parents=True, exist_ok=True)
    (config / file).write_text(text)
    sessions("alpha", "python3", "-c", _KEY_ECHO)
    dash = dashboard()
    dash.wait("KEYS-READY")
    return dash


def test_keymap_tmux_uses_ctrl_b_and_passes_ctrl_bracket_through(sessions, dashboard, home, nono):
    dash = _key_echo_dashboard(sessions, dashboard, home, "config.toml", '[ui]\nkeymap = "tmux"\n')
    dash.send("\x1d")  # not the prefix in this keymap: the agent gets it
    dash.wait("got '\\x1d'")
    dash.send("\x02?")  # C-b ? : help
    dash.wait("keys (tmux)")
    assert "split-right" in dash.text()


def test_a_user_keymap_named_like_a_builtin_one_is_the_one_nono_mux_uses(sessions, dashboard, home):
    # The person's file wins, as with profiles: keymaps/tmux.yaml is "tmux", and its
    # `extends: tmux` reaches the built-in one beneath it.
    keymaps = home.parent / "config" / "nono" / "keymaps"
    keymaps.mkdir(parents=True)
    (keymaps / "tmux.yaml").write_text("extends: tmux\nprefix: C-a\n")
    dash = _key_echo_dashboard(sessions, dashboard, home, "config.toml", '[ui]\nkeymap = "tmux"\n')
    dash.send("\x02")  # the built-in tmux's prefix is an ordinary key in the person's tmux
    dash.wait("got '\\x02'")
    dash.send("\x01?")  # C-a ? : help, with the built-in tmux's bindings
    dash.wait("keys (tmux)")
    assert "split-right" in dash.text()


def test_config_prefix_in_tmux_spelling_is_the_dashboards_prefix(sessions, dashboard, home):
    # [ui] prefix takes every spelling a keymap takes: C-b here, as in keymaps/tmux.yaml.
    dash = _key_echo_dashboard(sessions, dashboard, home, "config.toml", '[ui]\nprefix = "C-b"\n')
    dash.send("\x1d")  # the default keymap's own prefix is an ordinary key now
    dash.wait("got '\\x1d'")
    dash.send("\x02\x02")  # the prefix twice sends it to the agent
    dash.wait("got '\\x02'")
    dash.send("\x02?")  # C-b ? : help
    dash.wait("keys (default)")
    assert "split-right" in dash.text()


def test_send_prefix_sends_the_bytes_of_a_prefix_that_is_no_control_key(sessions, dashboard, home):
    # send-prefix encodes the prefix as send-keys does: F5 is ESC [15~, not nothing.
    dash = _key_echo_dashboard(sessions, dashboard, home, "keymap.yaml", "prefix: F5\n")
    dash.send("\x1b[15~\x1b[15~")
    dash.wait("got '\\x1b[15~'")


def test_prefix_twice_sends_the_prefix_and_modified_keys_arrive_exactly(sessions, dashboard):
    sessions("alpha", "python3", "-c", _KEY_ECHO)
    dash = dashboard()
    dash.wait("KEYS-READY")
    dash.send(PREFIX + PREFIX)
    dash.wait("got '\\x1d'")
    dash.send("\x1b[13;2u")  # Shift+Enter as kitty/foot/ghostty send it
    dash.wait("got '\\x1b[13;2u'")
    dash.send("\x1b[27;5;9~")  # Ctrl+Tab in xterm's modifyOtherKeys form
    dash.wait("got '\\x1b[27;5;9~'")
    dash.send("\x1b[1;5A")  # Ctrl+Up
    dash.wait("got '\\x1b[1;5A'")


def test_bracketed_paste_and_application_cursor_follow_the_agent(sessions, dashboard):
    sessions("alpha", "python3", "-c", _KEY_ECHO, "--modes")
    dash = dashboard()
    dash.wait("KEYS-READY")
    dash.settle()
    dash.send("\x1b[200~pasted\ntext\x1b[201~")
    dash.wait("got '\\x1b[200~pasted\\ntext\\x1b[201~'")
    dash.send("\x1b[A")  # Up from the outer terminal, in normal cursor mode
    dash.wait("got '\\x1bOA'")


def refused_keymap(dashboard, home, sessions, text: str) -> str:
    """What `nono mux` printed when it stopped over a user keymap holding `text`."""
    config = home.parent / "config" / "nono"
    config.mkdir(parents=True, exist_ok=True)
    (config / "keymap.yaml").write_text(text)
    sessions("alpha")
    dash = dashboard()
    dash.exit()
    return dash.raw.decode(errors="replace")


def test_malformed_keymap_is_refused_naming_file_line_and_key(dashboard, home, sessions):
    output = refused_keymap(dashboard, home, sessions, "bindings:\n  d: detach\n  q: explode\n")
    assert "keymap.yaml:3" in output and "explode" in output and "--default-keys" in output
    forced = dashboard("--default-keys")
    forced.wait("READY-alpha")
    forced.wait("keymap.yaml:3")


def test_default_keys_are_nonos_own_when_the_persons_default_keymap_is_broken(
    dashboard, home, sessions
):
    # The person's keymaps/default.yaml is the default keymap; --default-keys must still reach
    # nono's own, or a broken file of theirs would leave no way in.
    keymaps = home.parent / "config" / "nono" / "keymaps"
    keymaps.mkdir(parents=True)
    (keymaps / "default.yaml").write_text("prefix: C-a\nbindings:\n  q: explode\n")
    sessions("alpha")
    refused = dashboard()
    refused.exit()
    assert "default.yaml:3" in refused.raw.decode(errors="replace")
    forced = dashboard("--default-keys")
    forced.wait("READY-alpha")
    forced.wait("default.yaml:3")
    forced.send(PREFIX + "?")  # ctrl-] ? : nono's own default keys
    forced.wait("keys (default)")


def test_a_saved_layout_that_is_corrupt_is_kept_aside_and_said(sessions, dashboard, home):
    sessions("alpha")
    state = home.parent / "state" / "nono"
    state.mkdir(parents=True, exist_ok=True)
    (state / "mux-layout.json").write_text('{"version": 1, "tree": {"pane": 3}}')
    dash = dashboard(cols=160)
    dash.wait("READY-alpha")
    dash.wait("is corrupt")
    kept = list(state.glob("mux-layout.json.corrupt-*"))
    assert len(kept) == 1 and '"pane": 3' in kept[0].read_text()


def test_a_supervisor_that_dies_and_a_session_stopped_elsewhere_are_shown(
    sessions, dashboard, nono, home
):
    sessions("alpha")
    sessions("beta")
    dash = dashboard(cols=140)
    dash.wait("READY-beta")
    nono("stop", "alpha")
    dash.wait("exited(")
    beta = json.loads(nono("inspect", "beta", "--json").stdout)
    os.kill(beta["supervisor_pid"], signal.SIGKILL)
    dash.wait("supervisor")
    header = next(line for line in dash.lines() if "beta" in line and "─" in line)
    assert "lost" in header or "exited" in header
    # Both stay on screen, readable, until closed.
    assert "READY-alpha" in dash.text() and "READY-beta" in dash.text()


def test_stop_asks_first_and_restart_reruns_the_same_command(sessions, dashboard, nono):
    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    dash.prefix("x")
    dash.wait("stop alpha? (y/n)")
    dash.send("n")
    dash.wait_gone("stop alpha?")
    assert json.loads(nono("inspect", "alpha", "--json").stdout)["state"] == "running"
    dash.prefix("x")
    dash.wait("stop alpha? (y/n)")
    dash.send("y")
    dash.wait("exited(")
    dash.prefix("R")
    dash.wait(lambda t: "exited(" not in t and t.count("READY-alpha") >= 1)
    running = [r for r in json.loads(nono("ps", "--json").stdout) if r["name"] == "alpha"]
    assert len(running) == 1


def test_synchronize_types_into_every_pane(sessions, dashboard, nono):
    sessions("alpha")
    sessions("beta")
    dash = dashboard()
    dash.wait("READY-beta")
    dash.prefix("S")
    dash.wait("SYNC")
    dash.type_line("echo both-$((2+3))")
    dash.wait(lambda t: t.count("both-5") >= 2)
    assert "both-5" in nono("capture", "alpha").stdout
    assert "both-5" in nono("capture", "beta").stdout


def test_terminal_too_small_for_the_layout_says_so(sessions, dashboard):
    for name in ("a1", "a2", "a3", "a4"):
        sessions(name)
    dash = dashboard(cols=100, rows=30)
    dash.wait("READY-a4")
    dash.resize(4, 12)  # four tiled panes need 5 columns (2 + separator + 2)
    dash.wait(lambda t: "toosmallforthislayout:itneeds5x5" in "".join(t.split()))
    dash.resize(100, 30)
    dash.wait("READY-a4")


def test_nono_attach_elsewhere_can_watch_or_take_over(sessions, dashboard, workspace):
    from tests.mux_helpers import Dashboard as _  # noqa: F401  (same PTY helper style)

    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    import pexpect

    watcher = pexpect.spawn(
        "python3", ["-m", "nono", "attach", "alpha", "--read-only"], cwd=str(workspace),
        env=dict(os.environ, TERM="xterm"), dimensions=(24, 80),
    )  # fmt: skip
    try:
        watcher.expect("READY-alpha", timeout=10)
    finally:
        watcher.terminate(force=True)
    thief = pexpect.spawn(
        "python3", ["-m", "nono", "attach", "alpha", "--steal"], cwd=str(workspace),
        env=dict(os.environ, TERM="xterm"), dimensions=(24, 80),
    )  # fmt: skip
    try:
        thief.expect("READY-alpha", timeout=10)
        dash.wait("watching")
    finally:
        thief.terminate(force=True)


def test_a_pane_taken_over_elsewhere_is_taken_back_when_that_client_leaves(
    sessions, dashboard, workspace
):
    import pexpect

    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    thief = pexpect.spawn(
        "python3", ["-m", "nono", "attach", "alpha", "--steal"], cwd=str(workspace),
        env=dict(os.environ, TERM="xterm"), dimensions=(24, 80),
    )  # fmt: skip
    try:
        thief.expect("READY-alpha", timeout=10)
        dash.wait("watching")
        thief.send(b"\x1dd")  # the other terminal detaches
        thief.expect(pexpect.EOF, timeout=10)
    finally:
        thief.terminate(force=True)
    dash.wait(lambda t: "watching" not in t)
    dash.type_line("echo back-$((40+2))")
    dash.wait("back-42")  # the dashboard's keys reach the agent again


# A program that prints what it reads, one read at a time, as repr: what the agent received.
_KEY_ECHO = r"""
import os, sys, termios, tty
fd = sys.stdin.fileno()
tty.setraw(fd)
if "--modes" in sys.argv:
    sys.stdout.write("\x1b[?2004h\x1b[?1h")
if "--mouse" in sys.argv:
    sys.stdout.write("\x1b[?1000h\x1b[?1006h")
sys.stdout.write("KEYS-READY\r\n")
sys.stdout.flush()
while True:
    data = os.read(fd, 1024)
    if not data:
        break
    sys.stdout.write("got %r\r\n" % data.decode("utf-8", "replace"))
    sys.stdout.flush()
"""


def test_wheel_scrolls_the_output_into_copy_mode_and_mouse_reports_reach_agents_that_ask(
    sessions, dashboard, nono
):
    sessions("lines", "sh", "-c", "seq -f 'row-%04g' 1 300; exec bash --norc --noprofile -i")
    dash = dashboard()
    dash.wait("row-0300")
    y, x, _ = dash.headers()[0]
    for _ in range(3):
        dash.send(f"\x1b[<64;{x + 5};{y + 5}M")  # wheel up
    dash.wait(lambda t: re.search(r"\[\d+/\d+\]", t) is not None)
    offset = int(re.search(r"\[(\d+)/", dash.text()).group(1))
    assert offset >= 3
    assert "row-0300" not in pane_text(dash, "lines")  # the output scrolled, not the shell
    for _ in range(40):
        dash.send(f"\x1b[<65;{x + 5};{y + 5}M")  # wheel down to the bottom leaves copy mode
    dash.wait(lambda t: re.search(r"\[\d+/\d+\]", t) is None)
    nono("stop", "lines", "--force")
    sessions("mouse", "python3", "-c", _KEY_ECHO, "--mouse")
    dash.wait(lambda t: "mouse" in dash.status())  # started elsewhere: listed at once
    dash.prefix("n")  # next-session: show it in this pane
    dash.wait("KEYS-READY")
    y, x, _ = next(h for h in dash.headers() if h[2] == "mouse")
    dash.send(f"\x1b[<0;{x + 4};{y + 3}M")  # a click at column 4, row 2 of the mouse pane
    dash.wait("got '\\x1b[<0;4;2M'")


def test_dragging_a_border_resizes_the_panes(sessions, dashboard, nono):
    sessions("left")
    dash = dashboard(cols=100, rows=30)
    dash.wait("READY-left")
    dash.prefix("%")
    dash.wait("new pane profile:")
    dash.send("\r\r\x15bash --norc --noprofile -i\r")
    dash.wait(lambda t: len(dash.headers()) == 2)
    column = next(h for h in dash.headers() if h[1] > 0)[1] - 1  # the separator
    dash.send(f"\x1b[<0;{column + 1};10M")  # press on the separator
    dash.send("\x1b[<32;31;10M")  # drag to column 30 (0-based)
    dash.send("\x1b[<0;31;10m")
    dash.wait(lambda t: any(h[1] == 31 for h in dash.headers()))
    dash.prefix("o")  # from the new pane back to the left one
    assert stty_size(dash, "left", nono) == (30, 28)


def test_a_bell_or_output_in_an_unfocused_pane_marks_it(sessions, dashboard, nono):
    sessions("focus")
    sessions("other")
    dash = dashboard()
    dash.wait("READY-other")
    dash.settle(1.2)  # past the quiet time after attaching
    nono("send-keys", "other", "-l", "printf 'ding\\a\\n'")
    nono("send-keys", "other", "Enter")
    dash.wait(lambda t: re.search(r"\d+:other!", dash.status()) is not None)
    assert re.search(r"\d+:focus\*", dash.status())


def test_copy_a_selection_then_paste_it_into_the_agent(sessions, dashboard, nono):
    sessions("alpha", "bash", "-c", "echo copy-this-'word'; exec bash --norc --noprofile -i")
    dash = dashboard()
    dash.wait("copy-this-word")
    dash.prefix("[")
    dash.wait(lambda t: re.search(r"\[\d+/\d+\]", t) is not None)
    dash.send("?")
    dash.send("copy-this\r")
    dash.send("v")  # begin selection at the match
    dash.send("$")  # to the end of the line
    dash.send("y")  # copy, leave copy mode
    dash.wait(lambda t: re.search(r"\[\d+/\d+\]", t) is None)
    assert b"\x1b]52;c;" in dash.raw  # OSC 52 for the system clipboard
    dash.send("echo pasted:")
    dash.prefix("]")
    dash.send("\r")
    deadline = time.monotonic() + 10
    while "pasted:copy-this-word" not in nono("capture", "alpha").stdout.replace(" ", ""):
        assert time.monotonic() < deadline, nono("capture", "alpha").stdout
        dash.pump(0.1)


def test_attach_an_existing_session_into_a_new_pane_and_close_it_again(sessions, dashboard, nono):
    sessions("shown")
    dash = dashboard()
    dash.wait("READY-shown")
    sessions("hidden")
    dash.prefix("s")
    dash.wait("attach a session")
    assert "hidden" in dash.text()
    dash.send("\r")
    dash.wait("READY-hidden")
    assert len(dash.headers()) == 2
    dash.prefix("X")  # close-pane: the pane goes, the session stays
    dash.wait(lambda t: len(dash.headers()) == 1)
    assert json.loads(nono("inspect", "hidden", "--json").stdout)["state"] == "running"
    assert "hidden" in dash.status()


def test_window_titles_are_shown_on_the_pane_border(sessions, dashboard, nono):
    sessions("titled")
    dash = dashboard()
    dash.wait("READY-titled")
    nono("send-keys", "titled", "-l", "printf '\\033]0;building-stuff\\007'")
    nono("send-keys", "titled", "Enter")
    dash.wait(lambda t: "building-stuff" in t.splitlines()[0])


def test_mux_new_starts_a_sandboxed_session_straight_into_the_dashboard(
    sessions, dashboard, nono, workspace
):
    sessions("older")
    dash = dashboard("new", "--name", "fresh", "--block-net", "--allow-cwd", "--", *SHELL)
    dash.wait(lambda t: any(h[2] == "fresh" for h in dash.headers()))
    assert "net:off" in dash.text()
    dash.type_line("echo typed-into-fresh")
    dash.wait("typed-into-fresh")
    fresh = json.loads(nono("inspect", "fresh", "--json").stdout)
    assert fresh["network"] == "blocked" and str(workspace) in fresh["sandbox"]["writable"]
    assert "typed-into-fresh" in nono("capture", "fresh").stdout


def test_a_saved_layout_naming_sessions_that_are_gone_is_said_and_the_rest_shown(
    sessions, dashboard, home
):
    alive = sessions("alive")
    state = home.parent / "state" / "nono"
    layout = {"horizontal": True, "children": [{"pane": alive}, {"pane": "0123456789ab"}],
              "weights": [1, 1]}  # fmt: skip
    (state / "mux-layout.json").write_text(
        json.dumps({"version": 1, "tree": layout, "focus": "0123456789ab"})
    )
    dash = dashboard(cols=120)
    dash.wait("READY-alive")
    dash.wait("no longer exist")
    assert len(dash.headers()) == 1


def test_a_keymap_binding_one_key_twice_is_refused_naming_both_lines(dashboard, home, sessions):
    output = refused_keymap(dashboard, home, sessions, "bindings:\n  C-x: zoom\n  ctrl-x: detach\n")
    assert "keymap.yaml:3" in output and "line 2" in output


def test_keys_resize_the_focused_pane_and_layouts_cycle(sessions, dashboard, nono):
    sessions("alpha")
    sessions("beta")
    dash = dashboard(cols=100, rows=30)
    dash.wait("READY-beta")
    dash.send(PREFIX + "\x1b1")  # even-horizontal: side by side, as tmux splits 100 columns
    dash.wait(lambda t: sorted(h[1] for h in dash.headers()) == [0, 50])
    dash.send(PREFIX + "\x1b[1;5C")  # C-Right: the focused (left) pane's edge moves right
    dash.wait(lambda t: sorted(h[1] for h in dash.headers()) == [0, 51])
    assert stty_size(dash, "alpha", nono) == (50, 28)
    dash.prefix(" ")  # next-layout after even-horizontal: even-vertical
    dash.wait(lambda t: [h[1] for h in dash.headers()] == [0, 0])


def test_with_no_sessions_the_dashboard_offers_to_start_one(dashboard, nono, workspace):
    dash = dashboard()
    dash.wait("new pane profile: default")
    dash.send("\r\r\x15bash --norc --noprofile -i\r")
    dash.wait(lambda t: len(dash.headers()) == 1 and "bash-5" in t)
    records = json.loads(nono("ps", "--json").stdout)
    assert len(records) == 1 and records[0]["workdir"] == str(workspace)
    nono("stop", records[0]["id"], "--force")


def test_an_exited_pane_stays_readable_across_detach_and_reopen(sessions, dashboard):
    sessions("quitter", "sh", "-c", "echo last-'words'; read x; exit 3")
    dash = dashboard()
    dash.wait("last-words")
    dash.type_line("bye")
    dash.wait("exited(3)")
    dash.prefix("d")
    dash.exit()
    again = dashboard()
    again.wait("exited(3)")
    assert "last-words" in pane_text(again, "quitter")
