"""The six ways to grant a path, in one table: the `nono run` flags, the profile keys and the
policy's grants are all made from it, so a kind added here is a kind everywhere.

Kept out of nono.sandbox (whose package imports Landlock): the command-line parser reads it
on every `nono mux`, which never builds a policy."""

from __future__ import annotations

from dataclasses import dataclass

# What each access word allows, as the help says it. "read" includes execute.
ACCESS_WORDS = {"readwrite": "read+write", "read": "read-only", "write": "write-only"}


@dataclass(frozen=True)
class PathKind:
    """One way to grant a path: its name is the profile key under `filesystem:` and the
    RunOptions field; the flag is the name with dashes."""

    name: str
    access: str  # "read", "write" or "readwrite" (policy.Access.parse reads it)
    is_file: bool  # one file, or a directory and everything beneath it
    short: str | None = None  # the one-letter flag, for the directory kinds

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def help(self) -> str:
        what = "one file" if self.is_file else "DIR, recursively"
        return f"{ACCESS_WORDS[self.access]} access to {what}"

    @property
    def metavar(self) -> str:
        return "FILE" if self.is_file else "DIR"

    @property
    def other_form(self) -> PathKind:
        """The same access for a directory instead of a file, or the other way round."""
        return kind_for(self.access, not self.is_file)


PATH_KINDS: tuple[PathKind, ...] = (
    PathKind("allow", "readwrite", False, "-a"),
    PathKind("read", "read", False, "-r"),
    PathKind("write", "write", False, "-w"),
    PathKind("allow_file", "readwrite", True),
    PathKind("read_file", "read", True),
    PathKind("write_file", "write", True),
)
BY_NAME = {kind.name: kind for kind in PATH_KINDS}


def kind_for(access: str, is_file: bool) -> PathKind:
    """The kind that grants `access` to a file (or a directory)."""
    return next(k for k in PATH_KINDS if k.access == access and k.is_file == is_file)
