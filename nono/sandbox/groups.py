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


def _git(ctx: Context) -> list[Entry]:
    return [
        Entry(ctx.h(".gitconfig"), R),
        Entry(ctx.h(".gitignore_global"), R),
        Entry(os.path.join(ctx.var("XDG_CONFIG_HOME", ctx.h(".config")), "git"), R),
    ]


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
    entries += [Entry(os.path.join(cache, p), RW) for p in ("pip", "uv", "pypoetry")]
    return entries


def _node(ctx: Context) -> list[Entry]:
    entries = _runtime_prefixes(ctx, ("node", "npm", "bun", "deno"))
    entries.append(Entry(ctx.var("NVM_DIR", ctx.h(".nvm")), R))
    entries += [Entry(ctx.h(p), R) for p in (".volta", ".bun", ".local/share/fnm")]
    entries += [Entry(ctx.h(p), R) for p in (".npm-global", ".deno")]
    entries += [Entry(ctx.h(p), RW) for p in (".npm", ".yarn", ".local/share/pnpm")]
    cache = ctx.var("XDG_CACHE_HOME", ctx.h(".cache"))
    entries += [Entry(os.path.join(cache, p), RW) for p in ("yarn", "pnpm", "node-gyp")]
    return entries


def _rust(ctx: Context) -> list[Entry]:
    cargo = ctx.var("CARGO_HOME", ctx.h(".cargo"))
    entries = _runtime_prefixes(ctx, ("cargo", "rustc"))
    entries += [Entry(cargo, R), Entry(ctx.var("RUSTUP_HOME", ctx.h(".rustup")), R)]
    entries += [Entry(os.path.join(cargo, p), RW) for p in ("registry", "git")]
    return entries


def _go(ctx: Context) -> list[Entry]:
    gopath = ctx.var("GOPATH", ctx.h("go"))
    entries = _runtime_prefixes(ctx, ("go",))
    goroot = ctx.env.get("GOROOT", "")
    if os.path.isabs(goroot):
        entries.append(Entry(goroot, R))
    cache = ctx.var("XDG_CACHE_HOME", ctx.h(".cache"))
    entries += [Entry(gopath, RW), Entry(os.path.join(cache, "go-build"), RW)]
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
    "git": "git's user configuration, read-only",
    "python": "Python on PATH, pyenv, venvs, conda read-only; pip/uv/poetry caches read+write",
    "node": "Node on PATH, nvm, volta, bun read-only; npm/yarn/pnpm caches read+write",
    "rust": "cargo and rustup read-only; the cargo registry read+write",
    "go": "Go on PATH and GOROOT read-only; GOPATH and the build cache read+write",
}


def expand(name: str, ctx: Context) -> list[Entry]:
    return GROUPS[name](ctx)
