"""A deterministic mixed terminal workload: ASCII log lines, SGR colour runs, CJK and emoji.

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


def generate(size_mb: float = 20.0, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    target = int(size_mb * 1024 * 1024)
    out: list[bytes] = []
    total = 0
    while total < target:
        line = (_line(rng) + "\r\n").encode()
        out.append(line)
        total += len(line)
    return b"".join(out)[:target]


def ensure(path: Path, size_mb: float = 20.0) -> Path:
    """Write the workload once; later runs reuse it."""
    if not path.exists() or path.stat().st_size != int(size_mb * 1024 * 1024):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate(size_mb))
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1])
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    ensure(out, mb)
    print(f"{out}: {out.stat().st_size} bytes")
