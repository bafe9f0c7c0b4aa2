"""The user's settings, ~/.config/nono/config.toml: load it, check it, default what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from nono import userfile
from nono.errors import FileError, NonoError
from nono.paths import config_file
from nono.userfile import did_you_mean, type_name

# typing costs `nono attach` ~5 ms to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from nono.remote.hosts import Host
    from nono.userfile import Map


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
class NotifyConfig:
    """[notify]: how the dashboard says that a session it does not show needs the person."""

    bell: bool = True  # the outer terminal's bell
    desktop: bool = True  # OSC 9 and OSC 777;notify, which terminals turn into notifications
    # An argv run for each notice (no shell): the notice's text is appended as one argument;
    # NONO_SESSION, NONO_STATE and NONO_REASON carry its parts.
    command: tuple[str, ...] = ()


@dataclass(frozen=True)
class MuxConfig:
    """[mux]: what the dashboard shows besides this machine's sessions."""

    # The hosts ([hosts.NAME] or user@host) whose sessions `nono mux` shows too.
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Everything config.toml can set, with the defaults for what it leaves out."""

    ui: UIConfig = field(default_factory=UIConfig)
    rollback: RollbackConfig = field(default_factory=RollbackConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    mux: MuxConfig = field(default_factory=MuxConfig)
    # [hosts.NAME]: the hosts sessions can run on (remote/hosts.py), by name.
    hosts: dict[str, Host] = field(default_factory=dict)
    # The dotted keys the file set, e.g. "ui.prefix": a prefix set by the user beats the
    # keymap's own, the default one does not.
    explicit: frozenset[str] = frozenset()

    @property
    def detach_keys(self) -> tuple[bytes, ...]:
        """The detach sequence as the bytes of each key, for keys.SequenceMatcher."""
        from nono.keys import sequence_bytes

        return sequence_bytes(self.ui.detach_sequence)


CLIPBOARD_CHOICES = ("write", "off")
_SECTIONS: dict[str, type] = {"ui": UIConfig, "rollback": RollbackConfig, "notify": NotifyConfig,
                              "mux": MuxConfig}  # fmt: skip
_LIST_EXAMPLES = {"hosts": 'e.g. hosts = ["build"] (names of [hosts.NAME] tables)'}
_HOST_KEYS = ("address", "ssh_options", "nono")


def config_path() -> Path:
    """$XDG_CONFIG_HOME/nono/config.toml (paths.config_file)."""
    return config_file()


def load_config(path: Path | None = None) -> Config:
    """Read and check the config file; a missing file means every default."""
    path = config_path() if path is None else path
    text = userfile.read_text(path, ConfigError, missing_ok=True)
    if text is None:
        return Config()
    return _build(userfile.parse_toml(text, str(path), ConfigError))


# ---------------------------------------------------------------- checking


def _build(doc: Map) -> Config:
    sections: dict[str, Any] = {}
    for name, body in doc.items():
        if name not in (*_SECTIONS, "hosts"):
            if not isinstance(body, dict):
                doc.fail(name, "unknown key", _home_of(name))
            doc.fail(name, "unknown section", did_you_mean(name, (*_SECTIONS, "hosts")))
        if not isinstance(body, userfile.Map):  # parse_toml makes every table one
            doc.fail(name, f"must be a table ([{name}]), got {type_name(body, toml=True)}")
        if name == "hosts":
            sections[name] = _build_hosts(body)
        else:
            sections[name] = _build_section(_SECTIONS[name], body)
    explicit = frozenset(f"{name}.{key}" for name, body in doc.items() for key in body)
    config = Config(**sections, explicit=explicit)
    _check_keys(config, doc.child("ui"))
    _check_mux_hosts(config, doc.child("mux"))
    return config


def _build_section(cls: type, body: Map) -> Any:
    known = {f.name: f for f in fields(cls)}
    body.check_keys(known)
    values = dict(body)
    for key, value in body.items():
        wanted = known[key].type
        if wanted == "str" and not isinstance(value, str):
            body.fail(key, f"must be a string, got {type_name(value, toml=True)}")
        if wanted == "bool" and not isinstance(value, bool):
            body.fail(key, f"must be true or false, got {type_name(value, toml=True)}")
        if wanted == "tuple[str, ...]":
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                got = "an empty or non-string item" if isinstance(value, list) else type_name(
                    value, toml=True)  # fmt: skip
                body.fail(
                    key,
                    f"must be a list of non-empty strings, got {got}",
                    _LIST_EXAMPLES.get(key, f'e.g. {key} = ["notify-send", "nono"]'),
                )
            values[key] = tuple(value)
        if wanted in ("int", "float"):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if not numeric or (wanted == "int" and not isinstance(value, int)) or value < 0:
                got = type_name(value, toml=True)
                body.fail(key, f"must be a non-negative {wanted}, got {got}")
    return cls(**values)


def _build_hosts(body: Map) -> dict[str, Host]:
    """[hosts.NAME] tables: address (required), ssh_options, nono."""
    from nono.remote.hosts import NAME, Host

    hosts = {}
    example = 'e.g. [hosts.build] address = "me@build.example.com"'
    for name, table in body.items():
        if not isinstance(table, userfile.Map):
            body.fail(name, f"must be a table ([hosts.{name}]), got {type_name(table, toml=True)}")
        if not NAME.match(name):
            # It is typed before the colon of NAME:SESSION and shown in a column.
            body.fail(name, "a host name is letters, digits, '.', '_' and '-'", example)
        table.check_keys(_HOST_KEYS)
        address = table.get("address")
        if address is None:
            body.fail(name, "address is missing", example)
        if not isinstance(address, str) or not address.strip():
            table.fail("address", f"must be a non-empty string, got {_got(address)}", example)
        if address.startswith("-") or any(c.isspace() for c in address):
            # ssh would read "-oProxyCommand=..." as an option: an address is never one.
            table.fail("address", f"is not a host ssh can reach: {address!r}", example)
        options = table.get("ssh_options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) and o for o in options):
            table.fail("ssh_options", f"must be a list of non-empty strings, got {_got(options)}",
                       'e.g. ssh_options = ["-p", "2222"]')  # fmt: skip
        command = table.get("nono", "nono")
        if not isinstance(command, str) or not command.strip():
            table.fail("nono", f"must be a non-empty string, got {_got(command)}",
                       'e.g. nono = "~/.local/bin/nono"')  # fmt: skip
        hosts[name] = Host(name, address, tuple(options), command.strip())
    return hosts


def _check_mux_hosts(config: Config, mux: Map) -> None:
    """Each of [mux] hosts names a [hosts.NAME] of this file or is a user@host."""
    from nono.remote.hosts import resolve

    for name in config.mux.hosts:
        try:
            resolve(name, config.hosts)
        except NonoError:
            known = ", ".join(sorted(config.hosts)) or "none configured"
            mux.fail("hosts", f"names no host: {name!r} (hosts: {known})",
                     f'add [hosts.{name}] with address = "user@host", '
                     "or give user@host")  # fmt: skip


def _got(value: object) -> str:
    if isinstance(value, str):
        return "an empty string"
    if isinstance(value, list):
        return "an empty or non-string item"
    return type_name(value, toml=True)


def _check_keys(config: Config, ui: Map) -> None:
    from nono.keys import sequence_bytes

    conf = config.ui
    try:
        detach = sequence_bytes(conf.detach_sequence)
    except NonoError as exc:
        raise ui.error("detach_sequence", exc.message, exc.hint) from None
    if len(detach) < 2:
        # One key would take that key away from the agent for good.
        ui.fail(
            "detach_sequence",
            f"must be at least two keys (a prefix, then a key), got {conf.detach_sequence!r}",
            'e.g. detach_sequence = "ctrl-] d"',
        )
    if detach[1] == detach[0]:
        # Pressing the prefix twice sends it once to the agent; this sequence would detach
        # instead and leave no way to type the prefix key into the agent.
        ui.fail(
            "detach_sequence",
            "the second key must differ from the first",
            'e.g. detach_sequence = "ctrl-] d"',
        )
    try:
        prefix = sequence_bytes(conf.prefix)
        if len(prefix) == 1 and "ui.prefix" in config.explicit:
            # The dashboard must tell it from other keys too (said here, with its line).
            from nono.mux.keynames import token_presses

            token_presses(conf.prefix)
    except NonoError as exc:
        raise ui.error("prefix", exc.message, exc.hint) from None
    if len(prefix) != 1:
        ui.fail("prefix", f"must be one key, got {conf.prefix!r}", 'e.g. prefix = "ctrl-]"')
    if conf.clipboard not in CLIPBOARD_CHOICES:
        ui.fail(
            "clipboard",
            f'must be "write" or "off", got {conf.clipboard!r}',
            'e.g. clipboard = "off" to keep agents out of the clipboard',
        )
    if not conf.keymap.strip():
        ui.fail("keymap", "must not be empty", 'e.g. keymap = "default"')


def _home_of(key: str) -> str:
    """Hint for a setting written outside any section, e.g. prefix = ... above [ui]."""
    for section, cls in _SECTIONS.items():
        if key in {f.name for f in fields(cls)}:
            return f"put it under [{section}]"
    return "settings go in a section: " + ", ".join(f"[{s}]" for s in _SECTIONS)
