"""Named groups of baseline paths: the system, /tmp, and the runtimes people actually use."""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from nono.sandbox.policy import Access, contains

R = Access.READ
RW = Access.READWRITE


@dataclass(frozen=True)
class Entry:
    path: str
    access: Access
    ioctl: bool = False


@dataclass(frozen=True)
class Context:
    home: str
    env: Mapping[str, str]

    def h(self, rel: str) -> str:
        return os.path.join(self.home, rel)

    def var(self, name: str, default: str) -> str:
        value = self.env.get(name, "")
        return value if os.path.isabs(value) else default


# The /etc files ordinary programs read: loader, users, names, TLS roots, time, terminals.
# /etc as a whole is not granted: it holds shadow, sudoers, ssh host keys and such.
_ETC = [
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ld.so.preload",
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf",
    "services", "protocols", "networks", "localtime", "timezone", "environment",
    "ssl", "ca-certificates", "ca-certificates.conf", "pki", "crypto-policies",
    "alternatives", "terminfo", "inputrc", "bash.bashrc", "profile", "profile.d",
    "locale.alias", "locale.conf", "default/locale", "mime.types", "magic", "mailcap",
    "gitconfig", "os-release", "debian_version", "lsb-release", "issue",
    "manpath.config", "vim", "nanorc", "xdg", "fonts", "pip.conf", "npmrc",
]  # fmt: skip


def _system(ctx: Context) -> list[Entry]:
    entries = [Entry(p, R) for p in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")]
    entries += [Entry(p, R) for p in ("/libx32", "/opt", "/usr/local", "/snap/bin")]
    entries += [Entry(os.path.join("/etc", name), R) for name in _ETC]
    entries += [Entry(p, R) for p in glob.glob("/etc/python3*")]
    # /proc as a whole: Landlock's ptrace rule already keeps other processes' environ, memory
    # and fds out of reach, and /proc/self moves with each process so it cannot be granted alone.
    entries.append(Entry("/proc", R))
    entries += [Entry(p, R) for p in ("/sys/devices/system/cpu", "/sys/fs/cgroup")]
    entries += [Entry(p, R) for p in ("/run/systemd/resolve", "/var/lib/ca-certificates")]
    for dev in ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts"):
        entries.append(Entry(dev, RW, ioctl=True))
    entries += [Entry(p, R) for p in ("/dev/random", "/dev/urandom")]
    entries.append(Entry(ctx.h(".terminfo"), R))
    return entries


def _tmp(ctx: Context) -> list[Entry]:
    entries = [Entry("/tmp", RW), Entry("/dev/shm", RW)]
    tmpdir = ctx.env.get("TMPDIR", "")
    if os.path.isabs(tmpdir):
        entries.append(Entry(tmpdir, RW))
    return entries


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("credential", "token", "secret", "password"))


def _all_but_secrets(directory: str, access: Access) -> list[Entry]:
    """Each entry of `directory` except its secrets (git's and cargo's `credentials` files sit
    beside their config): Landlock can only allow, so such a directory is granted entry by
    entry, never whole. A secret created later is not granted either. Symlinked directories
    are left out: following them could grant far more than the directory holds."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:  # missing (listed as left out, like any group path) or a plain file
        return [Entry(directory, access)]
    entries = []
    for name in names:
        path = os.path.join(directory, name)
        if _is_secret(name) or _is_secret(os.path.basename(os.path.realpath(path))):
            continue
        if os.path.islink(path) and os.path.isdir(path):
            continue
        entries.append(Entry(path, access))
    return entries


def _cache(directory: str, *, in_place: tuple[str, ...]) -> list[Entry]:
    """A cache writable, but for the parts other programs use in place: uv hard-links its
    unpacked wheels into every virtualenv, poetry keeps every project's virtualenv in its
    cache. A write there changes code that runs outside. Before those parts exist nothing
    outside uses them, and the cache is writable whole (so a first install works)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return [Entry(directory, RW)]  # missing: left out
    if not any(name in in_place for name in names):
        return [Entry(directory, RW)]
    entries = [Entry(directory, R)]
    for name in names:
        entries.append(Entry(os.path.join(directory, name), R if name in in_place else RW))
    return entries


def _git(ctx: Context) -> list[Entry]:
    xdg_git = os.path.join(ctx.var("XDG_CONFIG_HOME", ctx.h(".config")), "git")
    entries = [Entry(ctx.h(".gitconfig"), R), Entry(ctx.h(".gitignore_global"), R)]
    return entries + _all_but_secrets(xdg_git, R)


def _runtime_prefixes(ctx: Context, commands: tuple[str, ...]) -> list[Entry]:
    """The install prefix of each command found on PATH (…/bin/X -> …), read-only."""
    path = ctx.env.get("PATH", os.defpath)
    entries = []
    for cmd in commands:
        found = shutil.which(cmd, path=path)
        if not found:
            continue
        real = os.path.realpath(found)
        bindir = os.path.dirname(real)
        prefix = os.path.dirname(bindir)
        # A prefix of / or of the home directory would be far too broad: grant just the bin dir.
        broad = prefix in ("/", "") or contains(prefix, os.path.realpath(ctx.home))
        entries.append(Entry(bindir if broad else prefix, R))
        if os.path.dirname(found) != bindir:
            entries.append(Entry(os.path.dirname(found), R))
    return entries


def _python(ctx: Context) -> list[Entry]:
    entries = _runtime_prefixes(ctx, ("python3", "python", "pip", "uv"))
    entries.append(Entry(ctx.var("PYENV_ROOT", ctx.h(".pyenv")), R))
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if os.path.isabs(ctx.env.get(var, "")):
            entries.append(Entry(ctx.env[var], R))
    entries += [Entry(ctx.h(p), R) for p in (".local/bin", ".local/lib", ".local/share/uv")]
    entries += [Entry(ctx.h(p), R) for p in ("miniconda3", "anaconda3", ".local/share/pipx")]
    cache = ctx.var("XDG_CACHE_HOME", ctx.h(".cache"))
    entries.append(Entry(os.path.join(cache, "pip"), RW))
    entries += _cache(os.path.join(cache, "uv"), in_place=("archive-v0",))
    entries += _cache(os.path.join(cache, "pypoetry"), in_place=("virtualenvs",))
    return entries


def _node(ctx: Context) -> list[Entry]:
    entries = _runtime_prefixes(ctx, ("node", "npm", "bun", "deno"))
    entries.append(Entry(ctx.var("NVM_DIR", ctx.h(".nvm")), R))
    entries += [Entry(ctx.h(p), R) for p in (".volta", ".bun", ".local/share/fnm")]
    entries += [Entry(ctx.h(p), R) for p in (".npm-global", ".deno", ".npm", ".yarn")]
    # pnpm's home holds its global bin and its store, whose files are hard-linked into every
    # project's node_modules: a write there would change code that runs outside.
    entries.append(Entry(ctx.var("PNPM_HOME", ctx.h(".local/share/pnpm")), R))
    # npm's cache is content-addressed and checked when read; ~/.npm/_npx (what `npx` runs)
    # stays read-only under ~/.npm. yarn berry's cache (~/.yarn) is read in place by every
    # Plug'n'Play project, and bun's (~/.bun) is hard-linked into node_modules: read-only.
    entries += [Entry(ctx.h(p), RW) for p in (".npm/_cacache", ".npm/_logs")]
    cache = ctx.var("XDG_CACHE_HOME", ctx.h(".cache"))
    entries += [Entry(os.path.join(cache, p), RW) for p in ("yarn", "pnpm", "node-gyp")]
    return entries


def _rust(ctx: Context) -> list[Entry]:
    """All read-only: ~/.cargo/bin is on the user's PATH, and registry/src and git/checkouts
    hold build.rs scripts that the next build outside runs. The downloaded .crate files are not
    re-checked when cargo unpacks them again (after its cache clean-up), and with the sources
    read-only cargo could not unpack anything new here anyway; builds whose dependencies are
    already fetched work. credentials.toml (the registry token) is never granted."""
    cargo = ctx.var("CARGO_HOME", ctx.h(".cargo"))
    entries = []
    # A cargo found on PATH usually lives in a cargo home's bin/: that prefix holds the
    # registry token too (whichever home it is: CARGO_HOME may name another).
    for entry in _runtime_prefixes(ctx, ("cargo", "rustc")):
        names = ("credentials.toml", "credentials")
        if any(os.path.exists(os.path.join(entry.path, n)) for n in names):
            entries += _all_but_secrets(entry.path, R)
        elif not contains(os.path.realpath(cargo), entry.path):
            entries.append(entry)
    entries.append(Entry(ctx.var("RUSTUP_HOME", ctx.h(".rustup")), R))
    return entries + _all_but_secrets(cargo, R)


def _go(ctx: Context) -> list[Entry]:
    """GOPATH read-only: its bin/ is on the user's PATH (gopls, ...), and pkg/mod holds module
    sources that later builds outside compile without checking them again (Go's read-only
    file modes do not stop root, nor a chmod). Modules already downloaded build; fetching new
    ones needs --allow ~/go/pkg/mod. The build cache is what stays writable."""
    entries = _runtime_prefixes(ctx, ("go",))
    for var in ("GOROOT", "GOBIN", "GOMODCACHE"):
        if os.path.isabs(ctx.env.get(var, "")):
            entries.append(Entry(ctx.env[var], R))
    gopath = ctx.env.get("GOPATH", "")
    parts = [p for p in gopath.split(os.pathsep) if os.path.isabs(p)] or [ctx.h("go")]
    entries += [Entry(p, R) for p in parts]
    cache = ctx.var("XDG_CACHE_HOME", ctx.h(".cache"))
    entries.append(Entry(ctx.var("GOCACHE", os.path.join(cache, "go-build")), RW))
    return entries


GROUPS: dict[str, Callable[[Context], list[Entry]]] = {
    "system": _system,
    "tmp": _tmp,
    "git": _git,
    "python": _python,
    "node": _node,
    "rust": _rust,
    "go": _go,
}

# Every policy starts from these: without them no program can even be loaded.
BASELINE = ("system", "tmp")

DESCRIPTIONS = {
    "system": "system directories read+execute, selected /etc files, /proc, terminal devices",
    "tmp": "/tmp, /dev/shm and $TMPDIR read+write",
    "git": "git's user configuration read-only, never its credentials file",
    "python": "Python on PATH, pyenv, venvs, conda read-only; pip/uv/poetry caches read+write "
    "but for what virtualenvs use in place",
    "node": "Node on PATH, nvm, volta, bun, pnpm home read-only; npm/yarn/pnpm caches read+write",
    "rust": "cargo (but its credentials) and rustup read-only, the registry included",
    "go": "Go on PATH, GOROOT and GOPATH read-only; the build cache read+write",
}


def expand(name: str, ctx: Context) -> list[Entry]:
    return GROUPS[name](ctx)
