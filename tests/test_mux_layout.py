"""The mux layout tree: placement, edits, dragging, serialization and tmux's presets."""

from __future__ import annotations

import os
import random
import shlex
import shutil
import subprocess
import tempfile

import pytest

from nono.mux.layout import (
    DIRECTIONS,
    MIN_HEIGHT,
    MIN_WIDTH,
    Border,
    LayoutTooSmall,
    Leaf,
    Node,
    Rect,
    Split,
    border_at,
    drag,
    fit,
    min_size,
    neighbour,
    pane_at,
    panes,
    place,
    prune,
    remove,
    resize,
    separators,
    split,
)
from nono.mux.presets import MAIN_PANE_WIDTH, PRESETS, next_preset, preset
from nono.mux.state import from_json, to_json


def h(*children: Node, weights: tuple[int, ...] | None = None) -> Split:
    return Split(True, children, weights or (1,) * len(children))


def v(*children: Node, weights: tuple[int, ...] | None = None) -> Split:
    return Split(False, children, weights or (1,) * len(children))


def spans(*widths: int) -> tuple[int, ...]:
    """Side-by-side weights for these exact widths: each counts its separator (layout.py)."""
    return tuple(w + 1 for w in widths)


A, B, C, D = Leaf("a"), Leaf("b"), Leaf("c"), Leaf("d")
GRID = v(h(A, B, weights=spans(39, 40)), h(C, D, weights=spans(39, 40)), weights=(11, 12))
"""tmux's tiled layout of 4 panes at 80x23: a b over c d."""


def widths(tree: Node, width: int = 80, height: int = 23) -> list[tuple[int, int]]:
    return [(r.x, r.width) for r in place(tree, width, height).values()]


def heights(tree: Node, width: int = 80, height: int = 23) -> list[tuple[int, int]]:
    return [(r.y, r.height) for r in place(tree, width, height).values()]


# ---------------------------------------------------------------- placing


def test_a_single_pane_fills_the_area():
    assert place(A, 80, 23) == {"a": Rect(0, 0, 80, 23)}
    assert separators(A, 80, 23) == []


def test_content_is_the_rect_below_the_header_row():
    assert Rect(3, 4, 10, 6).content == Rect(3, 5, 10, 5)


def test_side_by_side_panes_leave_a_separator_column_between_them():
    assert place(h(A, B), 80, 23) == {"a": Rect(0, 0, 40, 23), "b": Rect(41, 0, 39, 23)}
    [sep] = separators(h(A, B), 80, 23)
    assert (sep.x, sep.y, sep.length) == (40, 0, 23)
    assert sep.border == Border((), 0, True)


def test_stacked_panes_share_no_separator():
    assert place(v(A, B), 80, 23) == {"a": Rect(0, 0, 80, 11), "b": Rect(0, 11, 80, 12)}
    assert separators(v(A, B), 80, 23) == []


def test_weights_that_are_cell_sizes_place_exactly():
    tree = h(A, B, C, weights=spans(10, 50, 18))
    assert widths(tree) == [(0, 10), (11, 50), (62, 18)]
    assert heights(v(A, B, weights=(3, 20))) == [(0, 3), (3, 20)]


def test_a_tiny_weight_still_gets_the_minimum_size():
    tree = h(A, B, weights=(1, 1000))
    assert widths(tree) == [(0, MIN_WIDTH), (MIN_WIDTH + 1, 80 - MIN_WIDTH - 1)]


def random_tree(rng: random.Random, count: int) -> Node:
    names = iter(f"p{i}" for i in range(count))

    def build(n: int, horizontal: bool) -> Node:
        if n == 1:
            return Leaf(next(names))
        parts = rng.randint(2, min(n, 4))
        cuts = sorted(rng.sample(range(1, n), parts - 1))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
        kids = tuple(build(size, not horizontal) for size in sizes)
        return Split(horizontal, kids, tuple(rng.randint(1, 40) for _ in kids))

    return build(count, rng.random() < 0.5)


def assert_tiles(tree: Node, width: int, height: int) -> None:
    """Every cell of the area belongs to exactly one pane rect or separator."""
    cover = [[0] * width for _ in range(height)]
    rects = place(tree, width, height)
    assert sorted(rects) == sorted(panes(tree))
    for rect in rects.values():
        assert rect.width >= MIN_WIDTH and rect.height >= MIN_HEIGHT
        for y in range(rect.y, rect.y + rect.height):
            for x in range(rect.x, rect.x + rect.width):
                cover[y][x] += 1
    for sep in separators(tree, width, height):
        for y in range(sep.y, sep.y + sep.length):
            cover[y][sep.x] += 1
    assert all(count == 1 for row in cover for count in row)


@pytest.mark.parametrize("size", [(80, 23), (200, 49), (31, 17), (123, 61)])
def test_placed_panes_and_separators_tile_the_area_exactly(size):
    rng = random.Random(1234)
    width, height = size
    checked = 0
    for _ in range(150):
        tree = random_tree(rng, rng.randint(1, 9))
        need_w, need_h = min_size(tree)
        if need_w <= width and need_h <= height:
            assert_tiles(tree, width, height)
            assert_tiles(tree, need_w, need_h)  # the minimum size fits too
            checked += 1
    assert checked > 100


def test_an_area_too_small_raises_with_the_needed_size():
    tree = h(A, v(B, C, D))
    assert min_size(tree) == (5, 6)
    with pytest.raises(LayoutTooSmall) as info:
        place(tree, 4, 30)
    assert (info.value.needed_width, info.value.needed_height) == (5, 6)
    with pytest.raises(LayoutTooSmall):
        separators(tree, 80, 5)
    assert_tiles(tree, 5, 6)


def test_pane_at_finds_the_rect_under_a_cell_and_none_on_a_separator():
    assert pane_at(GRID, 80, 23, 0, 0) == "a"
    assert pane_at(GRID, 80, 23, 79, 22) == "d"
    assert pane_at(GRID, 80, 23, 40, 11) == "d"
    assert pane_at(GRID, 80, 23, 39, 5) is None
    assert pane_at(GRID, 80, 23, 80, 5) is None


# ---------------------------------------------------------------- split / remove


def test_split_of_no_layout_is_the_new_pane():
    assert split(None, None, "a", True) == A


def test_split_halves_the_target_like_tmux_split_window():
    # tmux 3.3a at 80x23 (pane-border-status top): split-window -h leaves %0 40 wide and
    # gives %1 39; split-window -v leaves a 10-row pane over an 11-row one (+1 header each).
    assert widths(split(A, "a", "b", True)) == [(0, 40), (41, 39)]
    assert heights(split(A, "a", "b", False)) == [(0, 11), (11, 12)]


def test_split_inside_a_same_direction_split_shares_the_targets_space():
    tree = split(h(A, B), "b", "c", True)
    assert tree == h(A, B, C, weights=(2, 1, 1))
    assert widths(tree) == [(0, 40), (41, 19), (61, 19)]


def test_split_across_directions_nests_a_new_split():
    assert split(h(A, B), "b", "c", False) == h(A, v(B, C))


def test_split_without_target_spans_the_whole_area():
    tree = split(h(A, B), None, "c", False)
    assert tree == v(h(A, B), C)
    assert place(tree, 80, 23)["c"] == Rect(0, 11, 80, 12)


def test_split_rejects_a_pane_already_there_and_an_unknown_target():
    with pytest.raises(ValueError, match="already"):
        split(h(A, B), "a", "b", True)
    with pytest.raises(KeyError):
        split(h(A, B), "zz", "c", True)


def test_remove_gives_the_space_to_the_previous_neighbour():
    tree = h(A, B, C, weights=(20, 30, 27))
    assert remove(tree, "b") == h(A, C, weights=(50, 27))
    assert remove(tree, "c") == h(A, B, weights=(20, 57))


def test_a_removed_panes_width_and_separator_go_to_its_neighbour_like_tmux():
    # tmux 3.3a: kill-pane on the middle of three 26-column panes leaves 53 + 26.
    tree = h(A, B, C, weights=spans(26, 26, 26))
    assert widths(remove(tree, "b")) == [(0, 53), (54, 26)]


def test_removing_the_first_pane_gives_its_space_to_the_next():
    assert remove(h(A, B, C, weights=(20, 30, 27)), "a") == h(B, C, weights=(50, 27))


def test_removing_down_to_one_pane_collapses_the_split():
    assert remove(h(A, v(B, C)), "b") == h(A, C)
    assert remove(h(A, B), "a") == B
    assert remove(A, "a") is None


def test_a_collapsed_split_is_replaced_by_its_child_and_may_nest_like_tmux():
    tree = v(A, h(B, v(C, D)), weights=(2, 2))
    assert remove(tree, "b") == v(A, v(C, D), weights=(2, 2))
    # tmux keeps the nesting, so a later removal feeds the inner neighbour.
    assert remove(remove(tree, "b"), "c") == v(A, D, weights=(2, 2))


def test_fit_stores_the_cells_without_moving_anything():
    tree = v(h(A, B), h(C, D, weights=(1, 3)))
    fitted = fit(tree, 80, 23)
    assert fitted == v(h(A, B, weights=(41, 40)), h(C, D, weights=(20, 61)), weights=(11, 12))
    assert place(fitted, 80, 23) == place(tree, 80, 23)


def test_split_given_the_area_gives_tmuxs_cells():
    # tmux 3.3a at 80x23 with pane-border-status top: split-window -v, then split-window -v
    # of the lower pane: content rows 10, 5, 5 (tmux halves cells, and a pane on top owns its
    # header row in its cell), i.e. rects 11, 6, 6.
    tree = split(split(A, "a", "b", False, area=(80, 23)), "b", "c", False, area=(80, 23))
    assert heights(tree) == [(0, 11), (11, 6), (17, 6)]
    # split-window -h of the 40-column pane of a 40|39 pair: 20 and 19 columns.
    tree = split(split(A, "a", "b", True, area=(80, 23)), "a", "c", True, area=(80, 23))
    assert widths(tree) == [(0, 20), (21, 19), (41, 39)]


def test_split_given_too_small_an_area_raises():
    with pytest.raises(LayoutTooSmall) as info:
        split(h(A, B), "a", "c", True, area=(6, 10))
    assert (info.value.needed_width, info.value.needed_height) == (8, 2)


def test_remove_given_the_area_gives_the_neighbour_exactly_the_panes_cells():
    tree = h(A, B, C)  # 26, 26, 26 at 80 wide
    assert remove(tree, "a", area=(80, 23)) == h(B, C, weights=(54, 27))
    assert widths(remove(tree, "a", area=(80, 23))) == [(0, 53), (54, 26)]


def test_panes_are_listed_in_reading_order():
    assert panes(v(h(A, B), h(C, D))) == ["a", "b", "c", "d"]
    assert panes(None) == []


def test_prune_drops_panes_of_sessions_that_are_gone():
    assert prune(GRID, {"a", "d"}) == v(A, D, weights=(11, 12))
    assert prune(GRID, set()) is None
    assert prune(GRID, {"a", "b", "c", "d", "x"}) == GRID


# ---------------------------------------------------------------- resize


def test_resize_right_moves_the_right_edge():
    tree = h(A, B, C, weights=spans(26, 26, 26))
    assert widths(resize(tree, "a", "right", 5, 80, 23)) == [(0, 31), (32, 21), (54, 26)]
    assert widths(resize(tree, "b", "left", 5, 80, 23)) == [(0, 26), (27, 21), (49, 31)]


def test_resize_of_the_last_pane_moves_its_left_edge():
    # tmux 3.3a, even-horizontal with 3 panes at 80 wide, then resize-pane -t 2 -R 5:
    # widths 26 31 21 (the last pane shrinks: its left edge moved right).
    tree = h(A, B, C, weights=spans(26, 26, 26))
    assert widths(resize(tree, "c", "right", 5, 80, 23)) == [(0, 26), (27, 31), (59, 21)]
    assert widths(resize(tree, "c", "left", 5, 80, 23)) == [(0, 26), (27, 21), (49, 31)]


def test_resize_pushes_past_a_neighbour_at_its_minimum_like_tmux():
    # tmux 3.3a: resize-pane -t 1 -L 3 with widths 76 1 1 gives 73 1 4 (with tmux's 1-column
    # minimum); ours keeps 2 columns.
    tree = h(A, B, C, weights=spans(74, 2, 2))
    assert widths(resize(tree, "b", "left", 3, 80, 23)) == [(0, 71), (72, 2), (75, 5)]


def test_resize_takes_from_the_other_side_when_the_far_side_is_at_minimum():
    # tmux's resize-pane -t 2 -R 30 on 26 31 21: the last pane shrinks to its minimum and
    # the rest comes out of the first pane (tmux: 16 61 1).
    tree = h(A, B, C, weights=spans(26, 31, 21))
    assert widths(resize(tree, "c", "right", 30, 80, 23)) == [(0, 15), (16, 61), (78, 2)]


def test_resize_is_clamped_by_the_minimum_size():
    tree = v(A, B)
    assert heights(resize(tree, "a", "down", 100, 80, 23)) == [(0, 21), (21, MIN_HEIGHT)]
    assert heights(resize(tree, "a", "up", 100, 80, 23)) == [(0, MIN_HEIGHT), (2, 21)]


def test_resize_uses_the_nearest_split_of_that_axis():
    tree = v(h(A, B), C)
    grown = resize(tree, "a", "down", 4, 80, 23)
    assert place(grown, 80, 23)["a"] == Rect(0, 0, 40, 15)
    assert place(grown, 80, 23)["b"] == Rect(41, 0, 39, 15)


def test_resize_without_a_split_on_that_axis_is_a_no_op():
    assert resize(h(A, B), "a", "down", 3, 80, 23) == h(A, B)
    assert resize(A, "a", "left", 3, 80, 23) == A
    assert resize(h(A, B), "a", "right", 0, 80, 23) == h(A, B)
    with pytest.raises(ValueError):
        resize(h(A, B), "a", "sideways", 1, 80, 23)


# ---------------------------------------------------------------- neighbours


@pytest.mark.parametrize(
    ("pane", "expected"),
    [
        ("a", {"left": "b", "right": "b", "up": "c", "down": "c"}),
        ("b", {"left": "a", "right": "a", "up": "d", "down": "d"}),
        ("c", {"left": "d", "right": "d", "up": "a", "down": "a"}),
        ("d", {"left": "c", "right": "c", "up": "b", "down": "b"}),
    ],
)
def test_neighbour_in_each_direction_of_a_2x2_grid_wraps_like_tmux(pane, expected):
    assert {d: neighbour(GRID, pane, d, 80, 23) for d in DIRECTIONS} == expected


def test_neighbour_without_wrap_stops_at_the_edge():
    got = {d: neighbour(GRID, "a", d, 80, 23, wrap=False) for d in DIRECTIONS}
    assert got == {"left": None, "right": "b", "up": None, "down": "c"}
    assert neighbour(A, "a", "left", 80, 23) is None


def test_neighbour_prefers_the_most_overlap_then_the_most_recent():
    tree = h(A, v(B, C, weights=(17, 6)))
    assert neighbour(tree, "a", "right", 80, 23) == "b"
    assert neighbour(tree, "a", "right", 80, 23, recent=["c", "b"]) == "c"
    assert neighbour(tree, "c", "left", 80, 23) == "a"


# ---------------------------------------------------------------- borders and dragging


def test_border_at_a_separator_column():
    assert border_at(GRID, 80, 23, 39, 3) == Border((0,), 0, True)
    assert border_at(GRID, 80, 23, 39, 11) == Border((1,), 0, True)


def test_border_at_the_header_of_a_lower_pane_is_the_stack_boundary():
    assert border_at(GRID, 80, 23, 5, 11) == Border((), 0, False)
    assert border_at(GRID, 80, 23, 60, 11) == Border((), 0, False)


def test_no_border_at_a_top_header_or_inside_a_pane():
    assert border_at(GRID, 80, 23, 5, 0) is None
    assert border_at(GRID, 80, 23, 5, 5) is None
    assert border_at(v(A, h(B, v(C, D))), 80, 23, 79, 11) == Border((), 0, False)


def test_drag_a_separator_to_a_column():
    dragged = drag(GRID, Border((1,), 0, True), 10, 20, 80, 23)
    assert place(dragged, 80, 23)["c"] == Rect(0, 11, 10, 12)
    assert place(dragged, 80, 23)["d"] == Rect(11, 11, 69, 12)
    assert place(dragged, 80, 23)["a"] == Rect(0, 0, 39, 11)


def test_drag_a_header_to_a_row():
    dragged = drag(GRID, Border((), 0, False), 0, 5, 80, 23)
    assert heights(dragged) == [(0, 5), (0, 5), (5, 18), (5, 18)]


def test_drag_is_clamped_so_every_pane_keeps_its_minimum():
    assert widths(drag(h(A, B), Border((), 0, True), 0, 0, 80, 23)) == [(0, 2), (3, 77)]
    assert widths(drag(h(A, B), Border((), 0, True), 500, 0, 80, 23)) == [(0, 77), (78, 2)]
    assert heights(drag(v(A, B), Border((), 0, False), 0, -3, 80, 23)) == [(0, 2), (2, 21)]


def test_drag_of_a_border_that_does_not_exist_is_an_error():
    with pytest.raises(ValueError):
        drag(h(A, B), Border((), 0, False), 3, 3, 80, 23)
    with pytest.raises(ValueError):
        drag(h(A, B), Border((), 1, True), 3, 3, 80, 23)


# ---------------------------------------------------------------- serialization


def test_json_round_trips():
    tree = v(A, h(B, v(C, D, weights=(3, 4))), weights=(5, 9))
    assert from_json(to_json(tree)) == tree
    assert to_json(A) == {"pane": "a"}


LEAF = {"pane": "a"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([LEAF], "expected an object"),
        ({"pane": 3}, "non-empty string"),
        ({"pane": ""}, "non-empty string"),
        ({"pane": "a", "size": 3}, "unknown key"),
        ({"horizontal": True, "children": [LEAF, {"pane": "b"}]}, "missing key"),
        ({"horizontal": 1, "children": [LEAF, {"pane": "b"}], "weights": [1, 1]}, "true or"),
        ({"horizontal": True, "children": [LEAF], "weights": [1]}, "at least 2"),
        ({"horizontal": True, "children": {"a": LEAF}, "weights": [1]}, "at least 2"),
        ({"horizontal": True, "children": [LEAF, {"pane": "b"}], "weights": [1]}, "2 integers"),
        ({"horizontal": True, "children": [LEAF, {"pane": "b"}], "weights": [1, 0]}, "positive"),
        ({"horizontal": True, "children": [LEAF, {"pane": "b"}], "weights": [1, -2]}, "positive"),
        ({"horizontal": True, "children": [LEAF, {"pane": "b"}], "weights": [1, 1.5]}, "positive"),
        ({"horizontal": True, "children": [LEAF, {"pane": "b"}], "weights": [1, True]}, "positive"),
        ({"horizontal": True, "children": [LEAF, LEAF], "weights": [1, 1]}, "twice"),
        ({"horizontal": True, "children": [LEAF, 7], "weights": [1, 1]}, r"children\[1\]"),
        ({"horizontal": True, "children": [LEAF, {}], "weights": [1, 1]}, "missing key"),
        ({"horizontal": True, "children": [LEAF, {"pane": "b"}], "weights": [1, 1], "x": 1}, "x"),
    ],
)
def test_from_json_rejects_malformed_layouts(data, message):
    with pytest.raises(ValueError, match=message):
        from_json(data)


# ---------------------------------------------------------------- presets


def from_tmux(tmux_rect: Rect) -> Rect:
    """A tmux pane's geometry, under `pane-border-status top`, as our rect.

    tmux reports a pane's content; its header is the status line or the border row above it.
    """
    return Rect(tmux_rect.x, tmux_rect.y - 1, tmux_rect.width, tmux_rect.height + 1)


def preset_from_tmux(name: str, width: int, tmux_rects: list[Rect]) -> list[Rect]:
    """What our preset should give where tmux gave these panes.

    The one deviation: where tmux's main-vertical leaves the other column 1 wide (areas up to
    main-pane-width + 2 columns), ours keeps MIN_WIDTH by taking a column from the main pane.
    """
    ours = [from_tmux(r) for r in tmux_rects]
    if name == "main-vertical" and len(ours) > 1 and ours[1].width < MIN_WIDTH:
        assert width <= MAIN_PANE_WIDTH + 2
        main, *others = ours
        ours = [Rect(main.x, main.y, main.width - 1, main.height)]
        ours += [Rect(r.x - 1, r.y, r.width + 1, r.height) for r in others]
    return ours


# From tmux 3.3a: `tmux -L ref -f /dev/null new-session -d -x W -y H`, `set -g
# pane-border-status top`, `set -g status off`, n - 1 times `split-window; select-layout
# tiled`, then `select-layout NAME; list-panes -F
# '#{pane_left},#{pane_top},#{pane_width},#{pane_height}'`.
TMUX_PRESETS = [
    ("even-horizontal", 3, 80, 23, "0,1,26,22 27,1,26,22 54,1,26,22"),
    ("even-vertical", 3, 80, 23, "0,1,80,6 0,8,80,6 0,15,80,8"),
    ("main-horizontal", 3, 80, 23, "0,1,80,20 0,22,39,1 40,22,40,1"),
    ("main-vertical", 3, 80, 23, "0,1,78,22 79,1,1,10 79,12,1,11"),
    ("tiled", 3, 80, 23, "0,1,39,10 40,1,40,10 0,12,80,11"),
    ("even-horizontal", 5, 80, 23, "0,1,15,22 16,1,15,22 32,1,15,22 48,1,15,22 64,1,16,22"),
    ("even-vertical", 5, 80, 23, "0,1,80,3 0,5,80,3 0,9,80,3 0,13,80,3 0,17,80,6"),
    ("main-horizontal", 5, 80, 23, "0,1,80,20 0,22,19,1 20,22,19,1 40,22,19,1 60,22,20,1"),
    ("main-vertical", 5, 80, 23, "0,1,78,22 79,1,1,4 79,6,1,4 79,11,1,4 79,16,1,7"),
    ("tiled", 5, 80, 23, "0,1,39,6 40,1,40,6 0,8,39,7 40,8,40,7 0,16,80,7"),
    ("even-horizontal", 3, 200, 49, "0,1,66,48 67,1,66,48 134,1,66,48"),
    ("even-vertical", 3, 200, 49, "0,1,200,15 0,17,200,15 0,33,200,16"),
    ("main-horizontal", 3, 200, 49, "0,1,200,23 0,25,99,24 100,25,100,24"),
    ("main-vertical", 3, 200, 49, "0,1,80,48 81,1,119,23 81,25,119,24"),
    ("tiled", 3, 200, 49, "0,1,99,23 100,1,100,23 0,25,200,24"),
    ("even-horizontal", 5, 200, 49, "0,1,39,48 40,1,39,48 80,1,39,48 120,1,39,48 160,1,40,48"),
    ("even-vertical", 5, 200, 49, "0,1,200,8 0,10,200,8 0,19,200,8 0,28,200,8 0,37,200,12"),
    ("main-horizontal", 5, 200, 49, "0,1,200,23 0,25,49,24 50,25,49,24 100,25,49,24 150,25,50,24"),
    ("main-vertical", 5, 200, 49, "0,1,80,48 81,1,119,11 81,13,119,11 81,25,119,11 81,37,119,12"),
    ("tiled", 5, 200, 49, "0,1,99,14 100,1,100,14 0,16,99,15 100,16,100,15 0,32,200,17"),
]


def placed_preset(name: str, count: int, width: int, height: int) -> list[Rect]:
    ids = [f"p{i}" for i in range(count)]
    rects = place(preset(name, ids, None, width, height), width, height)
    return [rects[i] for i in ids]


@pytest.mark.parametrize(("name", "count", "width", "height", "geometry"), TMUX_PRESETS)
def test_presets_match_tmux(name, count, width, height, geometry):
    tmux_rects = [Rect(*map(int, g.split(","))) for g in geometry.split()]
    expected = preset_from_tmux(name, width, tmux_rects)
    assert placed_preset(name, count, width, height) == expected


def test_main_vertical_keeps_the_other_column_usable_where_tmux_would_not():
    rects = placed_preset("main-vertical", 2, 80, 23)
    assert rects == [Rect(0, 0, 77, 23), Rect(78, 0, 2, 23)]


def test_main_layouts_put_the_main_pane_first():
    tree = preset("main-vertical", ["a", "b", "c"], "c", 200, 49)
    assert panes(tree) == ["c", "a", "b"]
    assert place(tree, 200, 49)["c"] == Rect(0, 0, 80, 49)
    assert panes(preset("tiled", ["a", "b", "c"], "c", 200, 49)) == ["a", "b", "c"]


def test_a_preset_of_one_pane_is_that_pane():
    assert all(preset(name, ["a"], None, 80, 23) == A for name in PRESETS)


def test_preset_rejects_unknown_names_and_empty_pane_lists():
    with pytest.raises(ValueError, match="unknown layout"):
        preset("spiral", ["a"], None, 80, 23)
    with pytest.raises(ValueError):
        preset("tiled", [], None, 80, 23)


def test_next_preset_cycles_in_tmux_order():
    assert next_preset(None) == "even-horizontal"
    assert [next_preset(name) for name in PRESETS] == [*PRESETS[1:], PRESETS[0]]
    with pytest.raises(ValueError):
        next_preset("spiral")


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def run_tmux(name: str, width: int, height: int, commands: list[str]) -> list[tuple[str, list]]:
    """Run commands in a private tmux server of width x height with a header row per pane.

    Each "=> label" command takes a labelled snapshot: the current window's panes as
    (pane id, tmux geometry). All commands run in one tmux client process.
    """
    setup = [
        f"new-session -d -x {width} -y {height} 'exec cat'",
        "set -g pane-border-status top",
        "set -g status off",
        "set -g default-command 'exec cat'",  # no shell startup per pane
    ]
    args: list[str] = []
    for command in setup + commands:
        if command.startswith("=> "):
            snapshot = "#{pane_id} #{pane_left} #{pane_top} #{pane_width} #{pane_height}"
            args += ["display-message", "-p", command, ";", "list-panes", "-F", snapshot, ";"]
        else:
            args += [*shlex.split(command), ";"]
    tmux = ["tmux", "-L", f"nono-layout-test-{name}", "-f", "/dev/null"]
    # tmux 3.3a leaves its socket behind after kill-server: keep it in a directory of ours.
    with tempfile.TemporaryDirectory(prefix="nono-tmux-") as sockets:
        env = {**os.environ, "TMUX_TMPDIR": sockets}
        env.pop("TMUX", None)
        try:
            out = subprocess.run(
                [*tmux, *args[:-1]], capture_output=True, text=True, check=True, timeout=10, env=env
            ).stdout
        finally:
            subprocess.run([*tmux, "kill-server"], capture_output=True, check=False, env=env)
    snapshots: list[tuple[str, list]] = []
    for line in out.splitlines():
        if line.startswith("=> "):
            snapshots.append((line[3:], []))
        else:
            pane, x, y, w, h = line.split()
            snapshots[-1][1].append((pane, Rect(int(x), int(y), int(w), int(h))))
    return snapshots


@needs_tmux
@pytest.mark.parametrize(("width", "height"), [(80, 23), (200, 49), (97, 31)])
def test_presets_match_a_live_tmux(width, height):
    counts = range(1, 6)
    commands = []
    for count in counts:  # a window per pane count
        commands += [] if count == 1 else ["new-window"]
        commands += ["split-window", "select-layout tiled"] * (count - 1)
        for name in PRESETS:
            commands += [f"select-layout {name}", f"=> {name} {count}"]
    snapshots = run_tmux(f"{width}x{height}", width, height, commands)
    assert len(snapshots) == len(PRESETS) * len(counts)
    for label, found in snapshots:
        name, count = label.split()
        expected = preset_from_tmux(name, width, [rect for _, rect in found])
        assert placed_preset(name, int(count), width, height) == expected, label


def parent_of(tree: Node, pane: str) -> tuple[Split, int] | None:
    if isinstance(tree, Split):
        for i, child in enumerate(tree.children):
            if child == Leaf(pane):
                return tree, i
            if found := parent_of(child, pane):
                return found
    return None


def tmux_edit_script(seed: int, width: int, height: int) -> tuple[list[str], list[Node]]:
    """Random splits, kills and resizes as tmux commands, with our tree after each one.

    Kills and resizes are kept to where tmux's cell-at-a-time hand-out to a nested split
    (which `place` shares by weight instead) cannot arise: the cells change hands between
    leaves only, and no pane gets near its minimum (tmux's is smaller than ours).
    """
    rng = random.Random(seed)
    area = (width, height)
    tree: Node = Leaf("%0")  # tmux numbers its panes %0, %1, ... in creation order
    script, trees, created = [], [], 1
    while len(trees) < 12:
        pane = rng.choice(panes(tree))
        found = parent_of(tree, pane)
        roll = rng.random()
        if roll < 0.25 and found:
            parent, i = found
            if not isinstance(parent.children[i - 1 if i else 1], Leaf):
                continue
            script.append(f"kill-pane -t {pane}")
            tree = remove(tree, pane, area=area)
        elif roll < 0.5 and found:
            parent, i = found
            cells, direction = rng.randint(1, 4), rng.choice(DIRECTIONS)
            if parent.horizontal != (direction in ("left", "right")):
                continue
            if any(not isinstance(c, Leaf) for c in parent.children):
                continue
            if min(min(r.width, r.height) for r in place(tree, width, height).values()) < 8:
                continue
            script.append(f"resize-pane -t {pane} -{direction[0].upper()} {cells}")
            tree = resize(tree, pane, direction, cells, width, height)
        else:
            horizontal = rng.random() < 0.5
            rect = place(tree, width, height)[pane]
            if min(rect.width, rect.height) < 8:
                continue
            script.append(f"split-window -t {pane} {'-h' if horizontal else '-v'}")
            tree = split(tree, pane, f"%{created}", horizontal, area=area)
            created += 1
        trees.append(tree)
    return script, trees


@needs_tmux
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_splits_kills_and_resizes_match_a_live_tmux(seed):
    width, height = 121, 41
    script, trees = tmux_edit_script(seed, width, height)
    commands = [c for command in script for c in (command, f"=> {command}")]
    snapshots = run_tmux(f"edits-{seed}", width, height, commands)
    assert len(snapshots) == len(script)
    for (command, found), tree in zip(snapshots, trees, strict=True):
        expected = {pane: from_tmux(rect) for pane, rect in found}
        assert place(tree, width, height) == expected, command
