"""An interactive shell in the sandbox, driven through a real PTY and read back through pyte."""

from __future__ import annotations

import contextlib
import sys

import pexpect
import pyte


class Terminal:
    """A person at an 80x24 terminal: types, waits for output, reads the screen."""

    def __init__(self, argv: list[str], cwd, env) -> None:
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env,
                                   dimensions=(24, 80), timeout=20)  # fmt: skip

    def expect(self, text: str, seconds: float = 15) -> None:
        """Wait until `text` is on the screen (the screen, not the byte stream: a replay may
        draw a prompt with cursor moves instead of the bytes the shell wrote)."""
        import time

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with contextlib.suppress(pexpect.TIMEOUT):
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.1))
            if text in "\n".join(self.screen.display):
                return
        raise AssertionError(f"{text!r} never appeared:\n" + "\n".join(self.screen.display))

    def expect_count(self, text: str, count: int) -> None:
        import time

        end = time.monotonic() + 15
        while time.monotonic() < end:
            with contextlib.suppress(pexpect.TIMEOUT):
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.1))
            if "\n".join(self.screen.display).count(text) >= count:
                return
        raise AssertionError(f"{text!r} x{count} never appeared")

    def type(self, text: str) -> None:
        self.child.send(text)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]


def test_claude_code_profile_gives_a_usable_shell(workspace, home):
    import os

    env = {**os.environ, "TERM": "xterm-256color", "PS1": "sbx$ "}
    term = Terminal([sys.executable, "-m", "nono", "run", "--profile", "claude-code",
                     "--allow-cwd", "--", "bash", "--noprofile", "--norc", "-i"],
                    workspace, env)  # fmt: skip
    try:
        term.expect("sbx$")
        term.type("echo made > made.txt; cat made.txt\r")
        term.expect_count("sbx$", 2)
        term.type(f"cat {home}/.ssh/id_ed25519; stty size; echo $NONO_PROFILE\r")
        term.expect_count("sbx$", 3)
        screen = "\n".join(term.lines())
        assert "made" in screen
        assert (workspace / "made.txt").read_text() == "made\n"
        assert "Permission denied" in screen
        assert "PRIVATE" not in screen
        assert "24 80" in screen
        assert "claude-code" in screen
        term.type("exit 7\r")
        term.child.expect(pexpect.EOF)
        term.child.close()
        assert term.child.exitstatus == 7
    finally:
        term.child.close(force=True)


def test_ctrl_c_reaches_the_child_not_nono(workspace):
    import os

    env = {**os.environ, "TERM": "xterm", "PS1": "sbx$ "}
    term = Terminal([sys.executable, "-m", "nono", "run", "--", "bash", "--norc", "-i"],
                    workspace, env)  # fmt: skip
    try:
        term.expect("sbx$")
        term.type("sleep 30\r")
        term.expect("sleep 30")
        term.type("\x03")
        term.expect_count("sbx$", 2)  # the shell survived ^C and prompts again: nono did too
        term.type("echo alive\r")
        term.expect_count("alive", 2)
        term.type("exit\r")
        term.child.expect(pexpect.EOF)
    finally:
        term.child.close(force=True)


def test_an_interactive_run_says_it_is_sandboxed_and_offers_a_prompt_marker(workspace, home):
    import os

    env = {**os.environ, "TERM": "xterm-256color", "PS1": "$ "}
    argv = [sys.executable, "-m", "nono", "run", "--profile", "codex", "--allow-cwd", "--",
            "bash", "--noprofile", "--norc", "-i"]  # fmt: skip
    term = Terminal(argv, workspace, env)
    try:
        # (Codex's profile lists the 4 hosts it needs: issue 16's host list)
        term.expect("nono: sandboxed (codex), network 4 hosts, detach ctrl-] d; writable:")
        assert "writable:~/project,~/.codex" in "".join(term.lines()).replace(" ", "")
        term.type('PS1="$NONO_PS1$PS1"\r')
        term.expect("[nono:codex] $")
        term.type("exit\r")
        term.child.expect(pexpect.EOF)
    finally:
        term.child.close(force=True)
    term = Terminal([*argv[:4], "--silent", *argv[4:]], workspace, env)
    try:
        term.expect("$ ")
        assert not any("nono:" in line for line in term.lines())
    finally:
        term.child.close(force=True)
