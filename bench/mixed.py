"""Deterministic mixed terminal workloads: ASCII log lines, SGR colour runs, CJK and emoji; and
a denser one (see _dense_line).

`python bench/mixed.py OUT [MB]` writes it; benchmarks import `generate()`.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

WORDS = ("agent", "sandbox", "landlock", "session", "rollback", "tmux", "pane", "cursor",
         "snapshot", "policy", "kernel", "socket", "supervisor", "model", "screen")  # fmt: skip
CJK = "漢字仮名交じり文中文字符한국어텍스트"
EMOJI = "🙂🚀✨🔥"


def _line(rng: random.Random) -> str:
    kind = rng.random()
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 18)))
    if kind < 0.55:
        return f"{rng.randint(0, 99999):05d} INFO {words}"
    if kind < 0.80:
        fg = rng.choice((31, 32, 33, 34, 35, 36, 91, 92))
        n = rng.randint(16, 231)
        r, g, b = rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)
        return (f"\x1b[1;{fg}m{words[:20]}\x1b[0m \x1b[38;5;{n}m{words[20:40]}\x1b[0m "
                f"\x1b[38;2;{r};{g};{b}m{words[40:]}\x1b[0m")  # fmt: skip
    if kind < 0.95:
        cjk = "".join(rng.choice(CJK) for _ in range(rng.randint(5, 30)))
        return f"{words[:30]} {cjk}"
    return f"{words[:20]} {''.join(rng.choice(EMOJI) for _ in range(rng.randint(1, 6)))}"


SYMBOLS = "─│┌┐└┘├┤•…→✓éüñçøßαβλ"


def _dense_line(rng: random.Random) -> str:
    """Log output as busy tools print it: a colour change every few words (one 16- or
    256-colour foreground or background, sometimes bold), CJK and one-column symbols inside
    the text, tabs, and lines from empty to two screens wide (they wrap)."""
    width = rng.choice((rng.randint(0, 90),) * 6 + (rng.randint(90, 200),) * 3
                       + (rng.randint(200, 400),))  # fmt: skip
    parts: list[str] = []
    col = 0
    while col < width:
        roll = rng.random()
        if roll < 0.1:
            sgr = rng.choice(
                (
                    f"{rng.randint(31, 37)}",
                    f"1;{rng.randint(91, 96)}",
                    f"38;5;{rng.randint(0, 255)}",
                    f"48;5;{rng.randint(0, 255)}",
                    "0",
                )
            )
            parts.append(f"\x1b[{sgr}m")
        elif roll < 0.15:
            text = "".join(rng.choice(CJK) for _ in range(rng.randint(1, 4)))
            parts.append(text + " ")
            col += 2 * len(text) + 1
        elif roll < 0.19:
            text = "".join(rng.choice(SYMBOLS) for _ in range(rng.randint(1, 6)))
            parts.append(text + " ")
            col += len(text) + 1
        elif roll < 0.21:
            parts.append("\t")
            col += 8 - col % 8
        else:
            word = rng.choice(WORDS)[: rng.randint(1, 10)]
            parts.append(word + " ")
            col += len(word) + 1
    return "".join(parts) + "\x1b[0m"


def generate(size_mb: float = 20.0, seed: int = 1, dense: bool = False) -> bytes:
    """The workload: `dense` for _dense_line's (more escapes and non-ASCII per byte)."""
    rng = random.Random(seed)
    target = int(size_mb * 1024 * 1024)
    line_of = _dense_line if dense else _line
    out: list[bytes] = []
    total = 0
    while total < target:
        line = (line_of(rng) + "\r\n").encode()
        out.append(line)
        total += len(line)
    return b"".join(out)[:target]


def ensure(path: Path, size_mb: float = 20.0, dense: bool = False) -> Path:
    """Write the workload once; later runs reuse it."""
    if not path.exists() or path.stat().st_size != int(size_mb * 1024 * 1024):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate(size_mb, dense=dense))
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1])
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    ensure(out, mb)
    print(f"{out}: {out.stat().st_size} bytes")
