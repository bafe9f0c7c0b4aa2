"""`nono mux`: the dashboard of sandboxed sessions; `nono mux new` starts one straight into it."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys

from nono.commands.options import add_sandbox_options
from nono.errors import NonoError

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from nono.config import Config
    from nono.mux.hosts import Hosts
    from nono.remote.hosts import Host


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keymap", metavar="NAME", help="keymap to use (default: [ui] keymap in config.toml)"
    )
    parser.add_argument(
        "--default-keys",
        action="store_true",
        help="start with the built-in default keymap if the configured one is broken",
    )
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="HOST",
        dest="hosts",
        help="show this host's sessions too ([hosts.NAME] of config.toml, or user@host); "
        "repeatable; adds to [mux] hosts",
    )
    # `new` is optional: without it the dashboard opens on the sessions already running.
    parser.usage = ("nono mux [-h] [--keymap NAME] [--default-keys] [--host HOST] "
                    "[new [OPTIONS] -- COMMAND ...]")  # fmt: skip
    parser.description = (
        f"{parser.description}. Without new, it opens on the sessions already running."
    )
    sub = parser.add_subparsers(dest="mux_command", metavar="new", title="optional command")
    new = sub.add_parser("new", help="start a sandboxed session and open the dashboard on it")
    add_sandbox_options(new)
    new.add_argument("--name", "-n", help="a name for the session")
    new.add_argument(
        "--host", metavar="HOST", dest="new_host", help="start it on this host (over ssh)"
    )
    new.add_argument(
        "--rollback", action="store_true", help="snapshot the writable directories first"
    )
    new.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")


def execute(args: argparse.Namespace) -> int:
    from nono.config import load_config
    from nono.session import registry

    registry.refuse_inside_sandbox()
    if not os.isatty(0) or not os.isatty(1):
        raise NonoError("nono mux needs a terminal", "use nono ps, capture and send-keys instead")
    config = load_config()
    hosts = _hosts(config, [*args.hosts, *filter(None, [getattr(args, "new_host", None)])])
    detached = asyncio.run(_dashboard(args, config, hosts))
    if detached:
        print("nono: detached from the dashboard; sessions keep running (nono mux to return)")
    return 0


async def _dashboard(args: argparse.Namespace, config: Config, host_list: list[Host]) -> bool:
    """Open the dashboard until the person leaves it; True when they detached. The hosts'
    links are started first: each ssh connects while the dashboard loads (about 0.2 s)."""
    hosts = None
    if host_list:
        from nono.mux.hosts import Hosts

        hosts = Hosts(host_list)
        await hosts.begin()
    try:
        return await _open(args, config, hosts)
    finally:
        if hosts is not None:
            await hosts.close()


async def _open(args: argparse.Namespace, config: Config, hosts: Hosts | None) -> bool:
    from nono.mux.keymap import KeymapError, builtin_default, load_keymap
    from nono.session import registry

    name = args.keymap or config.ui.keymap
    prefix = config.ui.prefix if "ui.prefix" in config.explicit else None
    problems = []
    try:
        keymap = load_keymap(name, prefix=prefix)
    except KeymapError as exc:
        if not args.default_keys:
            hint = f"{exc.hint}; or " if exc.hint else ""
            raise NonoError(
                exc.message, f"{hint}start anyway with: nono mux --default-keys"
            ) from None
        keymap = builtin_default()
        problems.append(f"{exc.message}: using the default keys")

    focus = None
    if args.mux_command == "new":
        focus = _start_new(args)
    records, _ = registry.list_records()
    from nono.mux import layout
    from nono.mux import state as saved_state

    saved, problem = saved_state.load()
    if problem:
        problems.append(problem)
    in_layout = set(layout.panes(saved.tree)) if saved and saved.tree else set()
    initial = [r for r in records if r.status != registry.EXITED or r.id in in_layout]

    from nono.mux.app import Mux

    mux = Mux(keymap, problems, config.notify, hosts)
    try:
        await mux.run(initial, saved, focus_new=focus)
    finally:
        mux.close()
    return mux.detaching


def _hosts(config: Config, named: list[str]) -> list[Host]:
    """[mux] hosts and the --host ones (each once, in that order), resolved."""
    if not named and not config.mux.hosts:
        return []
    from nono.remote.hosts import resolve

    wanted = list(dict.fromkeys([*config.mux.hosts, *named]))
    return [resolve(name, config.hosts) for name in wanted]


def _start_new(args: argparse.Namespace) -> str:
    """`nono run --detached` with the given options, sized to this terminal; its id."""
    if not args.cmd:
        raise NonoError("no command given", "usage: nono mux new [run options] -- COMMAND")
    typed = list(getattr(args, "argv", None) or [])
    # Everything typed after `mux new` and before the command is a run option.
    options = typed[typed.index("new") + 1 :] if "new" in typed else []
    tail = len(args.cmd)
    if tail and options[-tail:] == list(args.cmd):
        options = options[:-tail]
    cols, rows = os.get_terminal_size(1)
    argv = [sys.executable, "-m", "nono", "run", *options, "--detached",
            "--size", f"{cols}x{max(rows - 2, 2)}", "--", *args.cmd]  # fmt: skip
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise NonoError("the new session did not start")
    started = result.stdout.split()[0]
    if args.new_host:  # the session's id in the dashboard: `HOST:ID`
        from nono.config import load_config
        from nono.mux.hosts import session_id
        from nono.remote.hosts import resolve

        return session_id(resolve(args.new_host, load_config().hosts).name, started)
    return started
