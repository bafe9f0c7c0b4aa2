"""Records real programs (vim, less, top, a bash session, git log) into the terminal corpus.

`python tests/term_corpus/record.py [NAME...]` writes tests/term_corpus/NAME.in for each
recording (all of them by default); then `python tests/term_corpus/regen.py NAME...` writes
the NAME.expected files from those bytes.

Each program runs in a real PTY of 80x24 (the corpus size) with a fixed environment:
TERM=xterm-256color, LANG=C.UTF-8, TZ=UTC, HOME a fresh temporary directory (no user rc files,
history or viminfo), a fixed PS1 for bash, no system git config. The files the programs show
are generated there, the same every time: a 200-line Python file with long lines and UTF-8/CJK
text, and a git repository whose commits have fixed authors and dates. Scripted keystrokes
are sent with pauses between them, and every byte the program writes to the PTY (after the
line discipline's output processing, as a terminal receives it) is kept.

The recorder plays the terminal: what the program writes is fed to a TerminalModel, whose
replies to queries (device attributes, cursor position) are written back, as nono does.

Recordings are not byte-for-byte reproducible (timing splits redraws differently; top shows
live processes), which does not matter: NAME.expected is regenerated from the same NAME.in.
For the full-screen programs that leave the alternate screen when they quit (vim, less),
NAME.in stops just before the quit key: the quit is still sent so the program exits cleanly,
but the corpus compares the screen the program drew, not the blank one it restores.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from nono.term import TerminalModel

CORPUS = Path(__file__).resolve().parent
COLS, ROWS = 80, 24
LIMIT = 200 * 1024  # keep each NAME.in small
PS1 = r"\[\e[1;32m\]nono@corpus\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ "
QUIET = 0.12  # a step ends once the program has been silent this long...
MAX_WAIT = 3.0  # ...or after this long, for programs that never go quiet (top)


@dataclass(frozen=True)
class Step:
    """Read output for `pause` seconds (and, if `settle`, until the program goes quiet), then
    send `keys`."""

    pause: float
    keys: bytes = b""
    cut: bool = False  # NAME.in ends with what the program wrote before these keys
    settle: bool = True


def keys(*chunks: str | bytes, pause: float = 0.25) -> list[Step]:
    return [Step(pause, c.encode() if isinstance(c, str) else c) for c in chunks]


def typed(line: str, pause: float = 0.25, per_key: float = 0.01) -> list[Step]:
    """A command line typed a key at a time, as a person would, then Enter."""
    first, *rest = line
    following = [Step(per_key, c.encode(), settle=False) for c in [*rest, "\r"]]
    return [Step(pause, first.encode()), *following]


@dataclass(frozen=True)
class Recording:
    name: str
    argv: list[str]
    steps: list[Step]
    cwd: str = "."  # relative to HOME
    env: dict[str, str] = field(default_factory=dict)


# Fixtures: the files the programs show.


def python_file() -> str:
    """200 lines of Python: a few long lines (one wraps twice), CJK, accents, an emoji."""
    lines = ['"""Inventory of things: a file for the terminal corpus recordings."""', ""]
    lines += ["from __future__ import annotations", "", "import dataclasses", "import sys", ""]
    n = 0
    while len(lines) < 196:
        n += 1
        lines += [
            "",
            "@dataclasses.dataclass",
            f"class Item{n}:",
            f'    """Item number {n}: 中文字符 {n}, café, naïve."""',
            "",
            "    name: str",
            f"    count: int = {n * 7 % 23}",
            "",
            "    def describe(self) -> str:",
        ]
        if n % 4 == 1:
            long = ", ".join(f"{key}={{self.{key}!r}}" for key in ("name", "count") * 4)
            lines.append(f'        return f"Item{n}({long}) — 漢字仮名交じり文 and more text"')
        elif n % 4 == 2:
            lines.append(f'        return "表示 {n} 🚀 " + self.name  # 한국어 주석')
        else:
            lines.append(f"        return self.name * {n}")
        lines += ["", "    def total(self) -> int:", f"        return self.count + {n}"]
    lines = lines[:196]
    lines += ["", "", 'if __name__ == "__main__":', "    sys.exit(0)"]
    assert len(lines) == 200
    return "\n".join(lines) + "\n"


def make_repo(repo: Path, env: dict[str, str]) -> None:
    """A small repository with a merged branch and a tag, hashes fixed by fixed dates."""
    repo.mkdir()

    def git(*args: str, day: int = 1) -> None:
        date = f"2024-03-{day:02d}T12:{day:02d}:00+00:00"
        dated = {**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        subprocess.run(["git", *args], cwd=repo, env=dated, check=True, capture_output=True)

    def commit(path: str, text: str, message: str, day: int) -> None:
        (repo / path).write_text(text, encoding="utf-8")
        git("add", path)
        git("commit", "-q", "-m", message, day=day)

    git("init", "-q", "-b", "main")
    base = "def greet(name):\n    return 'hello ' + name\n"
    commit("greet.py", base, "Add greet", 1)
    commit("README.md", "# Greeter\n\nSays hello.\n", "Add a README", 2)
    git("tag", "v0.1")
    git("checkout", "-q", "-b", "feature")
    comma = base.replace("'hello '", "'hello, '")
    commit("greet.py", comma, "Greet with a comma", 3)
    commit("i18n.py", "GREETINGS = {'zh': '你好', 'fr': 'salut ça va'}\n", "Add greetings", 4)
    git("checkout", "-q", "main")
    commit("README.md", "# Greeter\n\nSays hello, politely.\n", "README: politely", 5)
    git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature", day=6)
    git("tag", "-a", "v1.0", "-m", "Version 1.0", day=6)
    commit("greet.py", comma + "\n\ndef bye(name):\n    return 'bye ' + name\n", "Add bye", 7)
    git("checkout", "-q", "-b", "wip")
    commit("notes.txt", "todo: everything\n", "WIP notes", 8)
    git("checkout", "-q", "main")


def make_home(home: Path, env: dict[str, str]) -> None:
    (home / "example.py").write_text(python_file(), encoding="utf-8")
    demo = home / "demo"
    demo.mkdir()
    for name in ("notes.txt", "report.md", "archive.tar.gz", "photo.png", "中文.txt"):
        (demo / name).write_text(f"{name}\n", encoding="utf-8")
    (demo / "build").mkdir()
    (demo / "src").mkdir()
    run = demo / "run.sh"
    run.write_text("#!/bin/sh\necho run\n")
    run.chmod(0o755)
    (demo / "link").symlink_to("notes.txt")
    (demo / "broken").symlink_to("missing")
    make_repo(home / "repo", env)


# The recordings.


def bash_session() -> list[Step]:
    colours = (
        r"printf '\e[1;31mbold red\e[0m \e[4;32munderlined green\e[0m \e[7mreverse\e[0m "
        r"\e[38;5;208m256-colour\e[0m \e[38;2;10;200;255mtruecolour\e[0m\n'"
    )
    long = "echo " + " ".join(f"word{i}" for i in range(30))  # typed past the right edge
    scroll = r"for i in $(seq 30); do printf '\e[3%dmline %02d\e[0m of output\n' $((i%8)) $i; done"
    # `clear` comes first: it also erases the history (E3), which the corpus compares.
    return [
        Step(0.5),
        *typed("echo before clear"),
        *typed("clear"),
        *typed("cd demo && ls --color=always"),
        *typed("ls -F --color=always | cat -n"),
        *typed(colours),
        *typed(long),
        *typed("echo 中文 and café é 🙂 done"),
        *typed(scroll),
        *keys("\x1b[A", pause=0.3),  # recall the loop,
        *keys("\x01", "\x1b[C" * 4, "\x0b", pause=0.05),  # edit it away: C-a, right, C-k
        *keys("\x15", pause=0.05),  # C-u
        *typed("ec", pause=0.1)[:-1],  # no Enter: Tab completes "echo "
        *keys("\t", pause=0.05),
        *typed("done"),
        *typed("exit", pause=0.3),
    ]


RECORDINGS = [
    Recording(
        "rec_vim",
        ["vim", "-N", "-u", "DEFAULTS", "--noplugin", "-i", "NONE", "-n", "example.py"],
        [
            Step(1.0),
            *keys("12j", "w", "w", "/describe\r", "n", "\x04", "\x04", "5k", "$"),
            *keys("o# inserted: 中文 and café\x1b", "ggj", ":set number\r", "/漢字\r", "zt"),
            Step(0.4, b":q!\r", cut=True),
        ],
    ),
    Recording(
        "rec_less",
        ["less", "example.py"],
        [
            Step(0.8),
            *keys(" ", "j", "j", "j", "/class Item1\r", "n", "G", "g", "/中文\r"),
            Step(0.4, b"q", cut=True),
        ],
    ),
    # top stays on the main screen and leaves its last refresh there when it quits.
    Recording("rec_top", ["top", "-d", "0.5"], [Step(1.4), Step(0.6, b"q")]),
    Recording("rec_bash", ["bash", "--norc", "--noprofile", "-i"], bash_session()),
    Recording(
        "rec_git_log",
        ["bash", "--norc", "--noprofile", "-i"],
        [
            Step(0.5),
            *typed("git log --color=always --graph --oneline --decorate --all"),
            *typed("git log -p --color=always", pause=0.4),  # in less -FRX, git's default
            *keys(" ", "q", pause=0.5),
            *typed("exit", pause=0.3),
        ],
        cwd="repo",
    ),
]


def environment(home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "USER": "nono",
        "LOGNAME": "nono",
        "SHELL": "/bin/bash",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PS1": PS1,
        "HISTFILE": str(home / ".bash_history"),
        "LESSHISTFILE": "-",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada Lovelace",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada Lovelace",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }


def spawn(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, int]:
    """The program's pid and the PTY master, the PTY sized COLS x ROWS before it starts."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.login_tty(slave)
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(slave)
    return pid, master


class Session:
    """Reads everything a program writes, answering its queries like a terminal would."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.out = bytearray()
        self.terminal = TerminalModel(COLS, ROWS)
        self.closed = False

    def read(self, pause: float, settle: bool = True) -> None:
        """Read for `pause` seconds, then, if `settle`, until QUIET seconds pass with no output."""
        start = time.monotonic()
        last = start
        while not self.closed:
            now = time.monotonic()
            quiet = not settle or now - last >= QUIET or now - start >= pause + MAX_WAIT
            if now - start >= pause and quiet:
                return
            ready, _, _ = select.select([self.master], [], [], 0.005)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: the program exited and the PTY closed
                data = b""
            if not data:
                self.closed = True
                return
            self.out += data
            last = time.monotonic()
            self.terminal.feed(data)
            if replies := self.terminal.take_replies():
                os.write(self.master, replies)

    def send(self, keys: bytes) -> None:
        if keys and not self.closed:
            os.write(self.master, keys)


def record(recording: Recording, home: Path, env: dict[str, str]) -> bytes:
    pid, master = spawn(recording.argv, home / recording.cwd, {**env, **recording.env})
    session = Session(master)
    cut = None
    try:
        for step in recording.steps:
            session.read(step.pause, step.settle)
            if step.cut:
                cut = len(session.out)
            session.send(step.keys)
        deadline = time.monotonic() + 5
        while not session.closed and time.monotonic() < deadline:
            session.read(0.1)
    finally:
        if not session.closed:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(master)
    return bytes(session.out[:cut])


def main(argv: list[str], log: Callable[[str], None] = print) -> int:
    chosen = [r for r in RECORDINGS if not argv or r.name in argv]
    if unknown := set(argv) - {r.name for r in RECORDINGS}:
        raise SystemExit(f"no such recording: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="nono-term-record-") as tmp:
        home = Path(tmp).resolve()
        env = environment(home)
        make_home(home, env)
        for recording in chosen:
            data = record(recording, home, env)
            if len(data) > LIMIT:
                raise SystemExit(f"{recording.name}: {len(data)} bytes, over {LIMIT}")
            CORPUS.joinpath(f"{recording.name}.in").write_bytes(data)
            log(f"wrote {recording.name}.in ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
