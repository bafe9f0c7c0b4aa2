"""Compiled keymaps, so that the dashboard starts without importing PyYAML or parsing a file.

An entry is only ever a keymap that loaded without error, and it holds while every file the
load looked at (read, or looked for and not found) is as it was. In nono's private state
directory: a keymap from a file a sandbox could write would skip every check. keymap.py reads
the files; this module only remembers what they compiled to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from nono import __version__
from nono.errors import NonoError
from nono.keys import Key, format_key, parse_key
from nono.mux.actions import COPY, PANES, names
from nono.mux.keynames import Keys, presses
from nono.paths import config_dir, read_cache, write_cache

VERSION = 4  # 2: the prefix as written (C-b); 3: a user keymap shadows a built-in one; 4: repeat
ENTRIES = 8
FILE = "keymaps.json"

Tables = dict[str, dict[Keys, str]]
# name, prefix as written, tables, sources, the bindings that repeat
Compiled = tuple[str, Key, Tables, list[str], list[Keys]]


class Files:
    """The files a load looked at, each stat'ed before it was used: a file that changes
    during the load does not match its entry the next time."""

    def __init__(self) -> None:
        self.seen: dict[str, list[int] | None] = {}

    def saw(self, file: str, st: os.stat_result | None) -> None:
        self.seen[file] = _signature(st)

    def stat(self, path: Path) -> None:
        self.saw(str(path), _stat(str(path)))

    def exists(self, path: Path) -> bool:
        self.stat(path)
        return path.exists()

    def is_file(self, path: Path) -> bool:
        self.stat(path)
        return path.is_file()


def _stat(file: str) -> os.stat_result | None:
    try:
        return os.stat(file)
    except (OSError, ValueError):
        return None


def _signature(st: os.stat_result | None) -> list[int] | None:
    # The inode tells a file replaced by an editor's rename, or another file under the same
    # relative path, from the file that was read.
    return None if st is None else [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def cache_key(
    name: str, override: Path | Literal[False] | None, prefix: str | None, builtin_dir: Path
) -> str:
    # The arguments and what turns names into paths (config dir, built-in dir, ~). Relative
    # paths stay relative in the entry: from another directory they stat other files.
    where = [str(config_dir()), str(builtin_dir), os.path.expanduser("~")]
    given = override if override in (None, False) else str(override)
    return json.dumps([VERSION, __version__, name, given, prefix, *where])


def lookup(key: str) -> Compiled | None:
    """The keymap compiled under `key`, if every file it was read from is as it was."""
    return _cached(read_cache(FILE).get(key))


def store(
    key: str,
    files: Files,
    name: str,
    prefix: Key,
    tables: Mapping[str, Mapping[Keys, str]],
    sources: tuple[str, ...],
    repeat: frozenset[Keys],
) -> None:
    """A keymap just compiled, as the newest of the last ENTRIES."""
    cache = read_cache(FILE)
    entry = {"files": files.seen, "keymap": _to_json(name, prefix, tables, sources, repeat)}
    cache.pop(key, None)
    cache[key] = entry
    for old in list(cache)[:-ENTRIES]:
        del cache[old]
    write_cache(FILE, cache)


def _cached(entry: Any) -> Compiled | None:
    """The keymap of a cache entry whose files are all as they were; None for anything else,
    a damaged entry included."""
    try:
        files = entry["files"]
        if not files or any(_signature(_stat(file)) != seen for file, seen in files.items()):
            return None
        return _from_json(entry["keymap"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _to_json(
    name: str,
    prefix: Key,
    tables: Mapping[str, Mapping[Keys, str]],
    sources: tuple[str, ...],
    repeat: frozenset[Keys],
) -> dict[str, Any]:
    return {
        "name": name,
        "prefix": format_key(prefix),
        "sources": list(sources),
        "repeat": sorted(list(keys) for keys in repeat),
        **{
            table: [[list(k), action] for k, action in keys.items()]
            for table, keys in tables.items()
        },
    }


def _from_json(data: dict[str, Any]) -> Compiled:
    """Checked as far as the dashboard relies on it: keys of text, actions it knows."""

    def keys_of(value: Any) -> Keys:
        if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
            raise ValueError(value)
        return tuple(value)

    tables: Tables = {}
    for table, vocabulary in (("bindings", PANES), ("root", PANES), ("copy-mode", COPY)):
        known = names(vocabulary)
        tables[table] = {}
        for keys, action in data[table]:
            if not isinstance(action, str) or action not in known or action == "none":
                raise ValueError(action)
            tables[table][keys_of(keys)] = action
    repeat = [keys_of(keys) for keys in data["repeat"]]
    if not all(keys in tables["bindings"] for keys in repeat):
        raise ValueError(repeat)
    name, sources = data["name"], data["sources"]
    if not isinstance(name, str) or not all(isinstance(source, str) for source in sources):
        raise ValueError(name)
    prefix = data["prefix"]
    if not isinstance(prefix, str):
        raise ValueError(prefix)
    try:
        prefix_key = parse_key(prefix)
        presses(prefix_key)
    except NonoError:
        raise ValueError(prefix) from None
    return name, prefix_key, tables, list(sources), repeat
