"""Argument parsing and dispatch: one table of commands, each in its own module."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import os
import signal
import sys

from nono import __version__
from nono.errors import NonoError

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# name -> (module under nono.commands, one-line help)
COMMANDS = {
    "run": ("run", "run a command in the sandbox"),
    "why": ("why", "explain whether the policy allows a path or a host:port"),
    "setup": ("setup", "check what this kernel can enforce"),
    "profile": ("profile", "list, show and validate profiles"),
    "ps": ("ps", "list sessions"),
    "attach": ("attach", "attach this terminal to a session"),
    "detach": ("detach", "detach the clients of a session"),
    "stop": ("stop", "stop a session (SIGHUP and SIGTERM, then SIGKILL)"),
    "inspect": ("inspect", "show everything about a session"),
    "logs": ("logs", "show a session's event log"),
    "prune": ("prune", "remove exited sessions"),
    "send-keys": ("send_keys", "type keys into a session"),
    "capture": ("capture", "print a session's screen"),
    "wait": (
        "wait",
        "wait until a session reaches a state or shows a pattern",
    ),
    "rollback": ("rollback", "list, show, restore and verify rollbacks"),
    "mux": ("mux", "the full-screen dashboard of sessions (split panes, detach, reattach)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 1 like every nono error
        self.exit(1, f"nono: {message} (see: {self.prog} --help)\n")

    def refuse_unknown(self, extras: list[str]) -> None:
        """Name what was not understood, the option probably meant, and this command's help."""
        known = [s for action in self._actions for s in action.option_strings]
        guesses = []
        for arg in extras:
            close = difflib.get_close_matches(arg.split("=", 1)[0], known, n=1, cutoff=0.75)
            if arg.startswith("-") and close:
                guesses.append(close[0])
        meant = f"; did you mean {' '.join(guesses)}?" if guesses else ""
        self.error(f"unrecognized arguments: {' '.join(extras)}{meant}")


def build_parser(only: str | None = "*") -> _Parser:
    """The CLI with every command configured ("*"), or (for speed) only the one being run."""
    parser = _Parser(prog="nono", description="Run AI coding agents in a kernel-enforced sandbox.")
    parser.add_argument("--version", action="version", version=f"nono {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        if only not in ("*", None, name):
            continue  # each parser costs about a millisecond to build
        command = sub.add_parser(name, help=help_text, description=help_text)
        if only in ("*", name):
            module = importlib.import_module(f"nono.commands.{module_name}")
            module.configure(command)
            command.set_defaults(_module=module)
    return parser


def _chosen(parser: _Parser, args: argparse.Namespace) -> _Parser:
    """The innermost (sub)command parser the arguments selected: `nono profile show`'s own."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return _chosen(chosen, args)
    return parser


def _command_name(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a pipe's reader may be gone: find out here, not at interpreter exit
        return code
    except BrokenPipeError:
        if not _stdout_unread():
            raise  # a pipe of ours that is not stdout: a real failure, shown as one
        return _reader_gone()


def _stdout_unread() -> bool:
    """Whether standard output is a pipe nobody reads any more (its write end polls as an
    error): the only BrokenPipeError that means `nono ps | head` is done."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (OSError, ValueError):
        return True  # no stdout left to ask: it is gone


def _reader_gone() -> int:
    """`nono ps | head` ended the reader: stop quietly, as a program killed by SIGPIPE does."""
    # Python would flush what is still buffered at exit and complain again; send it nowhere.
    with contextlib.suppress(OSError, ValueError):  # no fd to redirect: nothing more to flush
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 128 + signal.SIGPIPE  # 141, the status a shell shows for a program SIGPIPE ended


def _check_config(command: str) -> None:
    """Every command reads config.toml alike: a broken one is an error naming its file and
    line, whether the command itself needs the file or not, as git treats a bad config. Not
    for `setup`, which is how one starts over. A missing file costs a stat, no parse."""
    from nono.paths import config_file

    if command != "setup" and config_file().exists():
        from nono.config import load_config  # its dataclasses cost ~1.5 ms: only when needed

        load_config()


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first `--` is the child's command line, untouched by argparse.
    tail: list[str] | None = None
    if "--" in argv:
        cut = argv.index("--")
        argv, tail = argv[:cut], argv[cut + 1 :]
    if argv[:1] == ["relay"] and tail is None:
        # The remote end of a link (remote/relay.py): for a nono at the other end of ssh, so
        # not in the command table (or `nono --help`).
        from nono.remote.relay import main as relay

        return relay(argv[1:])
    # Importing every command costs a sandboxed agent's start a few milliseconds each.
    parser = build_parser(only=_command_name(argv))
    # Unknown options are reported by the command they were given to, so the error can point
    # at `nono run --help` (not `nono --help`) and at the option probably meant.
    args, extras = parser.parse_known_args(argv)
    if extras:
        _chosen(parser, args).refuse_unknown(extras)
    if args.command is None:
        parser.print_help()
        return 1
    args.argv = argv  # what was typed before `--`: a restart repeats a session's options
    if tail is not None:
        args.cmd = (getattr(args, "cmd", None) or []) + tail
    try:
        _check_config(args.command)
        return int(args._module.execute(args) or 0)
    except NonoError as exc:
        if not getattr(args, "silent", False):
            print(f"nono: {exc.one_line()}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        return 130
