"""The terminal is part of the boundary: what an attached client lets through to the user's own
terminal, and what it puts back when it leaves. The filter alone, then through the real CLI in a
real PTY (the bytes `nono attach` / `nono run` wrote, read back through pyte)."""

from __future__ import annotations

import os
import random
import re
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest

from nono.session.passthrough import OSC_LIMIT, SEQUENCE_LIMIT, Passthrough

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))


def through(data: bytes, clipboard_write: bool = True) -> bytes:
    return Passthrough(clipboard_write).feed(data)


def bytewise(data: bytes, clipboard_write: bool = True) -> bytes:
    f = Passthrough(clipboard_write)
    return b"".join(f.feed(data[i : i + 1]) for i in range(len(data)))


# What must never reach the user's terminal, each followed by text that must.
DROPPED = {
    "clipboard read": b"\x1b]52;c;?\x07",
    "clipboard read, ST": b"\x1b]52;p;?\x1b\\",
    "tmux passthrough": b"\x1bPtmux;\x1b\x1b]52;c;?\x07\x1b\\",
    "screen passthrough": b"\x1bP\x1b]52;c;?\x07\x1b\\",
    "DECRQSS": b"\x1bP$qm\x1b\\",
    "XTGETTCAP": b"\x1bP+q544e\x1b\\",
    "DECUDK (keys typing text)": b"\x1bP0;1|17/726d202d7266207e0d\x1b\\",
    "sixel": b"\x1bPq#0;2;0;0;0#1!6~-\x1b\\",
    "kitty graphics (APC)": b"\x1b_Ga=T,t=f;L2V0Yy9wYXNzd2Q=\x1b\\",
    "PM": b"\x1b^private\x1b\\",
    "SOS": b"\x1bXstring\x1b\\",
    "title report": b"\x1b[21t",
    "icon report": b"\x1b[20t",
    "window resize": b"\x1b[8;10;10t",
    "iconify": b"\x1b[2t",
    "background colour query": b"\x1b]11;?\x1b\\",
    "foreground colour query": b"\x1b]10;?\x07",
    "palette query": b"\x1b]4;1;?\x07",
    "palette set with a query": b"\x1b]4;1;#ff0000;2;?\x07",
    "font query": b"\x1b]50;?\x07",
    "iTerm2 file transfer": b"\x1b]1337;File=name=eA==;inline=0:eA==\x07",
    "cwd": b"\x1b]7;file:///etc\x07",
    "ConEmu command": b"\x1b]9;7;calc.exe\x07",
    "rxvt extension": b"\x1b]777;tabbed;new\x07",
    "screen checksum": b"\x1b[1;1;1;1;24;80*y",
    "printer controller": b"\x1b[5i",
    "leave UTF-8": b"\x1b%@",
    "VT52 mode": b"\x1b[?2l",
    "conformance level": b'\x1b[61;1"p',
    "OSC as a UTF-8 C1": b"\xc2\x9d",
    "DCS as a UTF-8 C1": b"\xc2\x90",
    "control inside a CSI": b"\x1b[2\x081t",
    "control between ESC and ]": b"\x1b\x08]52;c;?\x07",
    "cancelled CSI": b"\x1b[21\x18",
}

PASSED = {
    "text": b"hello, world\r\n",
    "UTF-8": "漢字 ✓ é 🙂".encode(),
    "SGR": b"\x1b[1;31mred\x1b[0m\x1b[38;2;1;2;3mrgb\x1b[m",
    "cursor and erase": b"\x1b[H\x1b[2J\x1b[10;5H\x1b[K\x1b[3A",
    "modes": b"\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[4h\x1b[5;10r\x1b[?6h",
    "charsets": b"\x1b(0qqq\x1b(B\x1b7\x1b8\x1b=",
    "DA and cursor report": b"\x1b[c\x1b[>c\x1b[6n",
    "DECRQM": b"\x1b[?2026$p",
    "title": b"\x1b]2;my agent\x07",
    "title stack": b"\x1b[22;0t\x1b[23;0t",
    "hyperlink": b"\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\",
    "colour set": b"\x1b]11;#101010\x07\x1b]4;1;rgb:ff/00/00\x07\x1b]104\x07",
    "notification": b"\x1b]9;build done\x07\x1b]777;notify;title;body\x07",
    "clipboard write": b"\x1b]52;c;aGVsbG8=\x07",
}


@pytest.mark.parametrize("name", sorted(DROPPED))
def test_sequences_that_act_outside_the_sandbox_are_dropped(name):
    data = b"before " + DROPPED[name] + b" after"
    # (tmux's passthrough leaves its closing ST behind, on its own: a no-op)
    assert through(data).replace(b"\x1b\\", b"") == b"before  after"
    assert bytewise(data) == through(data)


@pytest.mark.parametrize("name", sorted(PASSED))
def test_ordinary_output_passes_untouched(name):
    data = b"x" + PASSED[name] + b"y"
    assert through(data) == data
    assert bytewise(data) == data


def test_clipboard_writes_follow_the_setting():
    write = b"\x1b]52;c;aGVsbG8=\x07"
    assert through(write, clipboard_write=True) == write
    assert through(write, clipboard_write=False) == b""
    assert through(b"\x1b]52;c;?\x07", clipboard_write=True) == b""


def test_a_forwarded_title_loses_its_control_characters():
    # (a raw 8-bit C1 byte is invalid UTF-8: it becomes U+FFFD, which no terminal acts on)
    assert through(b"\x1b]2;a\r\nb\x9cc\x1b\\") == "\x1b]2;ab\ufffdc\x1b\\".encode()
    assert through("\x1b]0;t\u009bi\x07".encode()) == b"\x1b]0;ti\x07"


def test_every_split_point_gives_the_same_output():
    everything = b"".join(b"<" + seq + b">" for seq in [*DROPPED.values(), *PASSED.values()])
    whole = through(everything)
    for cut in range(1, len(everything)):
        f = Passthrough()
        assert f.feed(everything[:cut]) + f.feed(everything[cut:]) == whole, cut


def test_the_mixed_workload_passes_byte_for_byte():
    from mixed import generate

    data = generate(2)
    f = Passthrough()
    chunks = [data[i : i + 65521] for i in range(0, len(data), 65521)]
    assert b"".join(f.feed(chunk) for chunk in chunks) == data


def test_an_unterminated_string_is_bounded_and_dropped():
    f = Passthrough()
    assert f.feed(b"a\x1b]52;c;") == b"a"
    for _ in range(OSC_LIMIT // 65536 + 2):
        assert f.feed(b"A" * 65536) == b""
        assert f.osc is None or len(f.osc) <= OSC_LIMIT
    assert f.feed(b"\x07after") == b"after"
    # A dropped string keeps nothing at all while it lasts.
    f = Passthrough()
    f.feed(b"\x1bPtmux;")
    for _ in range(50):
        f.feed(b"B" * 65536)
    assert f.osc is None and f.carry == b""


def test_an_endless_csi_is_not_carried_forever():
    f = Passthrough()
    assert f.feed(b"a\x1b[" + b"1;" * 100) == b"a"
    out = f.feed(b"1;" * SEQUENCE_LIMIT)
    assert len(f.carry) <= SEQUENCE_LIMIT and b"\x1b" not in out


def test_leaving_undoes_the_modes_the_agent_set():
    f = Passthrough()
    f.feed(b"\x1b[4h\x1b[?7l\x1b[?6h\x1b[5;10r\x1b(0\x1b[>1u")
    screen = pyte.Screen(80, 24)
    stream = pyte.ByteStream(screen)
    stream.feed(b"\x1b[4h\x1b[?7l\x1b[?6h\x1b[5;10r\x1b(0")
    stream.feed(f.restore())
    assert pyte.modes.IRM not in screen.mode
    assert pyte.modes.DECAWM in screen.mode
    assert pyte.modes.DECOM not in screen.mode
    assert screen.margins is None
    assert b"\x1b[<1u" in f.restore()


def test_leaving_keeps_the_cursor_where_the_agent_left_it_when_nothing_confined_it():
    f = Passthrough()
    f.feed(b"\x1b[4h\x1b[?7l")
    screen = pyte.Screen(80, 24)
    pyte.ByteStream(screen).feed(b"line\r\nline\r\nab" + f.restore())
    assert (screen.cursor.y, screen.cursor.x) == (2, 2)


# ---------------------------------------------------------------- through the CLI


class Terminal:
    """A nono client in a real PTY; everything it writes is kept and fed to pyte."""

    def __init__(self, args: list[str], cwd: Path, rows: int = 24, cols: int = 80) -> None:
        self.raw = b""
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        argv = ["-m", "nono", *args]
        self.child = pexpect.spawn(sys.executable, argv, cwd=str(cwd), env=dict(os.environ),
                                   dimensions=(rows, cols), timeout=15)  # fmt: skip

    def pump_until(self, marker: bytes, seconds: float = 15) -> None:
        end = time.monotonic() + seconds
        while marker not in self.raw:
            if time.monotonic() > end:
                raise AssertionError(f"{marker!r} never came; got {self.raw[-800:]!r}")
            try:
                data = self.child.read_nonblocking(65536, timeout=0.1)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                raise AssertionError(f"{marker!r} never came; got {self.raw[-800:]!r}") from None
            self.raw += data
            self.stream.feed(data)

    def finish(self) -> None:
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=10)
            except pexpect.EOF:
                break
            self.raw += data
            self.stream.feed(data)
        self.child.close()

    def close(self) -> None:
        self.child.close(force=True)


@pytest.fixture
def detached(nono):
    started: list[str] = []

    def start(script: str) -> str:
        r = nono("run", "--detached", "--size", "80x24", "--allow-cwd", "--", "sh", "-c", script)
        assert r.returncode == 0, r.stderr
        started.append(r.stdout.split()[0])
        return started[-1]

    yield start
    for session_id in started:
        nono("stop", session_id, "--force")


ATTACK = (
    "printf '\\033]52;c;?\\007\\033]52;c;aGVsbG8=\\007\\033Ptmux;\\033\\033]52;c;?\\007\\033\\\\'"
    "; printf '\\033P+q544e\\033\\\\\\033[21t\\033]11;?\\007\\033[31mMARK\\033[0m\\n'"
)


def _attach_after_typing(sid: str, workspace: Path) -> Terminal:
    term = Terminal(["attach", sid], workspace)
    term.pump_until(b"waiting")
    term.child.send(b"go\r")  # the agent writes its sequences only now, to this client
    term.pump_until(b"MARK")
    return term


def test_attached_agent_cannot_read_the_clipboard_or_reach_past_a_multiplexer(detached, workspace):
    sid = detached(f"echo waiting; read x; {ATTACK}; sleep 60")
    term = _attach_after_typing(sid, workspace)
    try:
        assert b"\x1b]52;c;?" not in term.raw
        assert b"\x1bP" not in term.raw and b"\x1b[21t" not in term.raw
        assert b"\x1b]11;?" not in term.raw
        # The control: the clipboard write and the colour reached the terminal.
        assert b"\x1b]52;c;aGVsbG8=\x07" in term.raw
        assert b"\x1b[31mMARK" in term.raw
    finally:
        term.close()


def test_clipboard_off_drops_clipboard_writes_too(detached, workspace, home):
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "nono"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[ui]\nclipboard = "off"\n')
    sid = detached(f"echo waiting; read x; {ATTACK}; sleep 60")
    term = _attach_after_typing(sid, workspace)
    try:
        assert b"]52;" not in term.raw
        assert b"\x1b[31mMARK" in term.raw
    finally:
        term.close()


MODES = "printf '\\033[4h\\033[?7l\\033[?6h\\033[5;10r'"


def _assert_modes_restored(screen: pyte.Screen) -> None:
    assert pyte.modes.IRM not in screen.mode, "insert mode left on"
    assert pyte.modes.DECAWM in screen.mode, "autowrap left off"
    assert pyte.modes.DECOM not in screen.mode, "origin mode left on"
    assert screen.margins is None, f"scroll region left at {screen.margins}"


def test_detach_puts_the_terminals_modes_back(detached, workspace):
    sid = detached(f"echo waiting; read x; {MODES}; echo MARK; sleep 60")
    term = _attach_after_typing(sid, workspace)
    try:
        # The agent's modes reached the terminal (so there is something to undo).
        assert pyte.modes.IRM in term.screen.mode and term.screen.margins is not None
        term.child.send(b"\x1dd")
        term.finish()
        _assert_modes_restored(term.screen)
        assert "[detached from session" in "\n".join(term.screen.display)
        # The user's title was saved before the agent's output and is taken back after it.
        assert term.raw.index(b"\x1b[22;0t") < term.raw.index(b"MARK")
        assert term.raw.rindex(b"\x1b[23;0t") > term.raw.rindex(b"MARK")
    finally:
        term.close()


def test_an_attached_run_that_ends_puts_the_terminals_modes_back(workspace):
    term = Terminal(["run", "--allow-cwd", "--", "sh", "-c", f"{MODES}; echo MARK"], workspace)
    try:
        term.pump_until(b"MARK")
        term.finish()
        _assert_modes_restored(term.screen)
    finally:
        term.close()


def test_leaving_gives_back_the_users_title_and_keyboard():
    f = Passthrough()
    assert f.enter() == b"\x1b[22;0t"  # the user's title, saved before the agent's first byte
    f.feed(b"\x1b]2;agent title\x07\x1b[22;0t\x1b]2;another\x07\x1b[>1u\x1b[>4;2m")
    leave = f.restore()
    # One pop for the agent's push, one for the client's own: the user's title is back.
    assert leave.endswith(b"\x1b[23;0t\x1b[23;0t")
    assert b"\x1b[<1u" in leave and b"\x1b[>4m" in leave
    # Keyboard modes pushed on the alternate screen go with it: nothing to pop then.
    f = Passthrough()
    f.feed(b"\x1b[?1049h\x1b[>1u")
    assert b"\x1b[<" not in f.restore() and b"\x1b[?1049l" in f.restore()


def test_an_osc_ended_by_the_next_sequence_is_closed_and_both_pass():
    # ESC ends a string whatever follows it; the title goes out closed with ST.
    whole = through(b"\x1b]2;title\x1b[1mX")
    assert whole == b"\x1b]2;title\x1b\\\x1b[1mX"
    f = Passthrough()
    assert f.feed(b"\x1b]2;title") + f.feed(b"\x1b[1mX") == whole


def test_a_dropped_sequence_cannot_join_a_c1_control_out_of_the_bytes_around_it():
    # 0xC2, then a sequence the filter drops, then 0x9D: passed as they are, the two ends
    # would meet as U+009D, an OSC that reads the clipboard.
    for middle in (b"\x1b[21t", b"\x1bPx\x1b\\", b"\x1b\x80", b"\xc2\x90", b"\xe0\x1b%@"):
        data = b"a\xc2" + middle + b"\x9d52;c;?\x07b"
        assert b"\xc2\x9d" not in through(data), middle
        assert b"\xc2\x9d" not in bytewise(data), middle


FRAGMENTS = [
    *(b"\x1b [ ] P _ ^ X % ? ; \\ 1 2 t q y i m * tmux; hello".split()),
    b"52;c;", b"0;title", b"21t", b"?6h", b"\x1b[?1049h", b"\x1b\\", b"\x07", b"\x18", b"\x08",
    b"\x7f", b"\xc2", b"\x9d", b"\x90", b"\x9c", b"\x9b", b"\xe0", b"\xc0", b"\x80", b"\xbf",
    "漢".encode(), b" ",
]  # fmt: skip
NEVER_OUT = re.compile(
    rb"\x1b[P_^X%]|\xc2[\x80-\x9f]|[\xc0\xc1][\x80-\xbf]|\xe0[\x80-\x9f]"
    rb"|\x1b\]52;[^;\x07\x1b]*;\?|\x1b\[2[01]t|\x1b\[[0-9;]*[iy]"
)


def test_random_streams_never_let_a_string_a_query_or_a_c1_through():
    rng = random.Random(11)
    for _ in range(3000):
        data = b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40)))
        whole = through(data)
        assert not NEVER_OUT.search(whole), (data, whole)
        cut = rng.randint(0, len(data))
        f = Passthrough()
        assert f.feed(data[:cut]) + f.feed(data[cut:]) == whole, (data, cut)
        assert bytewise(data) == whole, data
        assert through(whole) == whole, data  # what went out passes again unchanged
