"""Running one nono command on other hosts over ssh, every host at once, with what comes back
bounded in size and time: a host that hangs or floods costs a line of error, never the
listing of the others."""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import time
from dataclasses import dataclass

from nono.remote.hosts import Host, ssh_argv
from nono.session.activity import clean_text

# typing costs start-up time to import; annotations here are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

OUTPUT_LIMIT = 8 * 1024 * 1024  # bytes of a remote command's output kept: a listing is far less
ERROR_LIMIT = 64 * 1024
TIMEOUT = 60.0


@dataclass(frozen=True)
class Outcome:
    """What one host's command gave: its output, or why there is none (`error`, one clean
    line for a person)."""

    host: Host
    output: bytes = b""
    error: str | None = None
    said: bytes = b""  # its stderr (nono's notes), to be cleaned before it is shown


def run_on_hosts(
    hosts: Sequence[Host], nono_args: Sequence[str], timeout: float = TIMEOUT
) -> list[Outcome]:
    """Run `nono ARGS` on every host at once; one Outcome each, in the order given."""
    running: list[tuple[Host, subprocess.Popen[bytes] | None, str | None]] = []
    for host in hosts:
        try:
            proc = subprocess.Popen(ssh_argv(host, nono_args), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        except OSError as exc:
            running.append((host, None, f"cannot run ssh: {exc.strerror or exc}"))
            continue
        running.append((host, proc, None))
    outputs = _collect([p for _, p, _ in running if p is not None], timeout)
    outcomes = []
    for host, started, failed in running:
        if started is None:
            outcomes.append(Outcome(host, error=failed))
            continue
        out, err, why = outputs[started.pid]
        code = started.wait()
        if why is None and code != 0:
            why = why_failed(code, err)
        outcomes.append(Outcome(host, out, why or None, err))
    return outcomes


def _collect(
    procs: list[subprocess.Popen], timeout: float
) -> dict[int, tuple[bytes, bytes, str | None]]:
    """Every process's stdout and stderr, read together (one full pipe must not stall another),
    each bounded; a process past its limit or the deadline is killed and said so."""
    sel = selectors.DefaultSelector()
    bufs: dict[int, list[bytearray]] = {}
    why: dict[int, str | None] = {}
    for proc in procs:
        bufs[proc.pid] = [bytearray(), bytearray()]
        why[proc.pid] = None
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ, (proc, 0))
        sel.register(proc.stderr, selectors.EVENT_READ, (proc, 1))
    deadline = time.monotonic() + timeout
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                for key in list(sel.get_map().values()):
                    proc = key.data[0]
                    why[proc.pid] = f"no answer in {timeout:.0f} s"
                    _drop(sel, key.fileobj, proc)
                break
            for key, _ in sel.select(left):
                proc, which = key.data
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = bufs[proc.pid][which]
                buf += data
                if len(buf) > (OUTPUT_LIMIT if which == 0 else ERROR_LIMIT):
                    if which == 0:
                        why[proc.pid] = f"answered more than {OUTPUT_LIMIT} bytes"
                    _drop(sel, key.fileobj, proc)
    finally:
        sel.close()
    return {pid: (bytes(out), bytes(err), why[pid]) for pid, (out, err) in bufs.items()}


def _drop(sel: selectors.BaseSelector, fileobj: Any, proc: subprocess.Popen) -> None:
    with contextlib.suppress(KeyError, ValueError):
        sel.unregister(fileobj)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def why_failed(code: int, stderr: bytes) -> str:
    """One line from a failed ssh or remote nono: its last non-blank line of error, cleaned (it
    comes from the other host: no escape of it may reach the person's terminal)."""
    lines = [ln for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    said = clean_text(lines[-1]) if lines else ""
    what = "cannot reach it (ssh failed)" if code == 255 else f"its nono failed (exit {code})"
    return f"{what}: {said}" if said else what
