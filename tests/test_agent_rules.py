"""The agents' screen rules (agents/KIND.yaml) held to the real screens they are for, and a bad
agents file refused with its file and line.

tests/fixtures/agents/KIND-STATE-WHAT.txt are screens of the real CLIs (versions and how each was
reached in its first line; made by record.py beside them, with the fake model API of
tests/fakeapi.py), as nono's terminal model shows them at 120x40: a header of two lines (what
it is; the cursor), then the 40 rows. The state a fixture must be read as is in its name; the
rule that must say it is below.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from nono.session import rules
from nono.session.rules import AgentRulesError

FIXTURES = Path(__file__).parent / "fixtures" / "agents"
KINDS = ("claude-code", "codex", "gemini", "opencode")

# The rule each recorded screen must be matched by (a new fixture needs a line here).
RULE = {
    "claude-code-idle-finished": "claude-code.prompt",
    "claude-code-idle-rejected": "claude-code.prompt",
    "claude-code-idle-start": "claude-code.prompt",
    "claude-code-waiting-offline": "claude-code.onboarding",
    "claude-code-waiting-onboarding-apikey": "claude-code.onboarding",
    "claude-code-waiting-onboarding-security": "claude-code.onboarding",
    "claude-code-waiting-onboarding-theme": "claude-code.onboarding",
    "claude-code-waiting-permission": "claude-code.permission",
    "claude-code-waiting-permission-write": "claude-code.permission",
    "claude-code-waiting-trust": "claude-code.trust",
    "claude-code-working-thinking": "claude-code.working",
    "codex-idle-approved": "codex.prompt",
    "codex-idle-finished": "codex.prompt",
    "codex-idle-start": "codex.prompt",
    "codex-waiting-approval": "codex.approval",
    "codex-waiting-hooks-review": "codex.hooks-review",
    "codex-waiting-onboarding-browser": "codex.onboarding",
    "codex-waiting-onboarding-signin": "codex.onboarding",
    "codex-working-thinking": "codex.working",
    "gemini-waiting-onboarding-auth": "gemini.onboarding",
    "gemini-waiting-onboarding-code": "gemini.onboarding",
    "gemini-waiting-onboarding-trust": "gemini.onboarding",
    "opencode-idle-start": "opencode.prompt",
}

# What the matched row must say: the question itself, not a banner above it.
ROW = {
    "claude-code-waiting-offline": "Unable to connect to Anthropic services",
    "claude-code-waiting-onboarding-apikey": "Do you want to use this API key?",
    "claude-code-waiting-onboarding-theme": "Choose the text style",
    "claude-code-waiting-permission": "Do you want to proceed?",
    "claude-code-waiting-permission-write": "Do you want to create notes.txt?",
    "codex-waiting-approval": "Would you like to run the following command?",
    "codex-waiting-onboarding-browser": "Finish signing in via your browser",
    "codex-waiting-hooks-review": "Hooks need review",
    "codex-working-thinking": "esc to interrupt",
}


def screen(path: Path) -> tuple[list[str], int]:
    """A fixture's 40 rows and the cursor's row."""
    text = path.read_text(encoding="utf-8").split("\n")
    cursor = re.fullmatch(r"# cursor (\d+),(\d+); 120x40", text[1])
    assert text[0].startswith("# ") and cursor, f"{path.name}: bad header"
    lines = text[2:42]
    assert len(lines) == 40, f"{path.name} has {len(lines)} rows"
    return lines, int(cursor.group(2))


def expected(name: str) -> tuple[str, str]:
    found = re.fullmatch(rf"({'|'.join(KINDS)})-(working|waiting|idle)-[\w-]+", name)
    assert found, f"{name}: not KIND-STATE-WHAT"
    return found.group(1), found.group(2)


def test_every_recorded_screen_says_which_rule_reads_it():
    assert sorted(p.stem for p in FIXTURES.glob("*.txt")) == sorted(RULE)


@pytest.mark.parametrize("name", sorted(RULE))
def test_a_recorded_screen_is_read_as_the_state_in_its_name(name):
    kind, state = expected(name)
    lines, cursor_row = screen(FIXTURES / f"{name}.txt")
    found = rules.match_screen(rules.load(kind), lines, cursor_row)
    assert found is not None, f"no rule of {kind} reads {name}"
    assert (found.rule.state, found.rule.name) == (state, RULE[name]), found.text
    assert found.text == lines[found.row].strip()
    if name in ROW:
        assert ROW[name] in found.text


@pytest.mark.parametrize("kind", ["claude-code", "codex"])
def test_a_working_screen_is_never_waiting_and_a_question_never_working(kind):
    """Each rule alone, over every recorded screen of its kind: a waiting rule never reads a
    working screen, a working rule never reads a question (first match or not)."""
    loaded = rules.load(kind)
    for path in sorted(FIXTURES.glob(f"{kind}-*.txt")):
        _, state = expected(path.stem)
        lines, cursor_row = screen(path)
        for rule in loaded.rules:
            if rule.state == state:
                continue
            one = rules.AgentRules(kind, (rule,))
            wrong = rules.match_screen(one, lines, cursor_row)
            if {rule.state, state} == {"working", "waiting"}:
                assert wrong is None, f"{rule.name} reads {path.name} as {rule.state}: {wrong}"


def test_codex_approval_already_answered_is_not_waiting():
    # "✔ You approved codex to run ..." stays on screen after the prompt; a loose "approve"
    # read it as a question still open (the state that sticks).
    lines, cursor_row = screen(FIXTURES / "codex-idle-approved.txt")
    assert any("You approved codex" in line for line in lines)
    found = rules.match_screen(rules.load("codex"), lines, cursor_row)
    assert found is not None and found.rule.state == "idle"


def test_claudes_own_words_in_the_transcript_are_not_a_permission_prompt():
    lines, cursor_row = screen(FIXTURES / "claude-code-idle-finished.txt")
    said = lines.index(next(line for line in lines if line.startswith("● Done.")))
    lines[said] = "● Do you want to proceed with the refactor, or keep it as it is?"
    found = rules.match_screen(rules.load("claude-code"), lines, cursor_row)
    assert found is not None and found.rule.name == "claude-code.prompt"


# ---------------------------------------------------------------- a bad agents file


@pytest.fixture
def user_agents(home: Path) -> Path:
    directory = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "agents"
    directory.mkdir(parents=True)
    return directory


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("rules:\n  - name: q\n    state: waiting\n    match: x\n    colour: red\n",
         ":5", "colour"),
        ("rules:\n  - name: q\n    state: waiting\n    match: '(unclosed'\n",
         ":4", "not a valid regular expression"),
        ("rules:\n  - name: q\n    state: asleep\n    match: x\n",
         ":3", "must be one of working, waiting, idle"),
        ("bell: loud\n", ":1", "must be one of waiting, idle, ignore"),
        ("notifications:\n  - {match: x, state: done}\n", ":2", "state"),
        ("rules: yes\n", ":1", "must be a list"),
        ("rules:\n  - name: 'two words'\n    state: idle\n    match: x\n", ":2", "name"),
    ],
)  # fmt: skip
def test_a_bad_agents_file_is_refused_with_its_file_and_line(user_agents, text, where, says):
    path = user_agents / "my-agent.yaml"
    path.write_text(text)
    with pytest.raises(AgentRulesError) as refused:
        rules.load("my-agent")
    message = str(refused.value)
    assert message.startswith(f"{path}{where}:"), message
    assert says in message


def test_agents_files_extending_each_other_in_a_loop_are_refused(user_agents):
    (user_agents / "one.yaml").write_text("extends: two\n")
    (user_agents / "two.yaml").write_text("# the other half\nextends: one\n")
    with pytest.raises(AgentRulesError, match=r"extends itself \(one -> two -> one\)") as refused:
        rules.load("one")
    assert str(refused.value).startswith(f"{user_agents / 'one.yaml'}:1:")


def test_an_unknown_parent_is_refused_naming_the_known_ones(user_agents):
    (user_agents / "mine.yaml").write_text("extends: nosuch\n")
    with pytest.raises(AgentRulesError, match="no agents file named 'nosuch'") as refused:
        rules.load("mine")
    assert "claude-code" in (refused.value.hint or "")


def test_a_users_file_shadows_the_built_in_one(user_agents):
    lines, cursor_row = screen(FIXTURES / "claude-code-waiting-permission.txt")
    builtin = rules.load("claude-code")
    assert rules.match_screen(builtin, lines, cursor_row).rule.state == "waiting"

    mine = user_agents / "claude-code.yaml"
    mine.write_text("extends: none\nrules:\n  - {name: mine, state: idle, match: 'Bash command'}\n")
    shadowed = rules.load("claude-code")
    assert shadowed.files == (str(mine),)
    found = rules.match_screen(shadowed, lines, cursor_row)
    assert (found.rule.name, found.rule.state) == ("claude-code.mine", "idle")


def test_a_users_file_extending_its_own_name_adds_to_the_built_in_one(user_agents):
    mine = user_agents / "claude-code.yaml"
    mine.write_text("extends: claude-code\nrules:\n  - {name: mine, state: idle, match: zzz}\n")
    loaded = rules.load("claude-code")
    assert loaded.files[0] == str(mine)
    assert loaded.files[1].endswith("agents/claude-code.yaml") and loaded.files[1] != str(mine)
    names = [r.name for r in loaded.rules]
    assert names[0] == "claude-code.mine" and "claude-code.permission" in names
    lines, cursor_row = screen(FIXTURES / "claude-code-waiting-permission.txt")
    found = rules.match_screen(loaded, lines, cursor_row)
    assert found.rule.name == "claude-code.permission"  # the built-in rules still read it
