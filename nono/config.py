"""The user's settings, ~/.config/nono/config.toml: load it, check it, default what is missing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from nono.errors import FileError, NonoError
from nono.paths import config_dir

# typing costs `nono attach` ~5 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ConfigError(FileError):
    """A config file that cannot be used."""


@dataclass(frozen=True)
class UIConfig:
    """[ui]: how the user talks to nono from inside an attached session or the multiplexer."""

    detach_sequence: str = "ctrl-] d"
    prefix: str = "ctrl-]"
    keymap: str = "default"
    # OSC 52 clipboard writes from an attached agent: "write" lets them reach the terminal,
    # "off" drops them. Reads of the clipboard are never let through.
    clipboard: str = "write"


@dataclass(frozen=True)
class RollbackConfig:
    """[rollback]: how many rollbacks to keep, and how much disk they may use."""

    keep: int = 20
    max_total_mb: int = 2048
    older_than_days: float = 30.0


@dataclass(frozen=True)
class Config:
    """Everything config.toml can set, with the defaults for what it leaves out."""

    ui: UIConfig = field(default_factory=UIConfig)
    rollback: RollbackConfig = field(default_factory=RollbackConfig)
    # The dotted keys the file set, e.g. "ui.prefix": a prefix set by the user beats the
    # keymap's own, the default one does not.
    explicit: frozenset[str] = frozenset()

    @property
    def detach_keys(self) -> tuple[bytes, ...]:
        """The detach sequence as the bytes of each key, for keys.SequenceMatcher."""
        from nono.keys import sequence_bytes

        return sequence_bytes(self.ui.detach_sequence)


CLIPBOARD_CHOICES = ("write", "off")
_SECTIONS: dict[str, type] = {"ui": UIConfig, "rollback": RollbackConfig}


def config_path() -> Path:
    """$XDG_CONFIG_HOME/nono/config.toml, looked up at each call so tests can move it."""
    return config_dir() / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read and check the config file; a missing file means every default."""
    path = config_path() if path is None else path
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(file, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(file, "not UTF-8 text") from None
    import tomllib  # only when there is a file: most runs have none, and start faster

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = _split_toml_error(str(exc), text)
        raise ConfigError(
            file, f"invalid TOML: {message}", line=line, key=_key_on_line(text, line)
        ) from None
    return _build(doc, _Source(file, text))


# ---------------------------------------------------------------- checking


@dataclass(frozen=True)
class _Source:
    file: str
    text: str

    def error(
        self, section: str | None, key: str, message: str, hint: str | None = None
    ) -> ConfigError:
        dotted = f"{section}.{key}" if section else key
        line = _line_of(self.text, section, key)
        return ConfigError(self.file, message, line=line, key=dotted, hint=hint)


def _build(doc: dict[str, Any], src: _Source) -> Config:
    sections: dict[str, Any] = {}
    for name, body in doc.items():
        if name not in _SECTIONS:
            if not isinstance(body, dict):
                raise src.error(None, name, "unknown key", _home_of(name))
            raise src.error(None, name, "unknown section", _did_you_mean(name, _SECTIONS))
        if not isinstance(body, dict):
            raise src.error(None, name, f"must be a table ([{name}]), got {_kind(body)}")
        sections[name] = _build_section(name, _SECTIONS[name], body, src)
    explicit = frozenset(f"{name}.{key}" for name, body in doc.items() for key in body)
    config = Config(**sections, explicit=explicit)
    _check_keys(config, src)
    return config


def _build_section(name: str, cls: type, body: dict[str, Any], src: _Source) -> Any:
    known = {f.name: f for f in fields(cls)}
    for key, value in body.items():
        if key not in known:
            hint = _did_you_mean(key, known, prefix=f"{name}.")
            raise src.error(name, key, "unknown key", hint)
        wanted = known[key].type
        if wanted == "str" and not isinstance(value, str):
            raise src.error(name, key, f"must be a string, got {_kind(value)}")
        if wanted in ("int", "float"):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if not numeric or (wanted == "int" and not isinstance(value, int)) or value < 0:
                raise src.error(name, key, f"must be a non-negative {wanted}, got {_kind(value)}")
    return cls(**body)


def _check_keys(config: Config, src: _Source) -> None:
    from nono.keys import sequence_bytes

    ui = config.ui
    try:
        detach = sequence_bytes(ui.detach_sequence)
    except NonoError as exc:
        raise src.error("ui", "detach_sequence", exc.message, exc.hint) from None
    if len(detach) < 2:
        # One key would take that key away from the agent for good.
        raise src.error(
            "ui",
            "detach_sequence",
            f"must be at least two keys (a prefix, then a key), got {ui.detach_sequence!r}",
            'e.g. detach_sequence = "ctrl-] d"',
        )
    if detach[1] == detach[0]:
        # Pressing the prefix twice sends it once to the agent; this sequence would detach
        # instead and leave no way to type the prefix key into the agent.
        raise src.error(
            "ui",
            "detach_sequence",
            "the second key must differ from the first",
            'e.g. detach_sequence = "ctrl-] d"',
        )
    try:
        prefix = sequence_bytes(ui.prefix)
        if len(prefix) == 1 and "ui.prefix" in config.explicit:
            # The dashboard must tell it from other keys too (said here, with its line).
            from nono.mux.keynames import token_presses

            token_presses(ui.prefix)
    except NonoError as exc:
        raise src.error("ui", "prefix", exc.message, exc.hint) from None
    if len(prefix) != 1:
        raise src.error(
            "ui", "prefix", f"must be one key, got {ui.prefix!r}", 'e.g. prefix = "ctrl-]"'
        )
    if ui.clipboard not in CLIPBOARD_CHOICES:
        raise src.error(
            "ui",
            "clipboard",
            f'must be "write" or "off", got {ui.clipboard!r}',
            'e.g. clipboard = "off" to keep agents out of the clipboard',
        )
    if not ui.keymap.strip():
        raise src.error("ui", "keymap", "must not be empty", 'e.g. keymap = "default"')


def _home_of(key: str) -> str:
    """Hint for a setting written outside any section, e.g. prefix = ... above [ui]."""
    for section, cls in _SECTIONS.items():
        if key in {f.name for f in fields(cls)}:
            return f"put it under [{section}]"
    return "settings go in a section: " + ", ".join(f"[{s}]" for s in _SECTIONS)


def _did_you_mean(word: str, choices: Any, prefix: str = "") -> str:
    import difflib

    # Compared without case: [UI] or Prefix are typos too.
    lowered = {str(c).lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1)
    if close:
        return f"did you mean {prefix}{lowered[close[0]]}?"
    return "known: " + ", ".join(f"{prefix}{c}" for c in choices)


def _kind(value: Any) -> str:
    # TOML's own names for its types, which is what the user wrote.
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "float"), (str, "string")):
        if isinstance(value, kind):
            return name
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return "date/time"


# ---------------------------------------------------------------- finding lines
# tomllib keeps no positions, so a semantic error finds its line by scanning the text.
# Good enough for hand-written files: tables, plain/quoted keys, dotted keys.

_TOML_POS = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)$")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]*?)\s*\]\]?\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*[=.]""")


def _split_toml_error(message: str, text: str) -> tuple[str, int | None]:
    found = _TOML_POS.search(message)
    if not found:
        return message, None
    if found.group(1):
        return message[: found.start()], int(found.group(1))
    # "at end of document": point at the last line that has anything on it.
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    return message[: found.start()], (lines[-1] if lines else 1)


def _unquote(name: str) -> str:
    return name[1:-1] if name[:1] in "\"'" else name


def _key_on_line(text: str, line: int | None) -> str | None:
    """The dotted key (or table) a syntax error's line defines, to name it in the message."""
    if not line:
        return None
    section = None
    for number, row in enumerate(text.splitlines(), 1):
        header = _HEADER.match(row)
        if number == line:
            if header:
                return header.group(1) or None
            key = _KEY_LINE.match(row)
            if not key:
                return None
            name = _unquote(key.group(1))
            return f"{section}.{name}" if section else name
        if header:
            section = header.group(1)
    return None


def _line_of(text: str, section: str | None, key: str) -> int | None:
    """The line that sets `key` in [section], or that opens or sets the top-level `key`."""
    names = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
    if section is None:
        table = re.compile(rf"^\s*\[\[?\s*{names}\s*[\].]")
        own = None
        top = re.compile(rf"^\s*{names}\s*[=.]")
    else:
        sec = re.escape(section)
        table = re.compile(rf"^\s*\[\[?\s*{sec}\s*\.\s*{names}\s*[\].]")
        own = re.compile(rf"^\s*{names}\s*[=.]")
        # Outside its table a key can be written dotted (ui.prefix = ...) or inline.
        top = re.compile(rf"^\s*{sec}\s*(?:\.\s*{names}\s*[=.]|=)")
    current = None
    for number, row in enumerate(text.splitlines(), 1):
        if table.match(row):
            return number
        header = _HEADER.match(row)
        if header:
            current = header.group(1)
            continue
        pattern = top if current is None else own if current == section else None
        if pattern is not None and pattern.match(row):
            return number
    return None
