"""The sandbox flags shared by `nono run` and `nono why`."""

from __future__ import annotations

import argparse

from nono.pathkinds import PATH_KINDS

# nono.sandbox.build is imported when the options are used, not to build the parser:
# `nono mux` (which only parses them) starts 40 ms sooner.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from nono.sandbox.build import RunOptions


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range (1-65535): {value}")
    return value


def add_sandbox_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("sandbox")
    g.add_argument(
        "--profile", "-p", metavar="NAME", help="profile name or file (default: default)"
    )
    for kind in PATH_KINDS:
        names = (kind.flag, kind.short) if kind.short else (kind.flag,)
        g.add_argument(
            *names,
            dest=kind.name,
            action="append",
            default=[],
            metavar=kind.metavar,
            help=kind.help,
        )
    g.add_argument(
        "--allow-cwd",
        action="store_true",
        help="the working directory read+write (or as the profile's workdir.access says)",
    )
    g.add_argument("--workdir", metavar="DIR", help="run the command in DIR (default: here)")
    g.add_argument(
        "--block-net", action="store_true", help="block TCP, UDP and every non-Unix socket family"
    )
    g.add_argument(
        "--allow-port",
        action="append",
        default=[],
        type=port,
        metavar="N",
        help="with --block-net: allow TCP connect and bind on port N",
    )
    g.add_argument(
        "--allow-connect-port",
        action="append",
        default=[],
        type=port,
        metavar="N",
        help="with --block-net: allow outbound TCP connect to port N",
    )
    g.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="RULE",
        help="reach HOST[:PORT] (or *.DOMAIN) through nono's proxy; with any, nothing else "
        "is reachable (default ports 80, 443)",
    )
    g.add_argument(
        "--deny-host",
        action="append",
        default=[],
        metavar="RULE",
        help="refuse HOST[:PORT] (or *.DOMAIN) even where an allow rule matches",
    )
    g.add_argument(
        "--allow-host-group",
        action="append",
        default=[],
        metavar="NAME",
        help="add a named list of hosts (registries: npm, PyPI, crates.io, Go, GitHub)",
    )
    g.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS",
        help="as curl's: the proxy reaches HOST:PORT at ADDRESS (PORT may be *)",
    )
    g.add_argument(
        "--allow-net",
        action="store_true",
        help="drop the profile's host list: the network unfiltered",
    )
    g.add_argument(
        "--allow-unix-socket",
        action="append",
        default=[],
        metavar="PATH",
        help="let the child connect to this Unix socket (every other host socket is hidden)",
    )
    g.add_argument(
        "--allow-git-hooks",
        action="store_true",
        help="let the child change git hooks and config in writable grants (run outside later!)",
    )
    g.add_argument(
        "--max-processes",
        type=int,
        default=None,
        metavar="N",
        help="at most N processes (threads count) in the sandbox; 0: no bound",
    )
    g.add_argument(
        "--unscoped",
        action="store_true",
        help="do not scope signals and abstract sockets (kernels before 6.12)",
    )


def options_from_args(args: argparse.Namespace) -> RunOptions:
    from nono.sandbox.build import RunOptions

    return RunOptions(
        profile=args.profile,
        **{kind.name: tuple(getattr(args, kind.name)) for kind in PATH_KINDS},
        allow_cwd=args.allow_cwd,
        workdir=args.workdir,
        block_net=args.block_net,
        allow_port=tuple(args.allow_port),
        allow_host=tuple(getattr(args, "allow_host", ())),
        deny_host=tuple(getattr(args, "deny_host", ())),
        allow_host_group=tuple(getattr(args, "allow_host_group", ())),
        resolve=tuple(getattr(args, "resolve", ())),
        allow_net=getattr(args, "allow_net", False),
        allow_connect_port=tuple(args.allow_connect_port),
        unscoped=args.unscoped,
        allow_unix_socket=tuple(getattr(args, "allow_unix_socket", ())),
        max_processes=getattr(args, "max_processes", None),
        allow_git_hooks=getattr(args, "allow_git_hooks", False),
    )
