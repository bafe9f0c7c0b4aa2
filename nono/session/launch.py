"""Starting a session: fork the supervisor, hand it the prepared sandbox, wait until attachable."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from nono.errors import NonoError
from nono.sandbox.launcher import ChildSetupFailed, Prepared, spawn
from nono.session import registry
from nono.session.registry import RUNNING, Record

# How long a detached start watches the child before calling it started: an agent that dies
# at once (bad flag, missing API key) is reported with its output, not as "started".
EARLY_EXIT_WINDOW = 0.3


def socket_name() -> str:
    """An unguessable abstract socket name. Abstract, because Landlock's scope (ABI 6) is the
    kernel's own guarantee that no sandboxed process can connect to it."""
    return f"nono/{os.getuid()}/{secrets.token_hex(16)}"


def start(
    prepared: Prepared, *, name: str | None, cols: int, rows: int, detached: bool,
    session_id: str | None = None, rollback_id: str | None = None,
    extra: dict[str, Any] | None = None, agent: str | None = None,
) -> Record:  # fmt: skip
    """Fork a supervisor for `prepared`; return its record once clients can attach. `agent`:
    the agent kind whose rules (agents/KIND.yaml) tell its activity state from its screen."""
    session_id = session_id or registry.new_id()
    name = name or f"{os.path.basename(prepared.argv[0])}-{session_id[:4]}"
    _check_name_free(name)
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    if prepared.cgroup is not None:
        prepared.cgroup.wait()  # no thread may be running across the fork
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 1
        try:
            code = _supervisor_main(prepared, session_id, name, cols, rows, detached, write_end,
                                    rollback_id, extra or {}, agent)  # fmt: skip
        except BaseException as exc:  # the child never returns into the CLI's code
            with contextlib.suppress(OSError):
                os.write(write_end, json.dumps({"error": f"supervisor failed: {exc}"}).encode())
        finally:
            os._exit(code if isinstance(code, int) else 0)
    os.close(write_end)
    if prepared.cgroup is not None:
        prepared.cgroup.leave()  # the supervisor forks the sandbox inside, then leaves too
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    prepared.close()
    try:
        status = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        status = {}
    if "error" in status:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        err = NonoError(status["error"])
        err.exit_code = status.get("exit_code", 1)  # type: ignore[attr-defined]
        err.output = status.get("output", "")  # type: ignore[attr-defined]
        raise err
    if "id" not in status:
        raise NonoError("the supervisor died while starting the session")
    if status.get("warning"):  # it runs; the person should still know what may end it
        print(f"nono: warning: session {name}: {status['warning']}", file=sys.stderr)
    return registry.read_record(status["id"])


def _check_name_free(name: str) -> None:
    # An exited session keeps its name while its record is listed: `nono ps --all`, attach
    # and capture by name must never find two.
    records, _ = registry.list_records()
    holders = [r for r in records if r.name == name]
    if any(r.status != registry.EXITED for r in holders):
        raise NonoError(f"a running session is already named {name!r}", "choose another --name")
    if holders:
        raise NonoError(
            f"an exited session is already named {name!r}",
            "choose another --name, or remove the records of exited sessions with nono prune",
        )


def _hosts_info(prepared: Prepared, egress: tuple[socket.socket, Path] | None) -> dict[str, Any]:
    """The record's account of a host list: the rules, the proxy's port, the log's path."""
    if egress is None:
        return {}
    net = prepared.policy.network
    return {
        "allow_hosts": [e.text for e in net.allow_hosts],
        "deny_hosts": [e.text for e in net.deny_hosts],
        "proxy_port": prepared.view.proxy_port,
        "egress_log": str(egress[1]),
    }


def _supervisor_main(
    prepared: Prepared, session_id: str, name: str, cols: int, rows: int, detached: bool,
    status_fd: int, rollback_id: str | None = None, extra: dict[str, Any] | None = None,
    agent: str | None = None,
) -> int:  # fmt: skip
    from nono.session.supervisor import Supervisor

    # Own session, no terminal: closing the user's terminal must not hang the agent up.
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def report(status: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            os.write(status_fd, json.dumps(status).encode())
            os.close(status_fd)

    # Before the sandbox is forked, so that the agent is born wherever the supervisor lives.
    from nono.session.logout import keep_past_logout

    logout = keep_past_logout(session_id, f"nono session {name}",
                              bounded=prepared.cgroup is not None)  # fmt: skip
    if logout:
        extra = {**(extra or {}), "logout": logout}

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    abstract = socket_name()
    listener.bind("\0" + abstract)
    listener.listen(16)

    try:
        # The PTY is made inside the sandbox, in its own devpts (see launcher.spawn).
        started = spawn(prepared, terminal=(cols, rows))
    except ChildSetupFailed as exc:
        report({"error": exc.message, "exit_code": exc.exit_code})
        return 1
    finally:
        prepared.close()
    assert started.master is not None
    master = started.master

    policy = prepared.policy
    egress = None
    if started.proxy is not None:
        from nono import paths

        egress = (started.proxy, paths.egress_log(session_id))
    record = Record(
        id=session_id, name=name, command=tuple(prepared.argv), workdir=policy.workdir,
        profile=policy.profile, network=policy.network.mode,
        sandbox={
            "writable": policy.writable_roots(),
            "grants": len(policy.grants),
            "open_ports": list(policy.network.open_ports),
            "connect_ports": list(policy.network.connect_ports),
            **_hosts_info(prepared, egress),
            "landlock_abi": prepared.plan.abi,
            "enforcement": list(prepared.plan.notes),
        },
        created=time.time(), supervisor_pid=os.getpid(),
        supervisor_start=registry.process_start(os.getpid()) or time.time(),
        socket=abstract, status=RUNNING, child_pid=started.pid, size=(cols, rows),
        rollback_id=rollback_id, extra=extra or {}, agent=agent,
    )  # fmt: skip
    registry.write_record(record)
    registry.log_event(session_id, "started", pid=started.pid, command=list(prepared.argv))
    supervisor = Supervisor(record, master, started.pid, listener, detached=detached,
                            egress=egress, network=policy.network)  # fmt: skip

    async def ready(sup: Supervisor) -> None:
        if detached:
            try:
                await asyncio.wait_for(sup.exited.wait(), EARLY_EXIT_WINDOW)
            except TimeoutError:
                pass
            else:
                if sup.exit_code != 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(sup.caught_up(), 5)
                    report({"error": f"{name} exited at start with code {sup.exit_code}",
                            "exit_code": sup.exit_code or 1,
                            "output": sup.model.capture(history=200)})  # fmt: skip
                    return
                # Done already, and successfully: that is a session that ran, not a failure.
        report({"id": session_id, "warning": logout})

    # The terminal model allocates many small, acyclic objects: with the default thresholds the
    # cycle collector takes a quarter of its time (measured: 1.9 -> 2.9 MB/s on bench/mixed.py).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    return asyncio.run(supervisor.run(ready)) or 0
