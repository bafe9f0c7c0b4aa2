"""Keymaps for nono mux: which key does what, read from YAML files and checked key by key.
A keymap that loaded without error is cached, compiled, until one of its files changes
(keymap_cache.py); the actions a key may name are actions.py's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from nono.errors import FileError, NonoError
from nono.keys import Key, parse_key
from nono.mux import keymap_cache
from nono.mux.actions import COPY, PANES, names
from nono.mux.keymap_cache import Files as _Files  # what a load looked at, for the cache
from nono.mux.keynames import Keys, key_label, presses, token_presses
from nono.paths import config_dir
from nono.userfile import Map, closest, did_you_mean

# Each table of a keymap file and the vocabulary its actions come from (actions.py).
TABLES: dict[str, dict[str, str]] = {
    "bindings": names(PANES),
    "root": names(PANES),
    "copy-mode": names(COPY),
}
_TOP_KEYS = ("extends", "prefix", *TABLES)


class KeymapError(FileError):
    """A keymap file that cannot be used."""


# ---------------------------------------------------------------- the keymap


@dataclass(frozen=True)
class Keymap:
    """A resolved keymap: every table complete, the prefix pressed twice sends the prefix."""

    name: str  # "default", "tmux", "screen", a user keymap's name or a path
    prefix_key: Key  # as written: send-prefix sends its bytes (C-h is not BSpace there)
    prefix: Keys
    prefix_label: str
    bindings: Mapping[Keys, str]  # after the prefix
    root: Mapping[Keys, str]  # without the prefix
    copy_mode: Mapping[Keys, str]  # while in copy mode
    sources: tuple[str, ...] = field(default=())  # the files it was built from, bases first
    # Keys of `bindings` that repeat (tmux's bind -r): pressed again soon after, without the
    # prefix, they act again.
    repeat: frozenset[Keys] = field(default=frozenset())

    def describe(self) -> list[tuple[str, str, str, str]]:
        """(table, key label, action, description) for the help overlay: table by table, in
        the vocabulary's order, so that the keys of one action stand together."""
        rows = []
        for index, (table, keys) in enumerate(
            (("bindings", self.bindings), ("root", self.root), ("copy-mode", self.copy_mode))
        ):
            vocabulary = TABLES[table]
            order = {action: n for n, action in enumerate(vocabulary)}
            for key, action in keys.items():
                label = key_label(key)
                sort = (index, order[action], len(label), label)
                again = " (repeats)" if table == "bindings" and key in self.repeat else ""
                rows.append((sort, (table, label, action, vocabulary[action] + again)))
        return [row for _, row in sorted(rows)]


@dataclass(frozen=True)
class _Entry:
    action: str
    token: str  # the key as written
    line: int | None
    repeat: bool = False


@dataclass(frozen=True)
class _Layer:
    """One keymap file, checked on its own."""

    file: str
    builtin: bool
    prefix: Key | None
    extends: str | None
    extends_line: int | None
    tables: dict[str, dict[Keys, _Entry]]


# ---------------------------------------------------------------- reading with line numbers


def _read(path: Path, files: _Files) -> Map:
    """The file as mappings whose keys remember their line; every scalar stays the text
    written (`0`, `no` and `~` are keys, `1` is not a number)."""
    from nono import userfile

    file = str(path)
    text = userfile.read_text(path, KeymapError, lambda st: files.saw(file, st))
    source = userfile.Source(file, KeymapError, dotted=False)
    doc = userfile.parse_yaml(text or "", source, as_text=True, invalid="not valid YAML")
    if doc is None:
        return userfile.Map(source)
    if not isinstance(doc, userfile.Map):
        raise KeymapError(file, "a keymap file is a mapping", hint="e.g. prefix: ctrl-]")
    return doc


# ---------------------------------------------------------------- one file, checked on its own

# Keys an agent needs typed as they are: a root binding would swallow every press.
_TYPING = {"c-m": "Enter", "c-i": "Tab", "c-h": "Backspace", "escape": "Escape"}
_EXAMPLES = {"bindings": "d: detach", "root": "M-Left: focus-left", "copy-mode": "q: copy-cancel"}
_REPEAT_EXAMPLE = "e.g. C-Up: {action: resize-up, repeat: true}"


def _typed(key: str) -> bool:
    return len(key) == 1 or key in _TYPING


def _key_error(exc: NonoError, file: str, line: int | None, token: str) -> KeymapError:
    # token_presses's message repeats the token, which the error already names.
    why = exc.message.removeprefix(f"unknown key {token!r}")
    return KeymapError(file, f"unknown key{why}", line=line, key=token, hint=exc.hint)


def _parse_prefix(value: Any, file: str, line: int | None) -> Key:
    hint = "e.g. prefix: ctrl-]"
    if not isinstance(value, str) or len(value.split()) > 1:
        shown = f", got {value!r}" if isinstance(value, str) else ""
        raise KeymapError(file, f"must be one key{shown}", line=line, key="prefix", hint=hint)
    try:
        token_presses(value)  # the prefix must be a key the dashboard can tell
        return parse_key(value)
    except NonoError as exc:
        raise KeymapError(file, exc.message, line=line, key="prefix", hint=exc.hint) from None


def _parse_table(doc: Map, table: str, file: str) -> dict[Keys, _Entry]:
    written = doc.get(table)
    if written is None:  # absent, or `root:` with nothing after it
        return {}
    if not isinstance(written, Map):
        raise KeymapError(
            file,
            "must be a mapping of key: action",
            line=doc.key_lines[table],
            key=table,
            hint=f"e.g. {_EXAMPLES[table]} on the next line, indented",
        )
    vocabulary = TABLES[table]
    entries: dict[Keys, _Entry] = {}
    for token, action in written.items():
        line = written.key_lines[token]
        try:
            keys = token_presses(token)
        except NonoError as exc:
            raise _key_error(exc, file, line, token) from None
        repeat = False
        if isinstance(action, Map):
            action, repeat = _parse_repeatable(action, table, file, line, token)
        if not isinstance(action, str):
            hint = "write none to unbind a key" if action is None else f"e.g. {_EXAMPLES[table]}"
            raise KeymapError(file, "must be an action name", line=line, key=token, hint=hint)
        if action not in vocabulary:
            if action in TABLES["bindings"] or action in TABLES["copy-mode"]:
                home = "bindings: or root:" if action in TABLES["bindings"] else "copy-mode:"
                raise KeymapError(
                    file,
                    f"{action} cannot be used in {table}",
                    line=line,
                    key=token,
                    hint=f"put it under {home}",
                )
            hint = did_you_mean(action, vocabulary)
            raise KeymapError(file, f"unknown action {action!r}", line=line, key=token, hint=hint)
        if keys in entries:
            first = entries[keys]
            raise KeymapError(
                file,
                f"bound twice in {table}: the same key as {first.token!r} on line {first.line}",
                line=line,
                key=token,
                hint="keep one of the two",
            )
        if table == "root" and action != "none" and len(keys) == 1 and _typed(keys[0]):
            raise KeymapError(
                file,
                "a key the agent needs cannot be bound in root: every press would be taken",
                line=line,
                key=token,
                hint="bind it under bindings: (after the prefix), or use e.g. M-x or C-x",
            )
        entries[keys] = _Entry(action, token, line, repeat)
    return entries


def _parse_repeatable(
    written: Map, table: str, file: str, line: int | None, token: str
) -> tuple[Any, bool]:
    """`{action: NAME, repeat: true}`: the action, and whether it repeats (tmux's bind -r)."""
    for key in written:
        if key not in ("action", "repeat"):
            hint = did_you_mean(key, ("action", "repeat")) or _REPEAT_EXAMPLE
            raise KeymapError(file, f"unknown setting {key!r}", line=line, key=token, hint=hint)
    if "action" not in written:
        raise KeymapError(file, "names no action", line=line, key=token, hint=_REPEAT_EXAMPLE)
    repeat = str(written.get("repeat", "false")).lower()
    if repeat not in ("true", "false"):
        raise KeymapError(
            file, f"repeat must be true or false, got {repeat!r}", line=line, key=token,
            hint=_REPEAT_EXAMPLE,
        )  # fmt: skip
    if repeat == "true" and table != "bindings":
        raise KeymapError(
            file, f"only keys pressed after the prefix repeat, not keys in {table}", line=line,
            key=token, hint="put it under bindings:, or drop repeat",
        )  # fmt: skip
    return written["action"], repeat == "true"


def _parse_layer(path: Path, builtin: bool, files: _Files) -> _Layer:
    file = str(path)
    doc = _read(path, files)
    for key in doc:
        if key not in _TOP_KEYS:
            doc.fail(key, "unknown setting", did_you_mean(key, _TOP_KEYS))
    prefix = None
    if "prefix" in doc:
        prefix = _parse_prefix(doc["prefix"], file, doc.key_lines["prefix"])
    extends = doc.get("extends")
    if "extends" in doc and (not isinstance(extends, str) or not extends.strip()):
        raise KeymapError(
            file,
            "must name a keymap",
            line=doc.key_lines["extends"],
            key="extends",
            hint="e.g. extends: tmux",
        )
    return _Layer(
        file=file,
        builtin=builtin,
        prefix=prefix,
        extends=extends,
        extends_line=doc.key_lines.get("extends"),
        tables={table: _parse_table(doc, table, file) for table in TABLES},
    )


# ---------------------------------------------------------------- finding and merging


def _builtin_dir() -> Path:
    try:
        import nono.keymaps  # package data: pyproject maps nono.keymaps to keymaps/
    except ImportError:  # a source tree whose editable install predates nono.keymaps
        return Path(__file__).resolve().parents[2] / "keymaps"
    return Path(nono.keymaps.__file__).parent


def builtin_keymaps() -> list[str]:
    """The names of the keymaps shipped with nono."""
    return sorted(path.stem for path in _builtin_dir().glob("*.yaml"))


def _user_dir() -> Path:
    return config_dir() / "keymaps"


def _find(name: str, origin: _Layer | None, files: _Files) -> tuple[Path, bool]:
    """The file a keymap name or path stands for, and whether it is built in. The person's
    file wins, as with profiles: their tmux.yaml is the tmux keymap, and when it extends tmux
    it extends the built-in one (a file never extends itself by its own name)."""
    is_path = "/" in name or name.startswith("~") or name.endswith((".yaml", ".yml"))
    if not is_path:
        own = Path(origin.file).resolve() if origin is not None else None
        for suffix in (".yaml", ".yml"):
            user = _user_dir() / f"{name}{suffix}"
            if files.is_file(user) and user.resolve() != own:
                return user, False
        files.stat(_builtin_dir())  # the directory changes when a keymap is added or removed
        if name in builtin_keymaps():
            return _builtin_dir() / f"{name}.yaml", True
    else:
        path = Path(name).expanduser()
        if not path.is_absolute() and origin is not None:
            path = Path(origin.file).parent / path
        if files.is_file(path):
            return path, False
    known = builtin_keymaps()
    hint = f"built in: {', '.join(known)}; yours go in {_user_dir()}/NAME.yaml, or give a path"
    if (close := closest(name, known)) is not None:
        hint = f"did you mean {close}? {hint}"
    if origin is None:
        raise KeymapError(name, "no such keymap", hint=hint)
    raise KeymapError(
        origin.file, f"no such keymap {name!r}", line=origin.extends_line, key="extends", hint=hint
    )


def _chain(name: str, origin: _Layer | None, seen: tuple[Path, ...], files: _Files) -> list[_Layer]:
    """The layers of keymap `name`, the one it extends first."""
    path, builtin = _find(name, origin, files)
    real = path.resolve()
    if real in seen and origin is not None:
        raise KeymapError(
            origin.file,
            f"{name!r} extends this file again",
            line=origin.extends_line,
            key="extends",
            hint="a keymap cannot extend itself",
        )
    layer = _parse_layer(path, builtin, files)
    if layer.extends is not None:
        return [*_chain(layer.extends, layer, (*seen, real), files), layer]
    if layer.prefix is None:
        raise KeymapError(
            layer.file, "no prefix", hint="set one (e.g. prefix: ctrl-]) or extends: a keymap"
        )
    return [layer]


def _move_prefix(bindings: dict[Keys, str], old: Keys | None, new: Keys) -> Keys:
    # The old prefix's send-prefix was the double press of the old prefix: it goes with it.
    if old is not None and old != new and bindings.get(old) == "send-prefix":
        del bindings[old]
    return new


def _check_prefix(layer: _Layer, prefix: Keys, why: str = "") -> None:
    """The prefix pressed twice sends it to the pane; nothing in the layer may take that away."""
    label = key_label(prefix)
    for keys, entry in layer.tables["bindings"].items():
        if keys == prefix and entry.action != "send-prefix":
            raise KeymapError(
                layer.file,
                f"the prefix {label} pressed twice must send it to the pane (send-prefix), "
                f"not {entry.action}",
                line=entry.line,
                key=entry.token,
                hint=f"{why}bind {entry.action} to another key",
            )
    for keys, entry in layer.tables["root"].items():
        common = min(len(keys), len(prefix))
        if entry.action != "none" and keys[:common] == prefix[:common]:
            raise KeymapError(
                layer.file,
                f"the prefix {label} cannot be bound in root",
                line=entry.line,
                key=entry.token,
                hint=f"{why}bind {entry.action} to another key",
            )


def load_keymap(
    name: str = "default",
    override: Path | Literal[False] | None = None,
    prefix: str | None = None,
) -> Keymap:
    """The keymap `name` (the person's in $XDG_CONFIG_HOME/nono/keymaps/, else the built-in
    one, or a path), changed binding by binding by `override` (by default
    $XDG_CONFIG_HOME/nono/keymap.yaml if there is one; False for none), with `prefix`
    (config.toml's [ui] prefix, when the user set it) winning over both.
    From the cache when no file it read has changed since; errors always come from the files."""
    key = keymap_cache.cache_key(name, override, prefix, _builtin_dir())
    compiled = keymap_cache.lookup(key)
    if compiled is not None:
        return _keymap(*compiled)
    files = _Files()
    keymap = _load(name, override, prefix, files)
    tables = {"bindings": keymap.bindings, "root": keymap.root, "copy-mode": keymap.copy_mode}
    keymap_cache.store(
        key, files, keymap.name, keymap.prefix_key, tables, keymap.sources, keymap.repeat
    )
    return keymap


def builtin_default() -> Keymap:
    """nono's own default keymap, whatever the person's files say: the way in when theirs are
    broken (`nono mux --default-keys`), a keymaps/default.yaml of theirs included."""
    keymap = _load(str(_builtin_dir() / "default.yaml"), False, None, _Files())
    return replace(keymap, name="default")


def _load(
    name: str, override: Path | Literal[False] | None, prefix: str | None, files: _Files
) -> Keymap:
    if override is None and files.exists(default := config_dir() / "keymap.yaml"):
        override = default
    top = _parse_layer(override, builtin=False, files=files) if override else None
    if top is not None and top.extends is not None:
        name = top.extends
        layers = [*_chain(name, top, (Path(top.file).resolve(),), files), top]
    else:
        layers = [*_chain(name, None, (), files), *([top] if top else [])]

    tables: dict[str, dict[Keys, str]] = {table: {} for table in TABLES}
    repeat: set[Keys] = set()
    current: Keys | None = None
    prefix_key: Key | None = None
    for layer in layers:
        if layer.prefix is not None:
            prefix_key = layer.prefix
            current = _move_prefix(tables["bindings"], current, presses(prefix_key))
        assert current is not None  # _chain starts with a layer that has a prefix
        for table, entries in layer.tables.items():
            for keys, entry in entries.items():
                if entry.action == "none":
                    tables[table].pop(keys, None)
                else:
                    tables[table][keys] = entry.action
                if table == "bindings":  # a binding replaced without repeat stops repeating
                    (repeat.add if entry.repeat else repeat.discard)(keys)
        _check_prefix(layer, current)
        tables["bindings"][current] = "send-prefix"
    assert current is not None and prefix_key is not None
    why = ""
    if prefix is not None:
        prefix_key = _parse_prefix(prefix, str(config_dir() / "config.toml"), None)
        current = _move_prefix(tables["bindings"], current, presses(prefix_key))
        why = f"[ui] prefix in config.toml makes {key_label(current)} the prefix; "
    for layer in layers:
        if not layer.builtin:  # a built-in binding of the final prefix just gives way
            _check_prefix(layer, current, why)
    tables["bindings"][current] = "send-prefix"
    repeat.intersection_update(
        k for k, action in tables["bindings"].items() if action != "send-prefix"
    )
    return _keymap(name, prefix_key, tables, [layer.file for layer in layers], repeat)


def _keymap(
    name: str, prefix: Key, tables: dict[str, dict[Keys, str]], sources: Any, repeat: Any = ()
) -> Keymap:
    keys = presses(prefix)
    return Keymap(
        name=name,
        prefix_key=prefix,
        prefix=keys,
        prefix_label=key_label(keys),
        bindings=MappingProxyType(tables["bindings"]),
        root=MappingProxyType(tables["root"]),
        copy_mode=MappingProxyType(tables["copy-mode"]),
        sources=tuple(sources),
        repeat=frozenset(repeat),
    )
