"""One nono command run by a host's own nono over ssh, for a person at a terminal: `logs`,
`inspect`, `rollback`, `capture` of an exited session (commands that read that host's state
files, which no supervisor there answers for).

Everything it sends is untrusted. Its output reaches the caller a line at a time (so `logs
-f` streams), each line bounded; its stderr is kept bounded and shown cleaned, a nono error
line of it named with the host. Its exit code is the command's, except ssh's own 255, which is
said as a failure to reach the host. Nothing it sends is ever run here."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass

from nono.errors import NonoError
from nono.escape import escaped
from nono.remote.hosts import Host, ssh_argv

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

SSH_FAILED = 255  # ssh's status when it could not run the command there
LINE_LIMIT = 1024 * 1024  # a longer line is cut: no host makes us hold more than this for one
OUTPUT_LIMIT = 16 * 1024 * 1024  # output held whole (JSON to parse): refused past this
ERROR_LIMIT = 64 * 1024  # stderr kept: its end, where a failure says why
TIMEOUT = 60.0  # for a command that only reads (inspect, logs): it answers in well under this


@dataclass(frozen=True)
class Finished:
    code: int
    output: bytes  # stdout, when it was held rather than handed on line by line
    said: bytes  # the end of its stderr


def run(
    host: Host,
    nono_args: Sequence[str],
    on_line: Callable[[bytes], None] | None = None,
    timeout: float | None = TIMEOUT,
) -> Finished:
    """Run `nono ARGS` on `host`. With `on_line`, each line of its output is handed on as it
    comes (cut at LINE_LIMIT, without its newline); without, the output is held, up to
    OUTPUT_LIMIT. `timeout`: seconds it may take in all (None: as long as it runs, for a
    follow or a restore). Ctrl-C ends it (KeyboardInterrupt, ssh killed)."""
    try:
        proc = subprocess.Popen(ssh_argv(host, nono_args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)  # fmt: skip
    except OSError as exc:
        raise NonoError(f"host {host.name}: cannot run ssh: {exc.strerror or exc}") from None
    try:
        output, said = _pump(host, proc, on_line, timeout)
        return Finished(proc.wait(), output, said)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _pump(
    host: Host,
    proc: subprocess.Popen[bytes],
    on_line: Callable[[bytes], None] | None,
    timeout: float | None,
) -> tuple[bytes, bytes]:
    assert proc.stdout is not None and proc.stderr is not None
    deadline = None if timeout is None else time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, out)
        sel.register(proc.stderr, selectors.EVENT_READ, err)
        while sel.get_map():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise NonoError(f"host {host.name}: its nono gave no full answer in "
                                f"{timeout:g} s")  # fmt: skip
            for key, _ in sel.select(left):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = key.data
                buf += data
                if buf is err:
                    del err[: max(0, len(err) - ERROR_LIMIT)]
                elif on_line is not None:
                    _hand_on(out, on_line)
                elif len(out) > OUTPUT_LIMIT:
                    raise NonoError(f"host {host.name}: its nono answered more than "
                                    f"{OUTPUT_LIMIT} bytes")  # fmt: skip
    if on_line is not None and out:
        on_line(bytes(out[:LINE_LIMIT]))  # the last line, without a newline
        out.clear()
    return bytes(out), bytes(err)


def _hand_on(buf: bytearray, on_line: Callable[[bytes], None]) -> None:
    while True:
        end = buf.find(b"\n")
        if end < 0:
            if len(buf) > LINE_LIMIT:  # a line with no end in sight: cut, and go on
                on_line(bytes(buf[:LINE_LIMIT]))
                del buf[:]
            return
        on_line(bytes(buf[: min(end, LINE_LIMIT)]))
        del buf[: end + 1]


def printable(line: bytes | str) -> str:
    """A line another host sent, safe for the person's terminal: tabs kept, every other
    control character (and bidi override) shown as an escape (as `nono rollback` shows an
    agent's text), never sent. Not rollback/printable.py's own: importing it costs 60 ms."""
    if isinstance(line, bytes):
        line = line.decode(errors="replace")
    return escaped(line)


def show_said(host: Host, done: Finished) -> None:
    """Its stderr on ours, cleaned; a nono error line names the host it came from."""
    for raw in done.said.decode(errors="replace").splitlines():
        line = printable(raw)
        if not line.strip():
            continue
        if line.startswith("nono: "):
            line = f"nono: host {host.name}: {line[len('nono: ') :]}"
        print(line, file=sys.stderr)


def outcome(host: Host, done: Finished) -> int:
    """The exit status to give for a finished command, its words shown: ssh's failure is one
    line saying the host was not reached (and how to check), anything else is the remote
    command's own status."""
    if done.code == SSH_FAILED:
        raise failure(host, done)
    show_said(host, done)
    return done.code


def failure(host: Host, done: Finished) -> NonoError:
    """A failed command as one error, its exit code kept: ssh's failure to reach the host, or
    the last error line of its nono, named with the host."""
    lines = [printable(ln) for ln in done.said.decode(errors="replace").splitlines()]
    said = [ln for ln in lines if ln.strip()]
    if done.code == SSH_FAILED:
        error = NonoError(f"host {host.name}: cannot reach it (ssh failed)"
                          + (f": {said[-1][:500]}" if said else ""),
                          f"check that ssh reaches {printable(host.address)}, or see "
                          "[hosts] in config.toml")  # fmt: skip
    else:
        last = said[-1] if said else f"its nono failed (exit {done.code})"
        error = NonoError(f"host {host.name}: {last.removeprefix('nono: ')}")
    error.exit_code = done.code  # type: ignore[attr-defined]
    return error


def strict_json(host: Host, output: bytes, shape: type) -> Any:
    """The remote command's JSON answer, parsed strictly (no NaN, the expected top-level
    shape); a NonoError for anything else. Re-emitted with json.dumps, which escapes every
    control character, so no byte of it reaches the terminal as sent."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    try:
        value = json.loads(output.decode(), parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        why = f"host {host.name}: its answer is not JSON ({printable(str(exc))})"
        raise NonoError(why, "is the nono there the same as this one? (nono --version)") from None
    if not isinstance(value, shape):
        raise NonoError(f"host {host.name}: its answer is not a JSON {shape.__name__}")
    return value


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def forward(host: Host, nono_args: Sequence[str], *, as_json: type | None = None,
            timeout: float | None = TIMEOUT) -> int:  # fmt: skip
    """A command whose output a person reads as it is: text a line at a time, cleaned; with
    `as_json` (list or dict), the whole answer parsed strictly and printed again."""
    if as_json is not None:
        done = run(host, nono_args, timeout=timeout)
        if done.code == 0:
            emit_json(strict_json(host, done.output, as_json))
        return outcome(host, done)

    def show(line: bytes) -> None:
        print(printable(line), flush=True)

    return outcome(host, run(host, nono_args, show, timeout=timeout))
