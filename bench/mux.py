"""The dashboard against tmux, side by side: a four-pane flood, keystroke echo through the
dashboard (idle and during the flood), idle CPU, and the time to open on eight sessions; for
nono alone, the time from an agent printing a prompt to the dashboard saying `waiting`.

`python bench/mux.py [--mb 20] [--keys 200] [--gap 0.02] [--nono PATH] [--skip-tmux] [--json]`

Both run in a 200x50 PTY this script drains continuously: `nono mux` over detached sessions,
and a `tmux attach` client of a private tmux server (tmux renders nothing without a client).
Echo latency is what a person sees: a key written to the dashboard's PTY, until the focused
pane's echo of it shows in the dashboard's output. The echo program prints, per key, a token
whose every character differs from the previous token's (three alphabets in turn), so a
renderer that sends only changed cells still sends the whole token; none of its characters
occurs in the flood file. The flood is timed from the command's start until a marker printed
after the file shows in the dashboard ("cat done" is when the PTY took the last byte: nono's
supervisor reads far ahead of its terminal model). "dashboard" CPU and wakeups are the nono mux
process, or the tmux server plus its client. The waiting time runs from a script's clock
reading just before it writes `Proceed? [y/N] ` (on cue: a flag file, not a key, which the
supervisor would count as the person typing) to the word `waiting` in the dashboard's output,
the pane not focused. nono's byte code is cached (in the run's
directory) as an installed package's would be, even under PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from mixed import ensure

COLS, ROWS = 200, 50
PREFIX_DETACH = {"nono": (b"\x1d", b"d"), "tmux": (b"\x02", b"d")}
ALPHABETS = (("@@", "0123456789"), ("##", "abcdefghij"), ("&&", "KLMNOPQRST"))
ECHO_READY = b"~~ECHO-READY~~"
HIDE = b"\x1b[?25l"
SHELLS = 2  # idle shells beside the echo and flood panes
OPEN_SESSIONS = 8
OPEN_RUNS = 5
FLOOD_END = b"%" * 16  # printed after the file; no '%' occurs in it
SLOW_KEYS, SLOW_GAP = 50, 0.1  # echo with keys further apart than a 30/s frame tick
CHUNK_MB = 1.0  # the flood goes on in chunks this big until the echo samples are taken
WAIT_TRIALS = 20

ASKER_SRC = """
import os, sys, time
flags = sys.argv[1]
print("ASKER-" + "READY", flush=True)
n = 0
while True:
    while not os.path.exists(os.path.join(flags, f"cue{n}")):
        time.sleep(0.005)
    at = time.time()
    os.write(1, b"Proceed? [y/N] ")
    with open(os.path.join(flags, f"at{n}"), "w") as f:
        f.write(repr(at))
    while not os.path.exists(os.path.join(flags, f"answer{n}")):
        time.sleep(0.005)
    os.write(1, b"y\\r\\nok\\r\\n")
    n += 1
"""

ECHO_SRC = f"""
import os, tty
ALPHABETS = {ALPHABETS!r}
tty.setraw(0)
os.write(1, {ECHO_READY!r} + b"\\r\\n")
n = 0
while True:
    data = os.read(0, 4096)
    if not data:
        break
    for _ in data:
        delim, digits = ALPHABETS[n % 3]
        body = "".join(digits[int(c)] for c in "%05d" % n)
        os.write(1, ("\\r" + delim + body + delim).encode())
        n += 1
"""


def token(n: int) -> bytes:
    """What the echo program prints for the n-th byte it reads."""
    delim, digits = ALPHABETS[n % 3]
    return (delim + "".join(digits[int(c)] for c in f"{n:05d}") + delim).encode()


class Term:
    """A program in a 200x50 PTY whose output a thread drains, watching for tokens."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path,
                 watch: Iterable[bytes] = ()) -> None:  # fmt: skip
        self.cond = threading.Condition()
        self.seen: dict[bytes, float | None] = dict.fromkeys(watch)
        self.tail = b""
        self.total = 0
        self.hides = 0  # cursor-hide sequences: prompt_toolkit sends one per redraw
        self.info = 0  # "INFO" from the flood file, drawn
        self.first: float | None = None  # when the first byte came
        self.closed = False
        self.started = time.perf_counter()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: size the terminal before the program asks
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                data = b""
            now = time.perf_counter()
            with self.cond:
                if not data:
                    self.closed = True
                    self.cond.notify_all()
                    return
                window = self.tail + data
                hit = False
                for tok, when in self.seen.items():
                    if when is None and tok in window:
                        self.seen[tok] = now
                        hit = True
                self.total += len(data)
                self.hides += (self.tail[-len(HIDE) + 1 :] + data).count(HIDE)
                self.info += (self.tail[-3:] + data).count(b"INFO")
                if self.first is None:
                    self.first = now
                self.tail = window[-4096:]
                if hit:
                    self.cond.notify_all()
            if b"\x1b[6n" in data:  # a cursor position request: answer as a terminal would
                os.write(self.fd, b"\x1b[1;1R")

    def expect(self, tok: bytes, fresh: bool = False) -> None:
        """Watch for `tok`; `fresh`: only in output from now on (not in what came before)."""
        with self.cond:
            if fresh:
                self.tail = b""
                self.seen[tok] = None
            self.seen.setdefault(tok, None)

    def wait(self, tok: bytes, timeout: float) -> float | None:
        """perf_counter time `tok` showed (watched since expect), or None after `timeout`."""
        end = time.perf_counter() + timeout
        with self.cond:
            self.seen.setdefault(tok, None)
            while self.seen[tok] is None and not self.closed:
                left = end - time.perf_counter()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.seen.pop(tok)

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def exited(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = 0
                return True
            time.sleep(0.02)
        return False

    def detach(self, keys: tuple[bytes, bytes]) -> bool:
        """Prefix, then d; True if the program left within 5 s."""
        self.write(keys[0])
        time.sleep(0.05)
        self.write(keys[1])
        return self.exited(5)

    def close(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.pid = 0
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.thread.join(2)

    def last_output(self) -> str:
        with self.cond:
            return self.tail[-600:].decode(errors="replace")


def cpu_and_wakeups(pids: list[int]) -> tuple[float, int]:
    """CPU seconds (user+system, whole process) and context switches, summed over the
    processes' threads."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu, switches = 0.0, 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{pid}/task").iterdir():
                for line in (task / "status").read_text().splitlines():
                    if "ctxt_switches" in line:
                        switches += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return cpu, switches


def cpu_ns(pids: list[int]) -> int:
    """Nanoseconds on a CPU of the live threads (schedstat: finer than clock ticks)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int((task / "schedstat").read_text().split()[0])
    return total


def measure_cpu(pids: list[int], seconds: float) -> tuple[float, float]:
    """(CPU ms per second, wakeups per second) over `seconds`."""
    ns0, (_, sw0) = cpu_ns(pids), cpu_and_wakeups(pids)
    time.sleep(seconds)
    ns1, (_, sw1) = cpu_ns(pids), cpu_and_wakeups(pids)
    return (ns1 - ns0) / 1e6 / seconds, (sw1 - sw0) / seconds


def wait_file(path: Path, timeout: float) -> float:
    """The timestamp a sandboxed `date +%s.%N > path` wrote."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            text = path.read_text().strip()
            if text:
                return float(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{path.name} not written within {timeout:.0f} s")


class Echo:
    """Keys typed one at a time into a Term, each timed until the echo program's token shows."""

    def __init__(self, term: Term) -> None:
        self.term = term
        self.n = 0  # bytes the echo program has read so far

    def key(self, timeout: float = 2.0) -> float | None:
        tok = token(self.n)
        self.term.expect(tok)
        start = time.perf_counter()
        self.term.write(bytes([97 + self.n % 26]))
        self.n += 1
        seen = self.term.wait(tok, timeout)
        return None if seen is None else (seen - start) * 1000

    def run(self, keys: int, gap: float, until: Callable[[], bool] = lambda: False,
            limit: float = 60.0) -> tuple[list[float], int]:  # fmt: skip
        """Up to `keys` samples (fewer once `until()`), a key every `gap` s at most; the
        latencies in ms and how many keys never showed."""
        samples: list[float] = []
        missed = 0
        time.sleep(0.2)  # the last run's frames are not this run's first key's business
        end = time.monotonic() + limit
        while len(samples) < keys and not until() and time.monotonic() < end:
            start = time.perf_counter()
            ms = self.key()
            if ms is None:
                missed += 1
                if missed > 20:
                    break
            else:
                samples.append(ms)
            time.sleep(max(0.0, gap - (time.perf_counter() - start)))
        return samples, missed


def percentiles(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.99) - 1)]
    return {"p50": round(statistics.median(ordered), 2), "p99": round(p99, 2),
            "max": round(ordered[-1], 2)}  # fmt: skip


# ---------------------------------------------------------------- the two multiplexers


class NonoSide:
    name = "nono"

    def __init__(self, root: Path, work: Path, binary: str | None) -> None:
        self.root, self.work = root, work
        self.bin = [binary] if binary else [sys.executable, "-m", "nono"]
        self.phase = 0
        self.states: list[Path] = []
        self.env: dict[str, str] = {}
        self.new_phase()

    def new_phase(self) -> None:
        """A state directory of its own, so no saved layout or old session leaks in."""
        self.phase += 1
        state = self.root / f"state{self.phase}"
        self.states.append(state)
        self.env = {**base_env(self.root), "XDG_STATE_HOME": str(state)}

    def nono(self, *args: str, check: bool = True) -> str:
        result = subprocess.run([*self.bin, *args], env=self.env, cwd=self.work,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"nono {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def start(self, names_scripts: list[tuple[str, list[str]]]) -> None:
        """One at a time: the dashboard tiles (and focuses) in the order they were created."""
        for name, argv in names_scripts:
            self.nono("run", "--detached", "--name", name, "--size", "80x24", "--allow-cwd",
                      "--", *argv)  # fmt: skip

    def dashboard(self, watch: Iterable[bytes] = ()) -> Term:
        return Term([*self.bin, "mux"], self.env, self.work, watch)

    def pids(self, term: Term) -> list[int]:
        return [term.pid]

    def stop_all(self) -> None:
        records: list[tuple[Path, dict]] = []
        for state in self.states:
            for path in (state / "nono" / "sessions").glob("*.json"):
                if path.name.endswith(".final.json"):
                    continue
                with contextlib.suppress(OSError, ValueError):
                    records.append((state, json.loads(path.read_text())))
        procs = []
        for state, rec in records:
            if rec.get("status") != "exited":
                env = {**self.env, "XDG_STATE_HOME": str(state)}
                procs.append(subprocess.Popen([*self.bin, "stop", "--force", rec["id"]], env=env,
                                              stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))  # fmt: skip
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for _, rec in records:  # anything left: SIGKILL the supervisor itself
            pid = rec.get("supervisor_pid")
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (OSError, TypeError):
                continue
            if b"nono" in cmdline:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


class TmuxSide:
    name = "tmux"

    def __init__(self, root: Path, work: Path) -> None:
        self.work = work
        self.sock = f"nono-mux-bench-{os.getpid()}"
        self.env = base_env(root)
        self.env.pop("TMUX", None)
        self.server = 0

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *args],
                                env=self.env, cwd=self.work, capture_output=True, text=True,
                                timeout=30)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def new_phase(self) -> None:
        self.stop_all()

    def start(self, names_scripts: list[tuple[str, list[str]]]) -> None:
        """Panes in creation order, tiled, the first one active (as nono focuses it)."""
        import shlex

        for i, (_name, argv) in enumerate(names_scripts):
            command = shlex.join(argv)
            if i == 0:
                self.tmux("new-session", "-d", "-x", str(COLS), "-y", str(ROWS), "-c",
                          str(self.work), command)  # fmt: skip
            else:
                self.tmux("split-window", "-t", ":0", "-c", str(self.work), command)
                self.tmux("select-layout", "-t", ":0", "tiled")
        self.tmux("select-pane", "-t", ":0.0")
        self.server = int(self.tmux("display-message", "-p", "#{pid}").strip())

    def dashboard(self, watch: Iterable[bytes] = ()) -> Term:
        return Term(["tmux", "-L", self.sock, "-f", "/dev/null", "attach"], self.env, self.work,
                    watch)  # fmt: skip

    def pids(self, term: Term) -> list[int]:
        return [self.server, term.pid]

    def stop_all(self) -> None:
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], env=self.env,
                       capture_output=True, timeout=30)  # fmt: skip
        if self.server:
            for _ in range(100):
                if not Path(f"/proc/{self.server}").exists():
                    break
                time.sleep(0.02)
            self.server = 0


def base_env(root: Path) -> dict[str, str]:
    env = {**os.environ, "HOME": str(root / "home"), "XDG_CONFIG_HOME": str(root / "config"),
           "TERM": "xterm-256color", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
           "SHELL": "/bin/sh"}  # fmt: skip
    for key in ("TMUX", "COLORTERM", "NONO_SESSION", "PYTHONDONTWRITEBYTECODE"):
        env.pop(key, None)
    # Byte code cached as an installed package has it, in the run's own directory (not the
    # repository's): without it every start compiles nono's modules again.
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return env


# ---------------------------------------------------------------- the measurements


def four_panes(side, work: Path, big: Path, chunk: Path, args) -> dict[str, object]:
    """Echo idle, idle CPU, then the flood with echo during it, in one dashboard."""
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    flags = work / f"flags-{side.name}"
    flags.mkdir()
    go, start, done, more, restart, stop = (
        flags / n for n in ("go", "start", "done", "more", "restart", "stop")
    )
    # CAN ends an escape sequence the file may stop inside; the marker's characters occur
    # nowhere in the file, so every cell of it is new to the screen when it shows.
    flood = (f"while [ ! -e {go} ]; do sleep 0.02; done; date +%s.%N > {start}; cat {big}; "
             f"date +%s.%N > {done}; printf '\\030\\033[0m\\r\\n{'%%' * len(FLOOD_END)}\\r\\n'; "
             f"while [ ! -e {more} ]; do sleep 0.02; done; date +%s.%N > {restart}; "
             f"while [ ! -e {stop} ]; do cat {chunk}; done; exec sleep 600")  # fmt: skip
    sessions = [("echo", [python, str(work / "echo.py")]), ("flood", ["sh", "-c", flood])]
    sessions += [(f"shell{i}", ["sh"]) for i in range(SHELLS)]
    side.start(sessions)
    r: dict[str, object] = {}
    term = side.dashboard([ECHO_READY])
    try:
        if term.wait(ECHO_READY, 15) is None:
            raise RuntimeError(f"{side.name}: the echo pane never showed; screen ends "
                               f"{term.last_output()!r}")  # fmt: skip
        time.sleep(1.0)
        echo = Echo(term)
        if echo.key(timeout=5) is None:
            raise RuntimeError(f"{side.name}: a key typed into the dashboard did not reach the "
                               "echo pane (is it focused?)")  # fmt: skip
        samples, missed = echo.run(args.keys, args.gap)
        _put(r, "echo idle", samples, missed)
        samples, missed = echo.run(SLOW_KEYS, SLOW_GAP)
        _put(r, f"echo idle {SLOW_GAP * 1000:.0f}ms-apart", samples, missed)
        time.sleep(6.0)  # past the supervisors' 5 s idle mark: the steady state
        cpu, wakeups = measure_cpu(side.pids(term), 5.0)
        r["idle CPU (ms/s)"] = round(cpu, 3)
        r["idle wakeups (/s)"] = round(wakeups, 1)

        # The flood: timed from the command's start until its end marker is on the screen.
        out0, hides0, info0 = term.total, term.hides, term.info
        (cpu0, _), wall0 = cpu_and_wakeups(side.pids(term)), time.time()
        term.expect(FLOOD_END)
        shown: list[float] = []
        watcher = threading.Thread(
            target=lambda: shown.append(term.wait(FLOOD_END, 150) or 0), daemon=True
        )
        watcher.start()
        go.touch()
        started = wait_file(start, 10)
        samples, missed = echo.run(args.keys, args.gap, until=lambda: bool(shown), limit=150)
        watcher.join(150)
        if not shown or not shown[0]:
            raise TimeoutError(f"{side.name}: the flood's end never showed in the dashboard")
        on_screen = shown[0] - time.perf_counter() + time.time()
        cpu1, _ = cpu_and_wakeups(side.pids(term))
        out1, hides1, info1, wall1 = term.total, term.hides, term.info, time.time()
        finished = wait_file(done, 10)
        r["flood (s)"] = round(on_screen - started, 2)
        r["flood (MB/s)"] = round(args.mb / (on_screen - started), 1)
        r["flood: cat done (s)"] = round(finished - started, 2)
        r["flood: dashboard CPU (ms/s)"] = round((cpu1 - cpu0) * 1000 / (wall1 - wall0))
        r["flood: dashboard output (KB/s)"] = round((out1 - out0) / 1024 / (wall1 - wall0))
        r["flood: cursor hides (/s)"] = round((hides1 - hides0) / (wall1 - wall0), 1)
        r["flood: INFO lines drawn (/s)"] = round((info1 - info0) / (wall1 - wall0))
        if info1 == info0:
            r["flood problem"] = "the flooding pane was never drawn"
        if len(samples) < args.keys:  # the first pass was short: go on flooding in chunks
            more.touch()
            wait_file(restart, 10)
            extra, missed2 = echo.run(args.keys - len(samples), args.gap, limit=60)
            samples, missed = samples + extra, missed + missed2
        _put(r, "echo flood", samples, missed)
        r["echo flood samples"] = len(samples)
        if not more.exists():
            more.touch()
            wait_file(restart, 10)
        samples, missed = echo.run(SLOW_KEYS, SLOW_GAP)
        _put(r, f"echo flood {SLOW_GAP * 1000:.0f}ms-apart", samples, missed)
        stop.touch()
        r["detach works"] = term.detach(PREFIX_DETACH[side.name])
    finally:
        term.close()
        side.stop_all()
    return r


def _put(r: dict[str, object], label: str, samples: list[float], missed: int) -> None:
    stats = percentiles(samples)
    for key in ("p50", "p99", "max"):
        r[f"{label} {key} (ms)"] = stats[key]
    if missed:
        r[f"{label} missed"] = missed


def open_time(side) -> dict[str, object]:
    """Time from starting the dashboard to all eight panes' content drawn; the median of 5."""
    side.new_phase()
    sessions = [(f"s{i}", ["sh", "-c", f"seq 1 40; printf 'READY-{i}~'; exec sleep 600"])
                for i in range(1, OPEN_SESSIONS + 1)]  # fmt: skip
    side.start(sessions)
    markers = [f"READY-{i}~".encode() for i in range(1, OPEN_SESSIONS + 1)]
    time.sleep(1.0)
    times, firsts, failures = [], [], []
    try:
        for _ in range(OPEN_RUNS):
            term = side.dashboard(markers)
            try:
                seen = [term.wait(m, 15) for m in markers]
                if None in seen:
                    missing = [m.decode() for m, s in zip(markers, seen, strict=True) if s is None]
                    failures.append(f"not drawn: {missing}")
                else:
                    times.append((max(s for s in seen if s is not None) - term.started) * 1000)
                    firsts.append(((term.first or term.started) - term.started) * 1000)
                if not term.detach(PREFIX_DETACH[side.name]):
                    failures.append("did not exit on detach")
            finally:
                term.close()
            time.sleep(0.2)
    finally:
        side.stop_all()
    r: dict[str, object] = {}
    r["open 8 (ms, median)"] = round(statistics.median(times), 0) if times else None
    r["open 8 (ms, runs)"] = [round(t) for t in times]
    r["open: first byte (ms, median)"] = round(statistics.median(firsts)) if firsts else None
    if failures:
        r["open problems"] = failures
    return r


def waiting_time(side, work: Path) -> dict[str, object]:
    """Prompt printed -> `waiting` on the dashboard, WAIT_TRIALS times; p50 and p95."""
    side.new_phase()
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    flags = work / "asker-flags"
    flags.mkdir(exist_ok=True)
    (work / "asker.py").write_text(ASKER_SRC)
    side.start([("shell", ["sh"]), ("asker", [python, str(work / "asker.py"), str(flags)])])
    term = side.dashboard([b"ASKER-READY"])
    samples: list[float] = []
    missed = 0
    try:
        if term.wait(b"ASKER-READY", 15) is None:
            raise RuntimeError(f"the asker pane never showed; screen ends {term.last_output()!r}")
        time.sleep(1.0)
        for n in range(WAIT_TRIALS):
            term.expect(b"waiting", fresh=True)
            (flags / f"cue{n}").touch()
            seen = term.wait(b"waiting", 5)
            at = wait_file(flags / f"at{n}", 5)
            if seen is None:
                missed += 1
            else:
                samples.append((seen - time.perf_counter() + time.time() - at) * 1000)
            term.expect(b"working", fresh=True)
            (flags / f"answer{n}").touch()
            term.wait(b"working", 5)  # answered: out of waiting before the next prompt
            time.sleep(0.2)
    finally:
        term.close()
        side.stop_all()
    r: dict[str, object] = {}
    if samples:
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.95) - 1)]
        r["waiting shown p50 (ms)"] = round(statistics.median(ordered), 1)
        r["waiting shown p95 (ms)"] = round(p95, 1)
        r["waiting shown max (ms)"] = round(ordered[-1], 1)
    if missed:
        r["waiting shown missed"] = missed
    return r


GOALS = {
    "flood (s)": "within 2x tmux",
    "echo flood p99 (ms)": "< 10 ms",
    "idle CPU (ms/s)": "0 (< 0.01)",
    "open 8 (ms, median)": "< 300 ms",
    "waiting shown p95 (ms)": "< 300 ms",
}


def verdict(key: str, results: dict[str, dict[str, object]]) -> str:
    nono = results.get("nono", {}).get(key)
    tmux = results.get("tmux", {}).get(key)
    if not isinstance(nono, int | float):
        return ""
    if key == "flood (s)":
        if not isinstance(tmux, int | float):
            return ""
        ratio = nono / tmux
        return f"{'met' if ratio <= 2 else 'MISSED'} ({ratio:.1f}x)"
    limit = {"echo flood p99 (ms)": 10, "open 8 (ms, median)": 300,
             "waiting shown p95 (ms)": 300}.get(key)  # fmt: skip
    if limit is not None:
        return "met" if nono < limit else "MISSED"
    if key == "idle CPU (ms/s)":
        return "met" if nono < 0.01 else "MISSED"
    return ""


def table(results: dict[str, dict[str, object]]) -> str:
    names = list(results)
    keys: list[str] = []
    for r in results.values():
        keys += [k for k in r if k not in keys]
    lines = [f"{'metric':<32}" + "".join(f"{n:>22}" for n in names) + f"   {'goal':<16}verdict"]
    for key in keys:
        cells = "".join(f"{_cell(results[n].get(key, '-')):>22}" for n in names)
        lines.append(f"{key:<32}{cells}   {GOALS.get(key, ''):<16}{verdict(key, results)}")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, list):
        text = ",".join(str(v) for v in value)
        return text if len(text) <= 21 else f"{len(value)} items"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=20.0, help="flood file size (default 20)")
    parser.add_argument("--keys", type=int, default=200, help="echo samples per measurement")
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between keys")
    parser.add_argument("--nono", help="the nono executable (default: python -m nono)")
    parser.add_argument("--skip-tmux", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    use_tmux = not args.skip_tmux and shutil.which("tmux") is not None
    root = Path(tempfile.mkdtemp(prefix="nono-mux-bench-", dir="/var/tmp"))
    work = root / "work"
    for sub in ("work", "home", "config"):
        (root / sub).mkdir()
    results: dict[str, dict[str, object]] = {}
    sides: list = []
    try:
        big = ensure(work / "mixed.txt", args.mb)
        data = big.read_bytes()
        for delim, _ in ALPHABETS:
            assert delim[0].encode() not in data, f"{delim[0]!r} occurs in the flood file"
        assert FLOOD_END[:1] not in data
        cut = data.rfind(b"\r\n", 0, int(CHUNK_MB * 1024 * 1024)) + 2
        chunk = work / "chunk.txt"
        chunk.write_bytes(data[:cut])
        del data
        (work / "echo.py").write_text(ECHO_SRC)
        sides = [NonoSide(root, work, args.nono)]
        if use_tmux:
            sides.append(TmuxSide(root, work))
        for side in sides:
            r: dict[str, object] = {}
            parts = [("4 panes", four_panes, (work, big, chunk, args)), ("open", open_time, ())]
            if side.name == "nono":  # tmux has no idea what its panes' programs are doing
                parts.append(("waiting", waiting_time, (work,)))
            for part, measure, extra in parts:
                try:
                    r.update(measure(side, *extra))
                except (RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
                    r[f"error ({part})"] = str(exc)
                finally:
                    side.stop_all()
            results[side.name] = r
            print(f"{side.name}: done", file=sys.stderr)
    finally:
        for side in sides:
            side.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(table(results))


if __name__ == "__main__":
    main()
