"""Profiles: finding them (user profiles shadow built-in ones), caching, extending, merging."""

from __future__ import annotations

import os
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from nono.errors import NonoError, ProfileError
from nono.paths import read_cache, user_profiles_dir, write_cache
from nono.sandbox.profile_format import (
    FS_KINDS,
    SUFFIXES,
    WORKDIR_ACCESS,
    Profile,
    parse_profile,
    read_document,
)
from nono.userfile import Map

__all__ = [
    "FS_KINDS",
    "SUFFIXES",
    "WORKDIR_ACCESS",
    "Profile",
    "available",
    "find",
    "load_file",
    "merge",
    "parse_profile",
    "read_document",
    "resolve",
]


def load_file(path: Path) -> Profile:
    """Load one profile file, through a cache so a run need not even import a YAML parser."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProfileError(str(path), f"cannot read: {exc.strerror}") from None
    import hashlib

    # Keyed by the path as named (a symlink and its target are different profiles: their
    # names come from their file names) and by the content itself, so no edit is ever missed.
    key = str(path.absolute())
    digest = hashlib.sha256(data).hexdigest()
    cache = read_cache(_CACHE_FILE)
    hit = cache.get(key)
    if isinstance(hit, dict) and hit.get("sha256") == digest and hit.get("v") == _CACHE_VERSION:
        try:
            return _profile_from_json(hit["profile"])
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    profile = parse_profile(read_document(path), str(path), path.stem)
    cache[key] = {"v": _CACHE_VERSION, "sha256": digest, "profile": asdict(profile)}
    write_cache(_CACHE_FILE, cache)
    return profile


# Parsed profiles, keyed by file and content hash: YAML parsing and PyYAML's import cost more
# than the rest of `nono run`'s startup. The cache lives in nono's
# private state directory, which no sandbox can ever be granted (see paths.cache_dir).
_CACHE_VERSION = 7
_CACHE_FILE = "profiles.json"


def _profile_from_json(data: dict[str, Any]) -> Profile:
    """A cached profile back: every field as asdict() wrote it, JSON's lists as tuples."""

    def tuples(value: Any) -> Any:
        return tuple(tuples(v) for v in value) if isinstance(value, list) else value

    return Profile(**{f.name: tuples(data[f.name]) for f in fields(Profile)})


# ---------------------------------------------------------------- finding and resolving


def builtin_dir() -> Path:
    import nono.profiles  # shipped as package data; a plain path is cheaper than resources

    return Path(nono.profiles.__file__).parent


def _candidates(name: str) -> list[Path]:
    return [d / (name + s) for d in (user_profiles_dir(), builtin_dir()) for s in SUFFIXES]


def available() -> dict[str, Path]:
    """Every profile name a person can use, user profiles shadowing built-in ones."""
    found: dict[str, Path] = {}
    for directory in (user_profiles_dir(), builtin_dir()):
        if not directory.is_dir():
            continue
        stems = {e.stem for e in directory.iterdir() if e.suffix in SUFFIXES}
        for stem in stems:
            if stem in found or stem.startswith("."):
                continue
            # The same precedence as find(): .yaml, then .yml, then .json.
            found[stem] = next(
                directory / (stem + s) for s in SUFFIXES if (directory / (stem + s)).is_file()
            )
    return dict(sorted(found.items()))


def is_builtin(path: Path) -> bool:
    return path.parent == builtin_dir()


def find(name: str, *, skip: Path | None = None) -> Path:
    """Turn a profile name (or a path to a profile file) into the file to load."""
    if os.sep in name or name.endswith(SUFFIXES):
        path = Path(name).expanduser()
        if not path.is_file():
            raise NonoError(f"profile file not found: {name}")
        return path
    for path in _candidates(name):
        if path.is_file() and (skip is None or path.resolve() != skip.resolve()):
            return path
    names = ", ".join(available()) or "none"
    raise NonoError(f"unknown profile {name!r}", f"available profiles: {names}")


def resolve(name: str) -> Profile:
    """Load a profile and everything it extends, merged bases first."""
    return _resolve(find(name), ())


def _resolve(path: Path, stack: tuple[Path, ...]) -> Profile:
    profile = load_file(path)
    merged: Profile | None = None
    for base in profile.extends:
        try:
            base_path = find(base, skip=path)
        except NonoError as exc:
            raise ProfileError(
                str(path), f"extends missing profile {base!r}", line=_extends_line(path),
                key="extends", hint=exc.hint,
            ) from None  # fmt: skip
        if base_path.resolve() in [p.resolve() for p in (*stack, path)]:
            cycle = " -> ".join(p.stem for p in (*stack, path, base_path))
            raise ProfileError(
                str(path), f"extends cycle: {cycle}", line=_extends_line(path), key="extends"
            )
        resolved = _resolve(base_path, (*stack, path))
        merged = resolved if merged is None else merge(merged, resolved)
    own = replace(profile, chain=(profile.name,))
    return own if merged is None else merge(merged, own)


def _extends_line(path: Path) -> int | None:
    doc = read_document(path)
    return doc.key_lines.get("extends") if isinstance(doc, Map) else None


def _union(a: tuple, b: tuple) -> tuple:
    return a + tuple(x for x in b if x not in a)


_MERGE = {
    "child": lambda base, child: child,
    "given": lambda base, child: base if child is None else child,
    "text": lambda base, child: child or base,
    "union": _union,
    "union-or-all": lambda base, child: base if child is None else _union(base or (), child),
    "by-name": lambda base, child: tuple({**dict(base), **dict(child)}.items()),
}


def merge(base: Profile, child: Profile) -> Profile:
    """`child` on top of `base`, field by field as Profile's fields say: lists add up,
    settings the child gives win."""
    return Profile(
        **{
            f.name: _MERGE[f.metadata["merge"]](getattr(base, f.name), getattr(child, f.name))
            for f in fields(Profile)
        }
    )
