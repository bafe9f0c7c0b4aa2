"""A session's scrollback is bounded by the memory its lines hold, not only by their count: a
flood of wide, dense lines must not grow a supervisor without end."""

from __future__ import annotations

import random
from sys import getsizeof

from nono.term import TerminalModel
from nono.term.history import HISTORY_BYTES
from nono.term.style import _INTERNED

BUDGET = 4 * 1024 * 1024


def held(model: TerminalModel) -> int:
    """What the history's lines hold, walked object by object (shared styles not counted)."""
    total = 0
    for line in model._screen.history:
        total += getsizeof(line)
        for run in line:
            text, style = run
            total += getsizeof(run) + getsizeof(text)
            if _INTERNED.get(style) is not style:
                total += getsizeof(style) + sum(
                    getsizeof(c) for c in (style.fg, style.bg) if isinstance(c, str)
                )
    return total


def wide_dense_line(n: int, cols: int = 1000) -> bytes:
    """A screen-wide line with a colour change every 4 cells, half of them new truecolours."""
    parts = []
    for i in range(cols // 4):
        if i % 2:
            parts.append(f"\x1b[38;5;{(n + i) % 256}m{(n * i) % 10000:04d}")
        else:
            parts.append(f"\x1b[38;2;{n % 256};{i % 256};{(n * 7) % 256}mab\u4e00")
    return ("".join(parts) + "\x1b[0m\r\n").encode()


def test_a_wide_dense_flood_keeps_the_history_under_its_byte_budget():
    model = TerminalModel(1000, 50, history_bytes=BUDGET)
    for n in range(600):  # ~30 MB of lines as the model holds them
        model.feed(wide_dense_line(n))
        if n % 100 == 99:
            assert model.history_bytes <= BUDGET
    assert model.history_bytes <= BUDGET
    # The charge is never less than what the lines hold: the bound is on real memory.
    assert held(model) <= model.history_bytes
    # The oldest lines went, the newest stayed.
    assert 20 < model.history_size < 600 - 50
    # (the screen shows the last 49 lines and the cursor's empty one: line 550 left last)
    assert model.history_lines(1)[0].startswith("ab\u4e000550ab")


def test_combining_marks_piled_on_every_cell_are_charged_in_full():
    model = TerminalModel(1000, 10, history_bytes=BUDGET)
    marks = "".join(chr(0x300 + i) for i in range(15))  # as many as a cell takes
    line = ("a" + marks) * 1000 + "\r\n"
    for _ in range(200):
        model.feed(line.encode())
    assert model.history_bytes <= BUDGET
    assert held(model) <= model.history_bytes
    assert 0 < model.history_size < 190


def test_ordinary_output_keeps_all_its_lines_by_count():
    model = TerminalModel(200, 50)
    rng = random.Random(3)
    words = ("agent", "sandbox", "session", "kernel", "policy", "screen")
    for i in range(10_050 + 50):
        text = " ".join(rng.choice(words) for _ in range(40))
        model.feed(
            f"{i:06d} \x1b[1;3{i % 8}m{text[:60]}\x1b[0m {text[60:]}"[:220].encode() + b"\r\n"
        )
    assert model.history_size == 10_000
    assert model.history_bytes < HISTORY_BYTES


def test_the_charge_follows_lines_pulled_back_and_cleared():
    model = TerminalModel(300, 40, history_bytes=BUDGET)
    for n in range(300):
        model.feed(wide_dense_line(n, 300))
    history = model._screen.history
    model.resize(300, 80)  # growing pulls lines back out of the history
    model.feed(b"x")
    assert model.history_bytes == sum(history.sizes) and len(history.sizes) == len(history)
    assert held(model) <= model.history_bytes <= BUDGET
    model.feed(b"\x1b[3J")  # erase the scrollback
    assert model.history_bytes == 0 and model.history_size == 0
