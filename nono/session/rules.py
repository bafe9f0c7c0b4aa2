"""What an agent kind's screen and notifications mean: `agents/KIND.yaml`, read with positions.

A profile names its agent kind (`agent.kind`); the supervisor of a session whose command is
that agent reads the kind's file to tell its activity state from what it shows and says. A
person's `~/.config/nono/agents/KIND.yaml` shadows the built-in one (as profiles and keymaps),
and a file may say `extends: OTHER` to add its rules before OTHER's. Every kind extends
`default` unless it says otherwise (`extends: none`): the rules any program's prompts share.

    extends: default
    bell: waiting                 # what a BEL means here: waiting, idle or ignore (the default)
    notifications:                # OSC 9 / 777;notify / 99 text -> state; first match wins;
      - {match: 'waiting for your input', state: idle}   # one that none matches: waiting
    rules:                        # the screen, looked at when output pauses; first match wins
      - name: permission
        state: waiting            # working, waiting or idle
        match: 'Do you want to (proceed|make this edit)'   # a Python regular expression
        rows: 20                  # searched in the bottom 20 non-blank rows (default 12)
        cursor: false             # true: only the row the cursor is on

A rule is named `KIND.NAME` wherever nono explains a state (`nono inspect`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nono import paths
from nono.errors import FileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from nono.userfile import Map

RULE_STATES = ("working", "waiting", "idle")
BELL_MEANINGS = ("waiting", "idle", "ignore")
DEFAULT_ROWS = 12
_TOP_KEYS = ("extends", "bell", "notifications", "rules")
_RULE_KEYS = ("name", "state", "match", "rows", "cursor")
_NOTE_KEYS = ("match", "state")


class AgentRulesError(FileError):
    """An agents/KIND.yaml that cannot be used."""


@dataclass(frozen=True)
class Rule:
    name: str  # KIND.NAME
    state: str
    pattern: re.Pattern[str]
    rows: int
    cursor: bool


@dataclass(frozen=True)
class NotificationRule:
    pattern: re.Pattern[str]
    state: str


@dataclass(frozen=True)
class AgentRules:
    kind: str
    rules: tuple[Rule, ...] = ()
    notifications: tuple[NotificationRule, ...] = ()
    bell: str = "ignore"
    files: tuple[str, ...] = ()  # what was read, most specific first

    def notification_state(self, text: str) -> str:
        """What a notification with this text means (waiting when no rule says otherwise)."""
        for note in self.notifications:
            if note.pattern.search(text):
                return note.state
        return "waiting"


@dataclass(frozen=True)
class Match:
    rule: Rule
    row: int  # 0-based screen row
    text: str  # the row's text


def match_screen(rules: AgentRules, lines: list[str], cursor_row: int) -> Match | None:
    """The first rule (in file order) that matches the screen's bottom rows, and where.

    `lines` are the screen's rows as text. A rule looks at the last `rows` rows that are not
    blank (a full-screen agent's prompt sits above empty rows), bottom up, so that it finds
    what was drawn last."""
    filled = [y for y, line in enumerate(lines) if line.strip()]
    for rule in rules.rules:
        if rule.cursor:
            candidates = [cursor_row] if 0 <= cursor_row < len(lines) else []
        else:
            candidates = filled[-rule.rows :][::-1]
        for y in candidates:
            if rule.pattern.search(lines[y]):
                return Match(rule, y, lines[y].strip())
    return None


# ---------------------------------------------------------------- finding and reading


def builtin_dir() -> Path:
    import nono.agents  # package data, as profiles

    return Path(nono.agents.__file__).parent


def user_dir() -> Path:
    return paths.config_dir() / "agents"


def find(kind: str, *, skip: Path | None = None) -> Path | None:
    for directory in (user_dir(), builtin_dir()):
        path = directory / f"{kind}.yaml"
        if path.is_file() and path != skip:
            return path
    return None


def available() -> list[str]:
    names = {p.stem for d in (user_dir(), builtin_dir()) if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names)


def load(kind: str | None) -> AgentRules:
    """The rules for an agent kind (None: any program, `default`). A kind without a file of its
    own gets the default rules: a profile may name a kind nono has no rules for yet."""
    name = kind or "default"
    path = find(name)
    if path is None:
        path = find("default")
        if path is None:
            return AgentRules(name)
    return _load(path, name, ())


def _load(path: Path, kind: str, stack: tuple[Path, ...]) -> AgentRules:
    own = _own(path)
    file, stem = str(path), path.stem
    base = AgentRules(kind)
    extends = own["extends"]
    if extends not in (None, "none"):

        def fail(message: str, hint: str | None = None) -> AgentRulesError:
            return AgentRulesError(file, message, line=own["extends_line"], key="extends",
                                   hint=hint)  # fmt: skip

        if path in stack or len(stack) > 8:
            raise fail(f"extends itself ({' -> '.join(p.stem for p in (*stack, path))})")
        # A user file that extends its own name extends the built-in one it shadows.
        parent = find(extends, skip=path) if extends == stem else find(extends)
        if parent is None:
            raise fail(f"no agents file named {extends!r}", f"known: {', '.join(available())}")
        base = _load(parent, kind, (*stack, path))
    rules = tuple(Rule(f"{stem}.{name}", state, re.compile(match), rows, cursor)
                  for name, state, match, rows, cursor in own["rules"])  # fmt: skip
    notes = tuple(NotificationRule(re.compile(match), state) for match, state in own["notes"])
    return AgentRules(kind, rules + base.rules, notes + base.notifications,
                      own["bell"] or base.bell, (file, *base.files))  # fmt: skip


# A file's own rules, checked, keyed by its path and content hash: `nono run` checks the rules
# of every session it starts, and parsing YAML (PyYAML's import above all) would cost its
# start-up more than the rest of the check, as profiles' cache says. The cache lives in nono's
# private state directory, which no sandbox is ever granted.
_CACHE_VERSION = 1
_CACHE_FILE = "agents.json"
_OWN_KEYS = {"extends", "extends_line", "bell", "rules", "notes"}


def _own(path: Path) -> dict[str, Any]:
    """What the file itself says, checked (every problem with its line): extends (and its
    line), bell (None: as the file it extends says), rules and notifications as plain data."""
    import hashlib

    from nono import userfile

    file = str(path)
    text = userfile.read_text(path, AgentRulesError) or ""
    key, digest = str(path.absolute()), hashlib.sha256(text.encode()).hexdigest()
    cache = paths.read_cache(_CACHE_FILE)
    hit = cache.get(key)
    if isinstance(hit, dict) and hit.get("sha256") == digest and hit.get("v") == _CACHE_VERSION:
        own = hit.get("own")
        if isinstance(own, dict) and own.keys() >= _OWN_KEYS:
            return own
    source = userfile.Source(file, AgentRulesError)
    doc = userfile.parse_yaml(text, source, invalid="not valid YAML")
    if doc is None:
        doc = userfile.Map(source)
    if not isinstance(doc, userfile.Map):
        raise AgentRulesError(file, "must be a mapping", hint="see agents/default.yaml")
    doc.check_keys(_TOP_KEYS)
    extends = doc.get("extends", None if path.stem == "default" else "default")
    if extends is not None and not isinstance(extends, str):
        doc.fail("extends", "must be the name of another agents file, or none")
    bell = doc.get("bell")
    if bell is not None and bell not in BELL_MEANINGS:
        doc.fail("bell", f"must be one of {', '.join(BELL_MEANINGS)}")
    own = {
        "extends": extends, "extends_line": doc.line_of("extends"), "bell": bell,
        "rules": [_rule(item, i) for i, item in enumerate(_items(doc, "rules"))],
        "notes": [_note(item) for item in _items(doc, "notifications")],
    }  # fmt: skip
    cache[key] = {"v": _CACHE_VERSION, "sha256": digest, "own": own}
    paths.write_cache(_CACHE_FILE, cache)
    return own


def _items(doc: Map, key: str) -> list[Map]:
    from nono import userfile

    value = doc.get(key, [])
    if not isinstance(value, list):
        doc.fail(key, f"must be a list, not {userfile.type_name(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, userfile.Map):
            line = value.item_lines[i] if isinstance(value, userfile.List) else None
            raise doc.source.error("each entry must be a mapping", line=line, key=f"{key}[{i}]")
    return value


def _regex(item: Map, key: str) -> str:
    """The text of a regular expression, once it is known to compile."""
    text = item.get(key)
    if not isinstance(text, str) or not text:
        item.fail(key, "must be a regular expression (a non-empty string)")
    try:
        re.compile(text)
    except re.error as exc:
        item.fail(key, f"not a valid regular expression: {exc}")
    return text


def _state(item: Map, choices: tuple[str, ...]) -> str:
    state = item.get("state")
    if state not in choices:
        item.fail("state", f"must be one of {', '.join(choices)}")
    return str(state)


def _rule(item: Map, index: int) -> list[Any]:
    item.check_keys(_RULE_KEYS)
    name = item.get("name", f"rule{index + 1}")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        item.fail("name", "must be a word (letters, digits, - and _)")
    rows = item.get("rows", DEFAULT_ROWS)
    if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= 500:
        item.fail("rows", "must be a number of rows from 1 to 500")
    cursor = item.get("cursor", False)
    if not isinstance(cursor, bool):
        item.fail("cursor", "must be true or false")
    return [name, _state(item, RULE_STATES), _regex(item, "match"), rows, cursor]


def _note(item: Map) -> list[str]:
    item.check_keys(_NOTE_KEYS)
    return [_regex(item, "match"), _state(item, RULE_STATES)]
