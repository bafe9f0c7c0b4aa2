"""Which hosts nono can reach and how: `[hosts.NAME]` of config.toml, `user@host` given
directly, `NAME:SESSION` addressing, and the ssh command line that reaches one.

OpenSSH does the connecting (nothing of nono listens on the network); this module only builds
its argv, as data, so that what runs is visible and testable without a network."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass

from nono.errors import NonoError

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_NONO = "nono"
SSH_COMMAND_ENV = "NONO_SSH_COMMAND"
# A host name of config.toml: what a person types before the colon of `build:claude-1`.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Host:
    """A host nono reaches over ssh: `address` is anything ssh accepts (user@host, an alias of
    ~/.ssh/config), `nono` the command line that runs nono there (the remote shell reads it)."""

    name: str
    address: str
    ssh_options: tuple[str, ...] = ()
    nono: str = DEFAULT_NONO


def resolve(spec: str, hosts: Mapping[str, Host]) -> Host:
    """A configured host by name, or a literal `user@host`; otherwise an error listing the
    configured names. `hosts`: the configured ones (config.py's Config.hosts: this module
    does not read config.toml, which builds its Hosts from here)."""
    if spec in hosts:
        return hosts[spec]
    if "@" in spec and _plain_address(spec):
        return Host(spec, spec)
    known = ", ".join(sorted(hosts)) or "none configured"
    raise NonoError(
        f"unknown host {spec!r}",
        f"hosts: {known}; name one in config.toml as [hosts.NAME], or give user@host",
    )


def _plain_address(spec: str) -> bool:
    """user@host as ssh takes it; an address starting with "-" would be read as an option."""
    user, _, host = spec.partition("@")
    return (
        bool(user)
        and bool(host)
        and not spec.startswith("-")
        and not any(c.isspace() for c in spec)
    )


def split_address(ref: str, hosts: Mapping[str, Host]) -> tuple[str | None, str]:
    """`build:claude-1` -> ("build", "claude-1") when `build` is a configured host or a
    user@host; anything else (a local session name, colon or not) -> (None, ref)."""
    host, colon, session = ref.partition(":")
    if not colon or not session:
        return None, ref
    if host in hosts or ("@" in host and _plain_address(host)):
        return host, session
    return None, ref


def ssh_program(environ: Mapping[str, str] | None = None) -> list[str]:
    """`ssh`, or NONO_SSH_COMMAND split as a shell would (as GIT_SSH_COMMAND is for git)."""
    value = (os.environ if environ is None else environ).get(SSH_COMMAND_ENV, "").strip()
    if not value:
        return ["ssh"]
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise NonoError(f"{SSH_COMMAND_ENV} cannot be read: {exc}") from None


def remote_command(host: Host, nono_args: Sequence[str]) -> str:
    """The command line the remote shell runs: the host's `nono` command as the person wrote
    it (it may be `~/.local/bin/nono` or `env X=1 python -m nono`), then each argument quoted."""
    return " ".join([host.nono, *(shlex.quote(a) for a in nono_args)])


# For a link that lives as long as a dashboard: a host that stops answering (the network gone,
# the laptop asleep) is noticed in about 45 s, not when TCP gives up hours later.
KEEPALIVE = ("-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3")


def ssh_argv(
    host: Host,
    remote_argv: Sequence[str],
    environ: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
) -> list[str]:
    """The ssh command that runs `remote_argv` (a nono command's arguments) on `host`. -T: no
    terminal (the relay speaks frames on stdin/stdout); BatchMode: never ask for a password on
    a terminal nono is drawing on, fail instead. `options`: nono's own, after the host's."""
    return [*ssh_program(environ), *host.ssh_options, *options, "-T", "-o", "BatchMode=yes",
            host.address, "--", remote_command(host, remote_argv)]  # fmt: skip
