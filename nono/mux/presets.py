"""tmux's five preset layouts (select-layout), rebuilt as layout trees sized for one area.

Sizes follow tmux 3.3a with `pane-border-status top`, translated to our rects (a tmux pane
at (left, top, w, h) is Rect(left, top - 1, w, h + 1)). Weights are spans in cells at the
given area, so `place(preset(...), width, height)` is what tmux shows at that size. The sums
below follow tmux's layout-set.c, restated in those rect terms.
"""

from __future__ import annotations

from collections.abc import Sequence

from nono.mux.layout import MIN_HEIGHT, MIN_WIDTH, Leaf, Node, Split

PRESETS = (
    "even-horizontal",
    "even-vertical",
    "main-horizontal",
    "main-vertical",
    "tiled",
)
"""In the order of tmux's next-layout."""

MAIN_PANE_WIDTH = 80  # tmux's main-pane-width default
MAIN_PANE_HEIGHT = 24  # tmux's main-pane-height default (with the header row)


def next_preset(current: str | None) -> str:
    """The preset after `current` in tmux's next-layout cycle (the first after None)."""
    if current is None:
        return PRESETS[0]
    if current not in PRESETS:
        raise ValueError(f"unknown layout {current!r}; known: {', '.join(PRESETS)}")
    return PRESETS[(PRESETS.index(current) + 1) % len(PRESETS)]


def _spread(count: int, total: int, minimum: int) -> tuple[int, ...]:
    """tmux's layout_spread_cell: equal sizes, the last one taking what is left."""
    each = max(total // count, minimum)
    return (*[each] * (count - 1), max(total - each * (count - 1), minimum))


def _spans(widths: Sequence[int]) -> tuple[int, ...]:
    """Side-by-side weights: each width plus its separator (see nono.mux.layout)."""
    return tuple(w + 1 for w in widths)


def _row(panes: Sequence[str], width: int) -> Node:
    """Panes side by side across `width` (separators included)."""
    if len(panes) == 1:
        return Leaf(panes[0])
    widths = _spread(len(panes), width - len(panes) + 1, MIN_WIDTH)
    return Split(True, tuple(Leaf(p) for p in panes), _spans(widths))


def _column(panes: Sequence[str], height: int) -> Node:
    if len(panes) == 1:
        return Leaf(panes[0])
    heights = _spread(len(panes), height, MIN_HEIGHT)
    return Split(False, tuple(Leaf(p) for p in panes), heights)


def _tiled(panes: Sequence[str], width: int, height: int) -> Node:
    count = len(panes)
    rows = columns = 1
    while rows * columns < count:
        rows += 1
        if rows * columns < count:
            columns += 1
    # tmux sizes the rows as bordered cells: the top row's cell holds its header, the others'
    # headers are the borders above them, so only the top row is one cell shorter.
    cell = max((height - rows + 1) // rows, MIN_HEIGHT - 1)
    heights = [cell, *[cell + 1] * (rows - 2)]
    heights.append(max(height - sum(heights), MIN_HEIGHT))
    cell_width = max((width - columns + 1) // columns, MIN_WIDTH)
    lines: list[Node] = []
    for start in range(0, count, columns):
        row = panes[start : start + columns]
        if len(row) == 1:
            lines.append(Leaf(row[0]))
            continue
        # Every pane gets the column width; the row's last pane stretches to the right edge.
        widths = [cell_width] * (len(row) - 1)
        widths.append(max(width - (cell_width + 1) * (len(row) - 1), MIN_WIDTH))
        lines.append(Split(True, tuple(Leaf(p) for p in row), _spans(widths)))
    return Split(False, tuple(lines), tuple(max(h, 1) for h in heights))


def preset(name: str, panes: Sequence[str], main: str | None, width: int, height: int) -> Node:
    """tmux's `select-layout name` for these panes (in order) in a width x height area.

    The main-* layouts put `main` (default: the first pane) first, as tmux does with the
    window's first pane; the others ignore it.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown layout {name!r}; known: {', '.join(PRESETS)}")
    if not panes:
        raise ValueError("a layout needs at least one pane")
    if len(set(panes)) != len(panes):
        raise ValueError("pane ids must be unique")
    order = list(panes)
    if main is not None and name.startswith("main-"):
        order.remove(main)
        order.insert(0, main)
    if len(order) == 1:
        return Leaf(order[0])
    if name == "even-horizontal":
        return _row(order, width)
    if name == "even-vertical":
        return _column(order, height)
    if name == "tiled":
        return _tiled(order, width, height)
    if name == "main-horizontal":
        main_height = max(min(MAIN_PANE_HEIGHT, height - MIN_HEIGHT), MIN_HEIGHT)
        rest = max(height - main_height, MIN_HEIGHT)
        return Split(False, (Leaf(order[0]), _row(order[1:], width)), (main_height, rest))
    # main-vertical. tmux would leave the other column 1 wide; ours keeps MIN_WIDTH.
    main_width = max(min(MAIN_PANE_WIDTH, width - 1 - MIN_WIDTH), MIN_WIDTH)
    rest = max(width - 1 - main_width, MIN_WIDTH)
    return Split(True, (Leaf(order[0]), _column(order[1:], height)), _spans((main_width, rest)))
