"""The real agent CLIs on their first run under their own profiles, as a new user meets them.

Each test runs the agent from npm (or pip, for Aider) in a real PTY on a fresh HOME, reads the
screen through nono's terminal model (pyte underneath; stock pyte's parser stops at Gemini's
private SGR), and checks what a person would: the agent's own login or onboarding screen, the
state it wrote, that the state persists to the next run, and that the same agent run outside
nono uses it. Without API keys every agent stops at that screen, which is all these need.
An agent that is not installed is skipped, naming how to install it (`.ci/run` installs the npm
ones).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pexpect
import pytest

from nono.session import registry
from nono.session.client import Control
from nono.session.watch import IDLE_AFTER
from nono.term.model import TerminalModel


class Agent(NamedTuple):
    profile: str
    command: str
    install: str
    screen: str  # a regular expression for its first screen
    state: tuple[str, ...]  # directories its profile creates
    identity: str  # a file its first run writes once and every later run reuses
    seconds: float = 60


AGENTS = {
    "claude-code": Agent(
        "claude-code", "claude", "npm install -g @anthropic-ai/claude-code",
        r"Welcome to Claude Code", (".claude",), ".claude/.claude.json",
    ),
    "codex": Agent(
        "codex", "codex", "npm install -g @openai/codex",
        r"Welcome to Codex|Sign in with ChatGPT", (".codex",), ".codex/installation_id",
    ),
    "gemini": Agent(
        "gemini", "gemini", "npm install -g @google/gemini-cli",
        r"Do you trust the files in this folder|How would you like to authenticate",
        (".gemini",), ".gemini/installation_id",
    ),
    "opencode": Agent(
        "opencode", "opencode", "npm install -g opencode-ai",
        # (its state directory follows XDG_STATE_HOME, which is the test's own)
        r"Ask anything", (".config/opencode", ".local/share/opencode", ".cache/opencode"),
        ".config/opencode/opencode.jsonc", seconds=120,
    ),
    "aider": Agent(
        "aider", "aider", "pipx install aider-chat",
        r"\(Y\)es/\(N\)o", (".aider",), ".aider/analytics.json",
    ),
}  # fmt: skip

SYSTEM = ("/usr/", "/bin/", "/opt/")


def find(agent: Agent) -> str:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/bin", "/usr/bin"])
    found = shutil.which(agent.command, path=path)
    if not found:
        pytest.skip(f"{agent.command} is not installed ({agent.install})")
    return found


class Terminal:
    """A command in a real 120x40 PTY; its output read through nono's terminal model."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.model = TerminalModel(120, 40)
        self.child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env, dimensions=(40, 120))

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.model.screen_lines())

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.model.feed(self.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                time.sleep(0.1)

    def wait_for(self, pattern: str, seconds: float) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.model.feed(self.child.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                break
            if re.search(pattern, self.text()):
                return self.text()
        raise AssertionError(f"{pattern!r} never appeared on screen:\n{self.text()}")

    def close(self) -> None:
        self.child.close(force=True)


def environment(home: Path, program: str) -> dict[str, str]:
    path = os.pathsep.join(dict.fromkeys([os.path.dirname(program), "/usr/local/bin", "/usr/bin",
                                          "/bin"]))  # fmt: skip
    return {
        "HOME": str(home), "PATH": path, "TERM": "xterm-256color", "LANG": "C.UTF-8",
        "XDG_STATE_HOME": os.environ["XDG_STATE_HOME"],
        "XDG_CONFIG_HOME": str(home / ".config"),
    }  # fmt: skip


def install_root(program: str) -> list[str]:
    """A `--read` for an agent installed outside the system directories (a venv of its own);
    a person's pipx or npm prefix in their home is in the profile already."""
    real = os.path.realpath(program)
    if real.startswith(SYSTEM):
        return []
    return ["--read", str(Path(real).parents[1])]


def first_screen(agent: Agent, program: str, home: Path, workspace: Path, *, inside: bool) -> str:
    env = environment(home, program)
    if inside:
        argv = [sys.executable, "-m", "nono", "run", "--profile", agent.profile, "--allow-cwd",
                *install_root(program), "--", agent.command]  # fmt: skip
    else:
        argv = [program]
    term = Terminal(argv, workspace, env)
    try:
        text = term.wait_for(agent.screen, agent.seconds)
        # Some write their state just after drawing: give it the time a person would.
        end = time.monotonic() + 15
        while not (home / agent.identity).is_file() and time.monotonic() < end:
            term.pump(0.2)
        return text
    finally:
        term.close()
        if not inside:
            end_daemons(home)


def end_daemons(home: Path) -> None:
    """Outside nono nothing ends what an agent leaves behind: Codex starts `codex app-server`
    from its home as a daemon of its own session, which outlived every run of this test. Each
    process of ours run from this test's HOME is ended (inside nono, the sandbox's init does)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            program = os.readlink(entry / "exe")
        except OSError:
            continue
        if program.startswith(f"{home}/"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


def the_persons_files(home: Path) -> dict[str, bytes]:
    """What the person had in HOME before any agent ran: every file and its content, and
    the names at the top of HOME."""
    files = {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}
    return {**files, "/": " ".join(sorted(p.name for p in home.iterdir())).encode()}


def unchanged(before: dict[str, bytes], home: Path, agent: Agent) -> list[str]:
    """What nono changed of the person's files: a file changed or gone, or a new name at the
    top of HOME that is not the agent's own (its state and caches, made by the profile)."""
    own = {Path(s).parts[0] for s in agent.state} | {".cache", ".npm", ".local", ".config"}
    changed = [name for name, data in before.items() if name != "/" and
               (not (home / name).is_file() or (home / name).read_bytes() != data)]  # fmt: skip
    top = {p.name for p in home.iterdir()} - set(before["/"].decode().split()) - own
    return changed + sorted(top)


@pytest.mark.parametrize("name", list(AGENTS))
def test_first_run_reaches_the_agents_own_screen_and_its_state_persists(name, home, workspace):
    agent = AGENTS[name]
    program = find(agent)
    before = the_persons_files(home)

    first_screen(agent, program, home, workspace, inside=True)
    for state in agent.state:
        assert (home / state).is_dir(), f"{state} was not created"
    assert stat.S_IMODE((home / agent.state[0]).stat().st_mode) == 0o700
    identity = home / agent.identity
    assert identity.is_file(), f"the first run wrote no {agent.identity}"
    written = identity.read_bytes()

    first_screen(agent, program, home, workspace, inside=True)  # the next run reuses it
    assert identity.read_bytes() == written
    assert unchanged(before, home, agent) == []

    first_screen(agent, program, home, workspace, inside=False)  # and so does the agent outside
    assert identity.read_bytes() == written


def test_claudes_existing_login_outside_nono_is_used_inside_and_not_copied(home, workspace):
    agent = AGENTS["claude-code"]
    program = find(agent)
    first_screen(agent, program, home, workspace, inside=False)  # a person's Claude, before nono
    outside = home / ".claude.json"
    user_id = json.loads(outside.read_text())["userID"]

    first_screen(agent, program, home, workspace, inside=True)
    assert outside.is_symlink() and outside.resolve() == home / ".claude" / ".claude.json"
    assert json.loads(outside.read_text())["userID"] == user_id

    first_screen(agent, program, home, workspace, inside=False)  # Claude outside follows it
    assert outside.is_symlink()
    assert json.loads((home / ".claude" / ".claude.json").read_text())["userID"] == user_id


@pytest.mark.parametrize("name", ["claude-code", "codex"])
def test_the_agents_own_sandbox_defers_to_nonos(name, nono, home):
    """The arguments the profile adds are accepted by the real CLI, and --dry-run says them."""
    agent = AGENTS[name]
    program = find(agent)
    env = {**os.environ, **environment(home, program)}
    r = nono("run", "--profile", agent.profile, "--dry-run", "--", agent.command, env=env)
    assert r.returncode == 0, r.stderr
    added = re.search(r"adds to the command: (.*)", r.stdout).group(1)
    if name == "claude-code":
        flag, settings = added.split(" ", 1)
        assert flag == "--settings" and json.loads(settings)["sandbox"] == {"enabled": False}
        assert set(json.loads(settings)["hooks"]) == {"Notification", "Stop"}
    else:
        assert added.startswith('-c sandbox_mode="danger-full-access"'), added
    r = nono("run", "--profile", agent.profile, *install_root(program), "--", agent.command,
             "--version", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    # The same profile running another program adds nothing to it.
    r = nono("run", "--profile", agent.profile, "--dry-run", "--", "sh", env=env)
    assert "adds to the command" not in r.stdout


def test_a_created_state_directory_is_said_at_start(nono, home):
    agent = AGENTS["codex"]
    r = nono("run", "--profile", agent.profile, "--", "true")
    assert r.returncode == 0, r.stderr
    assert "created ~/.codex" in r.stderr
    r = nono("run", "--profile", agent.profile, "--", "true")
    assert "created" not in r.stderr  # once
    shutil.rmtree(home / ".codex")
    r = nono("run", "--profile", agent.profile, "--silent", "--", "true")
    assert r.stderr == "" and (home / ".codex").is_dir()


# ------------------------------------------------------- the agent section, without an agent

MY_AGENT = """\
extends: default
meta: {name: my-agent}
agent:
  kind: my-agent
  commands: [echo]
  state: [~/.my-agent]
  args: [from-the-profile]
  adopt: {~/.my-agent.json: ~/.my-agent/config.json}
"""


@pytest.fixture
def my_agent(home: Path) -> Path:
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "my-agent.yaml").write_text(MY_AGENT)
    return home


def test_a_file_beside_the_state_is_moved_in_and_linked(nono, my_agent):
    beside = my_agent / ".my-agent.json"
    beside.write_text('{"login": "kept"}\n')
    beside.chmod(0o600)
    r = nono("run", "--profile", "my-agent", "--", "cat", str(beside))
    assert r.returncode == 0, r.stderr
    assert r.stdout == '{"login": "kept"}\n'  # read inside through the link
    inside = my_agent / ".my-agent" / "config.json"
    assert beside.is_symlink() and os.readlink(beside) == ".my-agent/config.json"
    assert inside.read_text() == '{"login": "kept"}\n'
    assert stat.S_IMODE(inside.stat().st_mode) == 0o600
    assert "moved ~/.my-agent.json into ~/.my-agent/config.json" in r.stderr
    r = nono("run", "--profile", "my-agent", "--", "sh", "-c", f"echo new > {inside}")
    assert r.returncode == 0, r.stderr
    assert beside.read_text() == "new\n"  # the agent outside sees what it wrote inside


def test_two_copies_are_left_alone_and_said(nono, my_agent):
    (my_agent / ".my-agent").mkdir(mode=0o700)
    (my_agent / ".my-agent.json").write_text("outside\n")
    (my_agent / ".my-agent" / "config.json").write_text("inside\n")
    r = nono("run", "--profile", "my-agent", "--", "true")
    assert "both exist" in r.stderr
    assert (my_agent / ".my-agent.json").read_text() == "outside\n"
    assert not (my_agent / ".my-agent.json").is_symlink()


def test_the_profiles_arguments_go_to_its_agent_only(nono, my_agent):
    r = nono("run", "--profile", "my-agent", "--", "echo", "typed")
    assert r.stdout == "from-the-profile typed\n"
    r = nono("run", "--profile", "my-agent", "--", "printf", "%s\\n", "typed")
    assert r.stdout == "typed\n"


def test_an_adopted_file_outside_the_agents_state_is_refused_with_its_line(nono, my_agent):
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles"
    (profiles / "my-agent.yaml").write_text(MY_AGENT.replace("~/.my-agent/config.json", "~/x"))
    r = nono("run", "--profile", "my-agent", "--", "true")
    assert r.returncode != 0
    assert (
        "my-agent.yaml:8: agent.adopt" in r.stderr and "not inside one of agent.state" in r.stderr
    )
    assert not (my_agent / ".my-agent").exists()  # nothing was done


def test_a_link_the_agent_planted_in_its_state_does_not_move_the_persons_file(nono, my_agent):
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles"
    (profiles / "my-agent.yaml").write_text(
        MY_AGENT.replace("~/.my-agent/config.json", "~/.my-agent/sub/config.json")
    )
    (my_agent / ".my-agent").mkdir(mode=0o700)
    elsewhere = my_agent / "elsewhere"
    elsewhere.mkdir()
    (my_agent / ".my-agent" / "sub").symlink_to(elsewhere)  # as an agent inside could
    (my_agent / ".my-agent.json").write_text("mine\n")
    r = nono("run", "--profile", "my-agent", "--", "true")
    assert r.returncode == 0, r.stderr
    assert "left ~/.my-agent.json where it is" in r.stderr
    assert not (my_agent / ".my-agent.json").is_symlink()
    assert list(elsewhere.iterdir()) == []


def test_an_agent_state_inside_a_secret_is_refused_before_anything_is_made(nono, home):
    # The person's own CLAUDE_CONFIG_DIR wins over the profile's: pointed into ~/.ssh (by a
    # mistake, or a planted rc line), nono refuses it and makes nothing there first.
    target = home / ".ssh" / "claude"
    r = nono("run", "--profile", "claude-code", "--", "true",
             env={**os.environ, "CLAUDE_CONFIG_DIR": str(target)})  # fmt: skip
    assert r.returncode == 1
    assert "lies inside ~/.ssh" in r.stderr
    assert not target.exists()


# ------------------------------------------- the real agents' states, as the supervisor tells


def detached(nono, agent: Agent, program: str, home: Path, env: dict[str, str], *flags: str) -> str:
    r = nono("run", "--detached", "--size", "120x40", "--profile", agent.profile, "--allow-cwd",
             *install_root(program), *flags, "--", agent.command, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[0]


def wait_state(session_id: str, state: str, seconds: float = 60) -> dict:
    """The session's activity once it is `state` (the supervisor's wait request)."""
    with Control(registry.read_record(session_id)) as control:
        answer = control.request("wait", wait=seconds, state=state)
    assert answer.get("ok") and answer["reached"] == "state", answer
    return answer["activity"]


def record_says(session_id: str, what, seconds: float = 30) -> dict:
    """The session record's activity once `what(activity)` holds for it (the record has every
    change; the event log keeps at most one a second)."""
    end = time.monotonic() + seconds
    while True:
        now = registry.read_record(session_id).activity
        if now and what(now):
            return now
        assert time.monotonic() < end, f"{session_id} never got there: {now}"
        time.sleep(0.05)


@pytest.mark.parametrize("name", ["claude-code", "codex"])
def test_the_agents_first_screen_is_waiting_never_working(name, nono, home, workspace):
    """A new user's first run stops at a login or onboarding screen: that needs the person."""
    agent = AGENTS[name]
    program = find(agent)
    env = {**os.environ, **environment(home, program)}
    if name == "claude-code":
        # A token skips the connectivity check Claude starts with, which (without network)
        # shows its error and exits; its onboarding proper, the theme choice, stays up.
        env["ANTHROPIC_AUTH_TOKEN"] = "not-a-real-token"
    session = detached(nono, agent, program, home, env)
    try:
        activity = wait_state(session, "waiting", agent.seconds)
        assert activity["source"] == "screen", activity
        assert activity["reason"].startswith(f"screen rule {name}."), activity
        r = nono("capture", session, env=env)
        assert re.search(agent.screen, r.stdout), r.stdout
        # It stays waiting while the screen is up, past the time the output layer would have
        # called it idle (its redraws, a blinking cursor or a clock are not work either).
        end = time.monotonic() + IDLE_AFTER + 2
        while time.monotonic() < end:
            now = registry.read_record(session).activity
            assert now["state"] == "waiting" and now["since"] == activity["since"], now
            time.sleep(0.2)
    finally:
        nono("stop", session, "--force", env=env)


def reach(api) -> list[str]:
    """The fake API is a server on the host's loopback: under the agent's host list it is
    reached through nono's proxy, with a rule naming its address."""
    return ["--allow-host", api.url.removeprefix("http://")]


CLAUDE_KEY = "sk-ant-api03-fake-key-for-nono-tests-0000000000000000"


def onboarded_claude(home: Path, workspace: Path) -> None:
    """What Claude Code's own onboarding leaves in its config: done, this API key approved,
    the project trusted."""
    state = home / ".claude"
    state.mkdir(mode=0o700)
    (state / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "numStartups": 1,
        "customApiKeyResponses": {"approved": [CLAUDE_KEY[-20:]], "rejected": []},
        "projects": {str(workspace): {"hasTrustDialogAccepted": True}},
    }))  # fmt: skip


def test_claudes_permission_prompt_is_waiting_and_its_hooks_say_so(nono, home, workspace):
    """Claude Code under its profile, on a local fake model API: a Bash call asks for
    permission (waiting, by the screen and then by the profile's Notification hook), the
    answer ends the turn (idle, said by its Stop hook) and the command ran; a Write prompt
    rejected with Esc leaves waiting too."""
    from fakeapi import FakeAPI

    agent = AGENTS["claude-code"]
    program = find(agent)
    onboarded_claude(home, workspace)
    with FakeAPI() as api:
        env = {**os.environ, **environment(home, program), "ANTHROPIC_BASE_URL": api.url,
               "ANTHROPIC_API_KEY": CLAUDE_KEY, "DISABLE_AUTOUPDATER": "1",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}  # fmt: skip
        session = detached(nono, agent, program, home, env, *reach(api))
        try:
            wait_state(session, "idle")
            r = nono("send-keys", session, "run: touch made-by-claude", env=env)
            assert r.returncode == 0, r.stderr
            r = nono("send-keys", session, "Enter", env=env)
            assert r.returncode == 0, r.stderr
            asked = wait_state(session, "waiting")
            assert asked["source"] == "screen", asked  # the prompt is read at once ...
            assert re.fullmatch(
                r"screen rule claude-code.permission matched row \d+ "
                r'"Do you want to proceed\?"',
                asked["reason"],
            ), asked
            # ... and Claude's Notification hook, a few seconds later, says it too: its bytes
            # reached the session's PTY from inside the sandbox.
            hooked = record_says(session, lambda a: a["source"] == "hook")
            assert hooked["state"] == "waiting", hooked
            assert hooked["reason"] == 'hook said waiting: "Claude Code asks for permission"'
            assert hooked["since"] == asked["since"]  # the same wait, better explained

            r = nono("send-keys", session, "Enter", env=env)  # 1. Yes
            assert r.returncode == 0, r.stderr
            ended = record_says(session, lambda a: a["state"] != "waiting")
            assert ended["state"] in ("working", "idle"), ended
            done = record_says(session, lambda a: "ended its turn" in a["reason"])
            assert done["state"] == "idle" and done["source"] == "hook", done
            assert (workspace / "made-by-claude").is_file()

            # A prompt rejected with Esc does not stick at waiting (nor does its hook's claim).
            notes = workspace / "notes.txt"
            r = nono("send-keys", session, f"write: {notes}", env=env)
            assert r.returncode == 0, r.stderr
            r = nono("send-keys", session, "Enter", env=env)  # (with it, a paste)
            assert r.returncode == 0, r.stderr
            asked = wait_state(session, "waiting")
            assert 'Do you want to create notes.txt?"' in asked["reason"], asked
            r = nono("send-keys", session, "Escape", env=env)
            assert r.returncode == 0, r.stderr
            after = record_says(session, lambda a: a["state"] != "waiting")
            assert after["state"] in ("working", "idle"), after
            assert wait_state(session, "idle")["state"] == "idle"
            assert not notes.exists()
        finally:
            nono("stop", session, "--force", env=env)


def test_codexs_approval_prompt_is_waiting_and_the_answer_ends_it(nono, home, workspace):
    """Codex under its profile, on a local fake model API (a provider of its own config): a
    command it asks to run outside its sandbox waits for approval; `y` runs it, the turn ends."""
    from fakeapi import FakeAPI

    agent = AGENTS["codex"]
    program = find(agent)
    with FakeAPI() as api:
        env = {**os.environ, **environment(home, program), "OPENAI_API_KEY": "not-a-real-key"}
        provider = [
            "-c", 'model_providers.fake.name="fake"',
            "-c", f'model_providers.fake.base_url="{api.url}/v1"',
            "-c", 'model_providers.fake.wire_api="responses"',
            "-c", 'model_providers.fake.env_key="OPENAI_API_KEY"',
            "-c", 'model_provider="fake"', "-c", 'model="gpt-5"',
            # Its own sandbox back on (read-only: nothing it runs needs it) for this test only,
            # so that a command asking to leave it needs the person's approval.
            "-c", 'approval_policy="on-request"', "-c", 'sandbox_mode="read-only"',
        ]  # fmt: skip
        r = nono("run", "--detached", "--size", "120x40", "--profile", agent.profile,
                 "--allow-cwd", *install_root(program), *reach(api), "--", agent.command, *provider,
                 env=env)  # fmt: skip
        assert r.returncode == 0, r.stderr
        session = r.stdout.split()[0]
        try:
            start = wait_state(session, "idle")
            assert start["reason"].startswith("screen rule codex.prompt"), start
            # (typed, then Enter on its own: Codex takes a burst with its Enter for a paste)
            r = nono("send-keys", session, "run: touch made-by-codex", env=env)
            assert r.returncode == 0, r.stderr
            r = nono("send-keys", session, "Enter", env=env)
            assert r.returncode == 0, r.stderr
            asked = wait_state(session, "waiting")
            assert re.fullmatch(r'screen rule codex.approval matched row \d+ '
                                r'"Would you like to run the following command\?"',
                                asked["reason"]), asked  # fmt: skip
            r = nono("send-keys", session, "y", env=env)
            assert r.returncode == 0, r.stderr
            record_says(session, lambda a: a["state"] != "waiting")
            done = wait_state(session, "idle")
            assert done["source"] == "screen", done
            assert (workspace / "made-by-codex").is_file()
        finally:
            nono("stop", session, "--force", env=env)


def test_claudes_hooks_never_write_into_a_file_it_reads_its_prompt_from(nono, home, workspace):
    """`claude -p < prompt.txt`: Claude's fd 0 is the person's file, not a terminal; the
    profile's Stop hook must leave it as it is (a `>` to it would empty it)."""
    from fakeapi import FakeAPI

    agent = AGENTS["claude-code"]
    program = find(agent)
    onboarded_claude(home, workspace)
    prompt = workspace / "prompt.txt"
    prompt.write_text("say hello\n")
    with FakeAPI() as api:
        env = {**os.environ, **environment(home, program), "ANTHROPIC_BASE_URL": api.url,
               "ANTHROPIC_API_KEY": CLAUDE_KEY, "DISABLE_AUTOUPDATER": "1",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}  # fmt: skip
        with prompt.open("rb") as stdin:
            r = subprocess.run(
                [sys.executable, "-m", "nono", "run", "--profile", agent.profile, "--allow-cwd",
                 *install_root(program), *reach(api), "--", agent.command, "-p"],
                cwd=workspace, env=env, stdin=stdin, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Done."
    assert any(path.endswith("/messages") for path, _ in api.requests)  # the turn ran
    assert prompt.read_text() == "say hello\n"
