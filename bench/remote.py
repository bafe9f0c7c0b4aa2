"""Remote sessions against tmux over the same ssh: keystroke echo, an attached flood, and the
dashboard opening on eight remote sessions.

Prints numbers only. `python bench/remote.py [--mb 20] [--echo 300] [--nono PATH]`
Both run on "a host" that is this machine through a private sshd on 127.0.0.1 (tests/sshd.py:
its own keys and configs in the run's directory, nothing of ~/.ssh used): nono as
`nono attach HOST:NAME` (its direct relay over one ssh) and `nono mux --host HOST`; tmux as
`ssh -t HOST tmux attach` of a tmux server started there over ssh. The client runs in a
200x50 PTY drained as fast as it comes (bench/sessions.py's client, flood and echo; bench/
mux.py's dashboard terminal). Goals (issue 15): echo and flood within 2x of tmux over ssh,
the dashboard open on 8 remote sessions in under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from mixed import ensure  # noqa: E402
from sessions import COLS, ROWS, echo, flood  # noqa: E402

from tests.sshd import Sshd  # noqa: E402

HOST = "bench"
OPEN_SESSIONS, OPEN_RUNS = 8, 5


def base_env(root: Path, server: Sshd) -> dict[str, str]:
    env = {**os.environ, "XDG_STATE_HOME": str(root / "state"),
           "XDG_CONFIG_HOME": str(root / "config"), "NONO_SSH_COMMAND": server.ssh_command,
           "TERM": "xterm-256color", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
           "PYTHONPYCACHEPREFIX": str(root / "pycache")}  # fmt: skip
    for key in ("TMUX", "COLORTERM", "NONO_SESSION", "PYTHONDONTWRITEBYTECODE"):
        env.pop(key, None)
    return env


class RemoteNono:
    """The local nono reaching sessions of the host through ssh (the interface of
    bench/sessions.py's Nono: start, attach, capture, stop_all, env)."""

    name = "nono/ssh"

    def __init__(self, root: Path, data: Path, server: Sshd, binary: str | None) -> None:
        self.server, self.data = server, data
        self.env = base_env(root, server)
        self.bin = [binary] if binary else [sys.executable, "-m", "nono"]
        (root / "config" / "nono").mkdir(parents=True, exist_ok=True)
        (root / "config" / "nono" / "config.toml").write_text(server.config_toml(HOST))

    def nono(self, *args: str) -> str:
        done = subprocess.run([*self.bin, *args], env=self.env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"nono {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self, name: str, script: str, size: tuple[int, int] = (COLS, ROWS)) -> None:
        self.nono("run", "--host", HOST, "--detached", "--name", name,
                  "--size", "x".join(map(str, size)), "--read", str(self.data),
                  "--", "sh", "-c", script)  # fmt: skip

    def attach(self, name: str) -> list[str]:
        return [*self.bin, "attach", f"{HOST}:{name}"]

    def capture(self, name: str) -> str:
        return self.nono("capture", f"{HOST}:{name}")

    def dashboard(self) -> list[str]:
        return [*self.bin, "mux", "--host", HOST]

    def stop_all(self) -> None:
        listed = self.server.nono("ps", "--json").stdout
        for row in json.loads(listed or "[]"):
            self.server.nono("stop", row["id"], "--force")
        self.server.nono("prune")  # a name is free again for the next measurement


class RemoteTmux:
    """A tmux server on the host, driven and attached through the same ssh."""

    name = "tmux/ssh"

    def __init__(self, root: Path, server: Sshd) -> None:
        self.env = base_env(root, server)
        self.ssh = shlex.split(server.ssh_command)
        self.alias = server.address
        self.tmux = ["tmux", "-f", "/dev/null", "-S", str(root / "tmux.sock")]

    def t(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.ssh, "-T", self.alias, "--", shlex.join([*self.tmux, *args])],
                              env=self.env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    def start(self, name: str, script: str, size: tuple[int, int] = (COLS, ROWS)) -> None:
        self.t("new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]),
               "sh", "-c", script)  # fmt: skip
        self.t("set-option", "-g", "status", "off")

    def attach(self, name: str) -> list[str]:
        return [*self.ssh, "-t", self.alias, "--", shlex.join([*self.tmux, "attach", "-t", name])]

    def capture(self, name: str) -> str:
        return self.t("capture-pane", "-p", "-t", name).stdout

    def tile(self, scripts: list[str]) -> None:
        """One window of tiled panes: tmux's counterpart of a dashboard on many sessions."""
        for i, script in enumerate(scripts):
            if i == 0:
                self.t("new-session", "-d", "-s", "tiles", "-x", str(COLS), "-y", str(ROWS),
                       "sh", "-c", script)  # fmt: skip
            else:
                self.t("split-window", "-t", "tiles:0", "sh", "-c", script)
                self.t("select-layout", "-t", "tiles:0", "tiled")

    def dashboard(self) -> list[str]:
        return self.attach("tiles")

    def stop_all(self) -> None:
        self.t("kill-server")
        for _ in range(100):  # kill-server returns before the server is gone
            if self.t("has-session").returncode != 0:
                break
            time.sleep(0.02)


def open_time(side) -> dict[str, object]:
    """From starting the dashboard (or ssh + tmux attach) to all eight panes' content drawn."""
    from mux import PREFIX_DETACH, Term

    scripts = [f"seq 1 40; printf 'READY-{i}~'; exec sleep 600"
               for i in range(1, OPEN_SESSIONS + 1)]  # fmt: skip
    if isinstance(side, RemoteTmux):
        side.tile(scripts)
        keys = PREFIX_DETACH["tmux"]
    else:
        for i, script in enumerate(scripts, 1):
            side.start(f"s{i}", script, size=(80, 24))
        keys = PREFIX_DETACH["nono"]
    markers = [f"READY-{i}~".encode() for i in range(1, OPEN_SESSIONS + 1)]
    time.sleep(1.0)
    times, problems = [], []
    try:
        for _ in range(OPEN_RUNS):
            term = Term(side.dashboard(), side.env, Path.cwd(), markers)
            try:
                seen = [term.wait(m, 15) for m in markers]
                if None in seen:
                    problems.append(f"not drawn: {term.last_output()[-200:]!r}")
                else:
                    times.append((max(s for s in seen if s is not None) - term.started) * 1000)
                term.detach(keys)
            finally:
                term.close()
            time.sleep(0.2)
    finally:
        side.stop_all()
    r: dict[str, object] = {
        "open 8 (ms, median)": round(statistics.median(times)) if times else None
    }
    if problems:
        r["open problems"] = problems
    return r


def mux_has_host(nono: RemoteNono) -> bool:
    done = subprocess.run([*nono.bin, "mux", "--help"], env=nono.env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    return "--host" in done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--echo", type=int, default=300)
    parser.add_argument("--nono", help="the nono executable (default: python -m nono)")
    args = parser.parse_args()
    if not os.path.exists("/usr/sbin/sshd"):
        sys.exit("skipped: no sshd here (apt-get install openssh-server)")
    root = Path(tempfile.mkdtemp(prefix="nono-bench-remote-", dir="/var/tmp"))
    data = root / "data"
    big = ensure(data / "mixed.txt", args.mb)
    server = Sshd.start(root / "sshd")
    nono = RemoteNono(root, data, server, args.nono)
    sides: list = [RemoteTmux(root, server), nono] if shutil.which("tmux") else [nono]
    results: dict[str, dict[str, object]] = {}
    skipped: list[str] = []
    try:
        for side in sides:
            r: dict[str, object] = {}
            try:
                secs = flood(side, data, big, attached=True)
                r["flood attached (s)"] = round(secs, 2)
                r["flood attached (MB/s)"] = round(args.mb / secs, 1)
                samples = sorted(echo(side, args.echo))
                r["echo p50 (ms)"] = round(statistics.median(samples), 3)
                r["echo p99 (ms)"] = round(samples[int(len(samples) * 0.99) - 1], 3)
                if side is nono and not mux_has_host(nono):
                    skipped.append("open 8: nono mux --help lists no --host yet")
                else:
                    r.update(open_time(side))
            finally:
                side.stop_all()
            results[side.name] = r
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    names = list(results)
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    print(f"{'metric':<24}" + "".join(f"{n:>12}" for n in names))
    for key in keys:
        print(f"{key:<24}" + "".join(f"{results[n].get(key, '-')!s:>12}" for n in names))
    for line in skipped:
        print(f"skipped: {line}")


if __name__ == "__main__":
    main()
