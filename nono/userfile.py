"""A person's own files (profiles, keymaps, config.toml) read with the line of every key, so that
every problem in any of them reads the same: `file:line: key: problem (did you mean ...)`.

YAML is walked once here, node by node, with PyYAML's composer (which keeps positions and
would otherwise keep the last of two equal keys without a word). TOML is parsed by tomllib,
which refuses duplicate keys itself but keeps no positions: the line of a key is asked of
tomllib too, by finding the shortest prefix of the file that already defines it (see
_TomlLines). tomlkit keeps comments and spacing but no positions either (0.15 checked), and
takes ~28 ms to import against tomllib's ~5, each time a config file is read."""

from __future__ import annotations

import os

from nono.errors import FileError

# Read on every `nono attach` (config.toml): typing and difflib cost more than the rest.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path
    from typing import Any, NoReturn

# ---------------------------------------------------------------- positioned documents


class Map(dict):
    """A mapping of a person's file: its keys remember their lines, and it can say what is
    wrong with one of them as the file's own error, naming the dotted key."""

    def __init__(self, source: Source, path: tuple[str, ...] = (), line: int | None = None):
        super().__init__()
        self.source = source
        self.path = path  # the keys leading here from the top of the file
        self.line = line  # where the mapping starts (None when not known)
        self.key_lines: dict[str, int] = {}

    @property
    def prefix(self) -> str:
        """The dotted path of this mapping, ready to put before one of its keys."""
        return "".join(f"{name}." for name in self.path) if self.source.dotted else ""

    def line_of(self, key: str) -> int | None:
        """The line that sets `key` here; the mapping's own line for a key it does not have."""
        if key in self.key_lines:
            return self.key_lines[key]
        found = self.source.locate((*self.path, key)) if key in self else None
        return self.line if found is None else found

    def error(self, key: str, message: str, hint: str | None = None) -> FileError:
        return self.source.error(message, line=self.line_of(key), key=self.prefix + key, hint=hint)

    def fail(self, key: str, message: str, hint: str | None = None) -> NoReturn:
        raise self.error(key, message, hint)

    def child(self, key: str) -> Map:
        """The mapping under `key`, or an empty one standing where it would be."""
        value = self.get(key)
        if isinstance(value, Map):
            return value
        return Map(self.source, (*self.path, key), self.line_of(key))

    def check_keys(self, allowed: Iterable[str], *, known: str = "known") -> None:
        """Refuse a key not in `allowed`, suggesting the closest one."""
        allowed = tuple(allowed)
        for key in self:
            if key not in allowed:
                self.fail(key, "unknown key", did_you_mean(key, allowed, self.prefix, known))


class List(list):
    """A sequence of a person's file: its items remember their lines."""

    line: int | None = None
    item_lines: list[int | None]


class Source:
    """One file being read: its name, the error type its problems raise, and how to find the
    line of a key the reading did not record (TOML's)."""

    def __init__(self, file: str, error: type[FileError], *, dotted: bool = True) -> None:
        self.file = file
        self.error_type = error
        # Whether a problem names a key with the keys above it (network.block) or alone (a
        # keymap's key tokens, whose table the message already says).
        self.dotted = dotted

    def error(
        self,
        message: str,
        *,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> FileError:
        return self.error_type(self.file, message, line=line, key=key, hint=hint)

    def locate(self, path: tuple[str, ...]) -> int | None:
        return None


# ---------------------------------------------------------------- one vocabulary for problems

# The words each format uses for its own types: what the person wrote.
_TYPE_NAMES = {
    # type: (YAML/JSON, TOML)
    bool: ("a boolean", "boolean"),
    int: ("a number", "integer"),
    float: ("a number", "float"),
    str: ("a string", "string"),
    Map: ("a mapping", "table"),
    dict: ("a mapping", "table"),
    List: ("a list", "array"),
    list: ("a list", "array"),
    type(None): ("nothing", "nothing"),
}


def type_name(value: Any, *, toml: bool = False) -> str:
    """`value`'s type in the words of the file it came from (a mapping or a table, ...)."""
    names = _TYPE_NAMES.get(type(value))
    if names is None:  # TOML's dates and times; YAML's would be read as text by a keymap
        return "date/time" if toml else type(value).__name__
    return names[toml]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` is most likely a typo of, compared without case ([UI] and Prefix
    are typos too), or None."""
    import difflib

    lowered = {c.lower(): c for c in reversed([str(c) for c in choices])}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1)
    return lowered[close[0]] if close else None


def did_you_mean(word: str, choices: Iterable[str], prefix: str = "", known: str = "known") -> str:
    """The hint for a name that is not one of `choices`: the closest one, or else every
    choice, each after `prefix`."""
    choices = [str(c) for c in choices]
    close = closest(word, choices)
    if close is not None:
        return f"did you mean {prefix}{close}?"
    return f"{known}: " + ", ".join(prefix + c for c in choices)


# ---------------------------------------------------------------- reading


def read_text(
    path: Path,
    error: type[FileError],
    opened: Callable[[os.stat_result], None] | None = None,
    *,
    missing_ok: bool = False,
) -> str | None:
    """The file's text (None for a missing file if `missing_ok`); `opened` is told the file's
    identity before it is read, so that a cache keyed by it sees an edit made during the read."""
    file = str(path)
    try:
        with path.open(encoding="utf-8") as f:
            if opened is not None:
                opened(os.fstat(f.fileno()))
            return f.read()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise error(file, "cannot read: no such file") from None
    except OSError as exc:
        raise error(file, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(file, "not UTF-8 text") from None


def parse_yaml(
    text: str, source: Source, *, as_text: bool = False, invalid: str = "invalid YAML"
) -> Any:
    """The document as Map, List and scalars (None for an empty file). With `as_text`, every
    scalar stays the text written (a keymap's `0`, `no` and `~` are keys, `1` is no number)."""
    node = compose_yaml(text, source, invalid=invalid)
    return None if node is None else yaml_tree(node, source, as_text=as_text)


def compose_yaml(text: str, source: Source, *, invalid: str = "invalid YAML") -> Any:
    """PyYAML's node graph of the text, which keeps positions; a syntax error names its line."""
    import yaml  # only when a file is really parsed: most runs read caches instead

    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise source.error(f"{invalid}: {exc.problem or exc.context or exc}", line=line) from None
    except yaml.YAMLError as exc:
        raise source.error(f"{invalid}: {exc}") from None


def yaml_tree(node: Any, source: Source, *, as_text: bool = False) -> Any:
    """A composed document as Map, List and scalars, refusing duplicate keys."""
    return _YamlTree(source, as_text).convert(node, ())


class _YamlTree:
    def __init__(self, source: Source, as_text: bool) -> None:
        import yaml

        self.yaml = yaml
        self.source = source
        self.as_text = as_text
        self.constructor = yaml.constructor.SafeConstructor()

    def convert(self, node: Any, path: tuple[str, ...]) -> Any:
        yaml = self.yaml
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out = Map(self.source, path, line)
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                key: Any = None
                if isinstance(key_node, yaml.ScalarNode):
                    # A key is the text written when scalars stay text: `~` is a key too.
                    key = str(key_node.value) if self.as_text else self.convert(key_node, path)
                if not isinstance(key, str):
                    raise self.source.error("keys must be plain text", line=key_line)
                if key in out:
                    first = out.key_lines[key]
                    raise self.source.error(
                        f"duplicate key (first on line {first})",
                        line=key_line,
                        key=out.prefix + key,
                    )
                out[key] = self.convert(value_node, (*path, key))
                out.key_lines[key] = key_line
            return out
        if isinstance(node, yaml.SequenceNode):
            seq = List(self.convert(item, path) for item in node.value)
            seq.line, seq.item_lines = line, [item.start_mark.line + 1 for item in node.value]
            return seq
        if self.as_text:
            return None if node.tag == "tag:yaml.org,2002:null" else str(node.value)
        return self.constructor.construct_object(node)


def from_plain(value: Any, source: Source, path: tuple[str, ...] = ()) -> Any:
    """Plain data (e.g. from the json module) as Map and List, without lines."""
    if isinstance(value, dict):
        out = Map(source, path)
        for key, item in value.items():
            out[key] = from_plain(item, source, (*path, key))
        return out
    if isinstance(value, list):
        seq = List(from_plain(v, source, path) for v in value)
        seq.item_lines = [None] * len(seq)
        return seq
    return value


# ---------------------------------------------------------------- TOML


def parse_toml(text: str, source_file: str, error: type[FileError]) -> Map:
    """The document as Maps whose keys find their lines on demand (only errors need them)."""
    import re
    import tomllib  # only when there is a file: most runs have none, and start faster

    lines = _TomlLines(source_file, error, text)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says where only in its message: "... (at line 3, column 10)".
        message = str(exc)
        found = re.search(r"\s*\((?:at line (\d+), column \d+|at end of document)\)$", message)
        line = None
        if found:
            message = message[: found.start()]
            line = int(found.group(1)) if found.group(1) else lines.last_line()
        raise lines.error(f"invalid TOML: {message}", line=line, key=lines.key_at(line)) from None
    return _toml_tree(doc, lines, ())


def _toml_tree(value: Any, source: Source, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        out = Map(source, path)
        for key, item in value.items():
            out[key] = _toml_tree(item, source, (*path, key))
        return out
    return value


_PROBE = "nono probe: where does a key written here go"


class _TomlLines(Source):
    """Lines of TOML keys, decided by tomllib itself: a key is on the first line at which a
    prefix of the file defines it, less any lines of a value still open there (a prefix that
    ends inside a value does not parse)."""

    def __init__(self, file: str, error: type[FileError], text: str) -> None:
        super().__init__(file, error)
        self.lines = text.splitlines(keepends=True)
        self.parsed: dict[int, dict[str, Any] | None] = {}

    def prefix(self, n: int) -> dict[str, Any] | None:
        """The first `n` lines parsed, or None when they do not parse on their own."""
        if n not in self.parsed:
            self.parsed[n] = _loads("".join(self.lines[:n]))
        return self.parsed[n]

    def statement_start(self, line: int) -> int:
        """The first line of the statement that line `line` belongs to."""
        start = line
        while start > 1 and self.prefix(start - 1) is None:
            start -= 1
        return start

    def locate(self, path: tuple[str, ...]) -> int | None:
        # Prefixes that parse only grow, so "the last one that parses, up to line n, defines
        # the key" is false and then true as n grows: a bisection finds the line.
        def defined_by(n: int) -> bool:
            last = self.statement_start(n + 1) - 1  # the last prefix up to n that parses
            doc = self.prefix(last)
            return doc is not None and _has(doc, path)

        low, high = 1, len(self.lines)
        if not defined_by(high):
            return None
        while low < high:
            middle = (low + high) // 2
            if defined_by(middle):
                high = middle
            else:
                low = middle + 1
        return self.statement_start(low)

    def last_line(self) -> int:
        """Where "at end of document" points: the last line that has anything on it."""
        filled = [n for n, row in enumerate(self.lines, 1) if row.strip()]
        return filled[-1] if filled else 1

    def key_at(self, line: int | None) -> str | None:
        """The dotted key (or table) that the statement on a broken line defines."""
        if not line or line > len(self.lines):
            return None
        start = self.statement_start(line)
        first = self.lines[start - 1].rstrip("\n")
        # A table header: a key written after it lands in that table.
        alone = _loads(f"{first}\n{_probe_line()}")
        if alone is not None and (table := _path_to(alone, _PROBE)):
            return ".".join(table)
        # A key: the first `=` that tomllib accepts as the end of one.
        for index, char in enumerate(first):
            if char == "=" and (written := _loads(first[:index] + "= 0")) is not None:
                here = _loads("".join(self.lines[: start - 1]) + _probe_line())
                return ".".join([*(_path_to(here, _PROBE) or []), *_only_path(written)])
        return None


def _probe_line() -> str:
    return f'"{_PROBE}" = 0\n'


def _loads(text: str) -> dict[str, Any] | None:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _has(doc: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        if isinstance(doc, list) and doc:  # an array of tables: its newest table
            doc = doc[-1]
        if not isinstance(doc, dict) or key not in doc:
            return False
        doc = doc[key]
    return True


def _path_to(doc: Any, key: str) -> list[str] | None:
    """The tables leading to `key` (written once, last), None if it is nowhere."""
    if isinstance(doc, list):
        return _path_to(doc[-1], key) if doc else None
    if not isinstance(doc, dict):
        return None
    if key in doc:
        return []
    for name, value in doc.items():
        below = _path_to(value, key)
        if below is not None:
            return [name, *below]
    return None


def _only_path(doc: Any) -> list[str]:
    """The dotted key of a document that sets one value."""
    path = []
    while isinstance(doc, dict) and len(doc) == 1:
        name = next(iter(doc))
        path.append(name)
        doc = doc[name]
    return path
