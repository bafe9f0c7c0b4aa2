"""The walk of the tracked roots: what a snapshot looks at, and what it leaves out and why."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pathspec

from nono.rollback.fsops import Dirs, user_xattrs
from nono.rollback.gitconfig import forced_paths
from nono.rollback.model import FILE, HASH, PATH, TYPE, Options, Progress, RollbackError, Row

# Build output and dependency caches: big, regenerable, and never what a person wants back.
HEAVY_DIRS = frozenset(
    {
        *("node_modules", "target", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache"),
        *(".pytest_cache", "dist", "build", ".next", ".cache"),
    }
)
GITIGNORE_MAX = 1 << 20
GITIGNORE = ".gitignore"
# What git reads from .git to decide what to run (hooks; core.fsmonitor, core.hooksPath,
# aliases, filters in config): snapshotted, whatever any rule says, because a change there
# runs code outside the sandbox on the person's next git command. The rest of .git is the
# object database and refs (see gitrefs).
GIT_RUNS = frozenset({"config", "config.worktree", "hooks"})
TREE, GITDIR, RAW = 0, 1, 2  # how a directory's entries are chosen

Spec = pathspec.GitIgnoreSpec
# The .gitignore files in force: (their directory relative to the root, rules), outermost first.
Scope = tuple[tuple[str, Spec], ...]


@dataclass
class Walked:
    items: list[tuple[str, os.stat_result]] = field(default_factory=list)
    dir_xattrs: dict[str, dict[str, str]] = field(default_factory=dict)
    repos: list[str] = field(default_factory=list)  # directories holding a .git directory
    notices: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # left out by a rule (not descended)
    runs: dict[str, str] = field(default_factory=dict)  # hooksPath, includes: their label


def user_spec(options: Options) -> Spec | None:
    return Spec.from_lines(options.excludes) if options.excludes else None


def parse_gitignore(data: bytes) -> Spec:
    return Spec.from_lines(data[:GITIGNORE_MAX].decode("utf-8", "replace").splitlines())


def baseline_rules(rows: list[Row], read: Callable[[str], bytes]) -> dict[str, Spec]:
    """{directory: its rules} from the .gitignore files a baseline's rows hold (`read` gets
    an object's bytes): what every later snapshot and restore of the rollback applies."""
    rules = {}
    for row in rows:
        path = row[PATH]
        if row[TYPE] == FILE and row[HASH] and path.endswith("/" + GITIGNORE):
            try:
                rules[os.path.dirname(path)] = parse_gitignore(read(row[HASH]))
            except OSError as exc:
                raise RollbackError(
                    f"cannot read the baseline's copy of {path}: {exc.strerror}",
                    "run: nono rollback verify",
                ) from None
    return rules


def _load_gitignore(dfd: int, dirpath: str, notices: list[str]) -> Spec | None:
    path = f"{dirpath}/{GITIGNORE}"
    try:
        fd = os.open(
            GITIGNORE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd
        )
        try:
            data = os.read(fd, GITIGNORE_MAX)
        finally:
            os.close(fd)
    except OSError as exc:
        notices.append(f"cannot read {path} ({exc.strerror}); its rules were not applied")
        return None
    return parse_gitignore(data)


def excluded(rel: str, name: str, is_dir: bool, scope: Scope, user: Spec | None) -> bool:
    """Whether the path (relative to its root) is left out of snapshots."""
    key = rel + "/" if is_dir else rel
    if user is not None:
        verdict = user.check_file(key).include
        if verdict is not None:
            return verdict  # the person's own patterns win, including "!node_modules/"
    if is_dir and name in HEAVY_DIRS:
        return True
    # The deepest .gitignore with an opinion decides, as in git.
    for base, spec in reversed(scope):
        verdict = spec.check_file(key[len(base) + 1 :] if base else key).include
        if verdict is not None:
            return verdict
    return False


def walk(
    roots: tuple[str, ...],
    options: Options,
    dirs: Dirs,
    progress: Progress | None = None,
    rules: Mapping[str, Spec] | None = None,
) -> Walked:
    """Every directory, regular file and symlink under the roots that is not excluded.

    With `rules` ({directory: its .gitignore's rules}, as the baseline found them) those
    decide, and the .gitignore files on disk now are not read: an agent that rewrites them
    cannot make files from before the session look new (and be deleted by a restore), nor
    hide its own. .gitignore files themselves are always snapshotted, so the baseline
    records the rules it applied. In a .git directory only what git runs code from
    (GIT_RUNS) is walked.

    Directories are listed through fds opened with O_NOFOLLOW, so symlinks are recorded and
    never followed, even one swapped in during the walk. Over the budget the walk fails."""
    out = Walked()
    user = user_spec(options)
    seen = 0
    names = 0  # bytes of path names, against options.path_budget
    direct: dict[str, int] = {}
    # Paths .git/config points git at (hooksPath, includes), and the directories down to
    # them: never left out by a rule, and walked whole.
    forced: set[str] = set()
    through: set[str] = set()
    for root in roots:
        try:
            st = os.lstat(root)
        except OSError as exc:
            raise RollbackError(f"cannot snapshot {root}: {exc.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise RollbackError(f"cannot snapshot {root}: not a directory")
        out.items.append((root, st))
        stack: list[tuple[str, str, Scope, int]] = [(root, "", (), TREE)]
        while stack:
            path, rel, scope, how = stack.pop()
            try:
                dfd = dirs.fd(path)
                with os.scandir(dfd) as it:
                    entries = list(it)
                out.dir_xattrs[path] = user_xattrs(dfd)
            except (OSError, RollbackError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else exc.message
                out.notices.append(
                    f"cannot list {path} ({why}); its contents are not in this snapshot"
                )
                continue
            spec = None
            repo = False
            if how == GITDIR:
                entries = [e for e in entries if e.name in GIT_RUNS]
            elif how == TREE:
                ignore_file = None
                for e in entries:  # a plain loop: this runs for every directory
                    if e.name == GITIGNORE:
                        ignore_file = e
                    elif e.name == ".git":
                        repo = True
                if rules is not None:
                    spec = rules.get(path)
                elif ignore_file is not None and ignore_file.is_file(follow_symlinks=False):
                    spec = _load_gitignore(dfd, path, out.notices)
            if spec is not None:
                scope = (*scope, (rel, spec))
            if repo:
                for target, label in forced_paths(dfd, path):
                    out.runs[target] = label
                    forced.add(target)
                    parent = os.path.dirname(target)
                    while parent != path and parent not in through:
                        through.add(parent)
                        parent = os.path.dirname(parent)
            files = 0
            for e in entries:
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # gone between the listing and the stat
                epath = f"{path}/{e.name}" if path != "/" else f"/{e.name}"
                is_dir = stat.S_ISDIR(st.st_mode)
                crel = f"{rel}/{e.name}" if rel else e.name
                if how == TREE and e.name == ".git":
                    if is_dir:
                        out.repos.append(path)
                        # Not a row itself: a restore never makes a .git without objects.
                        stack.append((epath, "", (), GITDIR))
                    continue
                # No rule leaves out .git's config and hooks (how != TREE).
                leave_out = how == TREE and e.name != GITIGNORE
                if leave_out and forced and (epath in forced or epath in through):
                    leave_out = False
                if leave_out and excluded(crel, e.name, is_dir, scope, user):
                    out.ignored.append(epath)
                    continue
                seen += 1
                names += len(epath)
                if names > options.path_budget:
                    raise RollbackError(
                        f"{root} holds more than {options.path_budget:,} bytes of path names "
                        f"to snapshot (directories nested too deep, such as {path[:200]}...)",
                        "exclude the directory with --rollback-exclude PATTERN",
                    )
                if seen > options.walk_budget:
                    raise RollbackError(
                        f"{root} has more than {options.walk_budget:,} entries to snapshot",
                        "exclude large directories with --rollback-exclude PATTERN "
                        "(or rollback.exclude in the profile)",
                    )
                if is_dir:
                    out.items.append((epath, st))
                    whole = how != TREE or epath in forced
                    stack.append((epath, crel, scope, RAW if whole else TREE))
                elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    out.items.append((epath, st))
                    files += 1
                else:
                    out.notices.append(f"{epath} is not a file, directory or symlink; skipped")
            direct[path] = files
            if progress is not None and len(direct) % 256 == 0:
                progress(seen, 0, "scanning")
    out.notices.extend(big_dirs(direct, roots, options.big_dir_notice))
    return out


def big_dirs(direct: dict[str, int], roots: tuple[str, ...], limit: int) -> list[str]:
    """Directories holding more than `limit` files, naming the deepest such ones only."""
    total = dict(direct)
    for path in sorted(total, key=lambda p: p.count("/"), reverse=True):
        parent = os.path.dirname(path)
        if path not in roots and parent in total:
            total[parent] += total[path]
    big = {path for path, n in total.items() if n > limit}
    has_big_child = {os.path.dirname(path) for path in big if path not in roots}
    return [
        f"{path} holds {total[path]:,} files; consider excluding it (--rollback-exclude)"
        for path in sorted(big - has_big_child)
    ]
