"""Sessions against tmux, side by side: attached flood, keystroke echo, attach time, idle CPU.

Prints numbers only. `python bench/sessions.py [--mb 20] [--echo 300] [--skip-headless]`
Each multiplexer runs the same shell commands in a 200x50 session; the client runs in a real
PTY whose output is drained as fast as it comes.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from mixed import ensure

COLS, ROWS = 200, 50
DONE = b"__BENCH_DONE__"


class Client:
    """A client process (nono attach / tmux attach) on a PTY we drain."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(argv[0], argv, env)
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))

    def read_until(self, marker: bytes, timeout: float) -> float:
        """Drain output until `marker` shows; returns the time it showed."""
        tail = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 1 << 20)
            except OSError:
                break
            if marker in tail + data:
                return time.monotonic()
            tail = (tail + data)[-max(len(marker) * 4, 2000) :]
        raise TimeoutError(f"{marker!r} not seen; last output: {tail[-500:]!r}")

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        os.close(self.fd)


class Nono:
    name = "nono"

    def __init__(self, root: Path, data: Path, binary: str | None = None) -> None:
        self.env = {**os.environ, "XDG_STATE_HOME": str(root / "state"),
                    "XDG_CONFIG_HOME": str(root / "config")}  # fmt: skip
        self.data = data
        self.bin = [binary] if binary else [sys.executable, "-m", "nono"]

    def start(self, name: str, script: str) -> None:
        subprocess.run([*self.bin, "run", "--detached", "--name", name, "--size", f"{COLS}x{ROWS}",
                        "--read", str(self.data), "--", "sh", "-c", script],
                       env=self.env, check=True, capture_output=True)  # fmt: skip

    def attach(self, name: str) -> list[str]:
        return [*self.bin, "attach", name]

    def server_pid(self, name: str) -> int:
        out = subprocess.run([*self.bin, "inspect", name, "--json"], env=self.env,
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        return json.loads(out)["supervisor_pid"]

    def capture(self, name: str) -> str:
        return subprocess.run([*self.bin, "capture", name], env=self.env,
                              capture_output=True, text=True).stdout  # fmt: skip

    def stop_all(self) -> None:
        out = subprocess.run([*self.bin, "ps", "--json"], env=self.env, capture_output=True,
                             text=True).stdout  # fmt: skip
        for row in json.loads(out or "[]"):
            subprocess.run([*self.bin, "stop", row["id"], "--force"], env=self.env,
                           capture_output=True)  # fmt: skip


class Tmux:
    name = "tmux"

    def __init__(self, root: Path, data: Path) -> None:
        self.sock = str(root / "tmux.sock")
        self.env = dict(os.environ)
        self.env.pop("TMUX", None)

    def t(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-f", "/dev/null", "-S", self.sock, *args], env=self.env,
                              capture_output=True, text=True)  # fmt: skip

    def start(self, name: str, script: str) -> None:
        self.t("new-session", "-d", "-s", name, "-x", str(COLS), "-y", str(ROWS), "sh", "-c",
               script)  # fmt: skip
        self.t("set-option", "-g", "status", "off")

    def attach(self, name: str) -> list[str]:
        return ["tmux", "-f", "/dev/null", "-S", self.sock, "attach", "-t", name]

    def server_pid(self, name: str) -> int:
        return int(self.t("display-message", "-p", "#{pid}").stdout.strip())

    def capture(self, name: str) -> str:
        return self.t("capture-pane", "-p", "-t", name).stdout

    def stop_all(self) -> None:
        self.t("kill-server")
        # kill-server returns before the server is gone; a new session must not race it.
        for _ in range(100):
            if self.t("has-session").returncode != 0 and not os.path.exists(self.sock):
                break
            time.sleep(0.02)
        if os.path.exists(self.sock):
            os.unlink(self.sock)


def flood(mux, work: Path, big: Path, attached: bool) -> float:
    """Seconds from the trigger to the end marker on screen, for `cat` of the big file."""
    name = f"flood{'a' if attached else 'h'}"
    trigger = work / f"go-{name}"
    # The same work directory serves each side in turn: a trigger left by the one before would
    # start this side's flood before its client is there to time it.
    trigger.unlink(missing_ok=True)
    script = (f"while [ ! -e {trigger} ]; do sleep 0.005; done; cat {big}; "
              f"printf '\\n{DONE.decode()}\\n'; exec sleep 9999")  # fmt: skip
    mux.start(name, script)
    client = Client(mux.attach(name), mux.env) if attached else None
    try:
        if client:
            time.sleep(0.5)
        start = time.monotonic()
        trigger.touch()
        if client:
            end = client.read_until(DONE, 600)
        else:
            while DONE.decode() not in mux.capture(name):
                time.sleep(0.05)
            end = time.monotonic()
        return end - start
    finally:
        if client:
            client.close()
        mux.stop_all()  # a supervisor still catching up must not skew the next test


def echo(mux, count: int) -> list[float]:
    """Round trip of one keystroke: client PTY -> agent (raw cat) -> back to the client PTY."""
    mux.start("echo", "stty raw -echo; exec cat")
    client = Client(mux.attach("echo"), mux.env)
    try:
        time.sleep(1.0)
        seen = b""
        while select.select([client.fd], [], [], 0.3)[0]:
            try:
                seen += os.read(client.fd, 1 << 20)
            except OSError:
                raise RuntimeError(f"{mux.name} attach died: {seen[-400:]!r}") from None
        samples = []
        for i in range(count):
            ch = bytes([97 + i % 26])
            start = time.perf_counter()
            os.write(client.fd, ch)
            got = b""
            while ch not in got:
                select.select([client.fd], [], [], 2)
                got += os.read(client.fd, 65536)
            samples.append((time.perf_counter() - start) * 1000)
        return samples
    finally:
        client.close()
        mux.stop_all()


def attach_time(mux, runs: int = 10) -> list[float]:
    mux.start("full", f"seq 1 {ROWS - 1}; printf 'SCREEN-READY'; exec sleep 9999")
    time.sleep(0.5)
    times = []
    for _ in range(runs):
        start = time.monotonic()
        client = Client(mux.attach("full"), mux.env)
        try:
            end = client.read_until(b"SCREEN-READY", 10)
            times.append((end - start) * 1000)
        finally:
            client.close()
        time.sleep(0.1)
    mux.stop_all()
    return times


def idle_cpu(mux, seconds: float = 3.0) -> float:
    """CPU milliseconds per second of the server/supervisor while its agent sleeps."""
    import psutil

    mux.start("idle", "exec sleep 9999")
    time.sleep(0.5)
    proc = psutil.Process(mux.server_pid("idle"))
    before = sum(proc.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(proc.cpu_times()[:2]) - before) * 1000 / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--echo", type=int, default=300)
    parser.add_argument("--skip-headless", action="store_true")
    parser.add_argument(
        "--nono",
        help="the nono executable (default: python -m nono), e.g. one "
        "pip-installed into a clean venv",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nono-bench-", dir="/var/tmp"))
    data = root / "data"
    big = ensure(data / "mixed.txt", args.mb)
    results: dict[str, dict[str, object]] = {}
    nono = Nono(root, data, args.nono)
    muxes = [Tmux(root, data), nono] if shutil.which("tmux") else [nono]
    try:
        for mux in muxes:
            r: dict[str, object] = {}
            try:
                secs = flood(mux, data, big, attached=True)
                r["flood attached (s)"] = round(secs, 2)
                r["flood attached (MB/s)"] = round(args.mb / secs, 1)
                if not args.skip_headless:
                    secs = flood(mux, data, big, attached=False)
                    r["flood headless (s)"] = round(secs, 2)
                    r["flood headless (MB/s)"] = round(args.mb / secs, 1)
                samples = sorted(echo(mux, args.echo))
                r["echo p50 (ms)"] = round(statistics.median(samples), 3)
                r["echo p99 (ms)"] = round(samples[int(len(samples) * 0.99) - 1], 3)
                r["attach (ms, median)"] = round(statistics.median(attach_time(mux)), 1)
                r["idle CPU (ms/s)"] = round(idle_cpu(mux), 2)
            finally:
                mux.stop_all()
            results[mux.name] = r
    finally:
        shutil.rmtree(root, ignore_errors=True)
    names = list(results)
    keys = list(next(iter(results.values())).keys())
    print(f"{'metric':<24}" + "".join(f"{n:>12}" for n in names))
    for key in keys:
        print(f"{key:<24}" + "".join(f"{results[n].get(key, '-')!s:>12}" for n in names))


if __name__ == "__main__":
    main()
