"""An interactive shell in the sandbox, driven through a real PTY and read back through pyte."""

from __future__ import annotations

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

    def expect(self, pattern: str) -> None:
        self.child.expect(pattern)
        self.stream.feed(self.child.before + self.child.after)

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
        term.expect(r"sbx\$ ")
        term.type("echo made > made.txt; cat made.txt\r")
        term.expect(r"sbx\$ ")
        term.type(f"cat {home}/.ssh/id_ed25519; stty size; echo $NONO_PROFILE\r")
        term.expect(r"sbx\$ ")
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
        term.expect(r"sbx\$ ")
        term.type("sleep 30\r")
        term.child.expect("sleep 30")
        term.type("\x03")
        term.expect(r"sbx\$ ")  # the shell survived ^C and prompts again: nono did too
        term.type("echo alive\r")
        term.expect("alive")
        term.type("exit\r")
        term.child.expect(pexpect.EOF)
    finally:
        term.child.close(force=True)
