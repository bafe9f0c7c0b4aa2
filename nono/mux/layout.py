"""The pane layout tree of `nono mux`: where each pane sits, and the pure edits to it.

Geometry, in cells of the area left after the status bar:

- A pane's Rect includes a one-row header (title line) at its top; `Rect.content` is the rest.
- Side-by-side panes (a horizontal Split) are separated by a one-column separator that belongs
  to neither pane, so widths + (n - 1) == the split's width.
- Stacked panes (a vertical Split) need no separator: the lower pane's header is the boundary,
  so heights sum to the split's height.

This is tmux with `pane-border-status top`: a tmux pane at (left, top, w, h) is our
Rect(left, top - 1, w, h + 1). Like tmux, same-direction splits may nest.

Weights are relative spans. A stacked child's span is its height; a side-by-side child's
span is its width plus the separator after it, the area counting as width + 1 (one virtual
separator past the right edge). So halving a span splits a pane the way tmux does, and a
removed pane's span is exactly what its neighbour gains. `fit` sets the weights to the spans
at one size; presets, resize and drag store spans, and split/remove do when given the area.
Then split, remove, resize and drag give tmux's cells, except that where tmux hands a change
to a nested split one cell per child in turn, `place` shares it out by weight. A change of
area is shared by weight too, so shrinking and growing back restores the layout.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

MIN_WIDTH = 2
MIN_HEIGHT = 2  # one header row and one content row
DIRECTIONS = ("left", "right", "up", "down")

Path = tuple[int, ...]
"""Child indices from the root to a node."""


class LayoutTooSmall(Exception):
    """The area cannot give every pane its minimum size."""

    def __init__(self, needed_width: int, needed_height: int) -> None:
        super().__init__(f"the layout needs at least {needed_width}x{needed_height} cells")
        self.needed_width = needed_width
        self.needed_height = needed_height


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int

    @property
    def content(self) -> Rect:
        """The rect below the header row."""
        return Rect(self.x, self.y + 1, self.width, self.height - 1)

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height


@dataclass(frozen=True, slots=True)
class Leaf:
    pane: str


@dataclass(frozen=True, slots=True)
class Split:
    horizontal: bool  # True: children side by side, left to right (tmux `split-window -h`)
    children: tuple[Node, ...]
    weights: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.children) < 2:
            raise ValueError("a split needs at least 2 children")
        if len(self.weights) != len(self.children):
            raise ValueError("a split needs one weight per child")
        if any(w <= 0 for w in self.weights):
            raise ValueError("split weights must be positive")


Node = Leaf | Split


@dataclass(frozen=True, slots=True)
class Border:
    """The boundary after `children[index]` of the split at `path`."""

    path: Path
    index: int
    horizontal: bool  # the split's direction: True means a separator column, moved in x


@dataclass(frozen=True, slots=True)
class Separator:
    """A drawn separator column (only side-by-side panes have one)."""

    x: int
    y: int
    length: int
    border: Border


# ---------------------------------------------------------------- geometry


def min_size(tree: Node) -> tuple[int, int]:
    """The smallest (width, height) that gives every pane its minimum."""
    if isinstance(tree, Leaf):
        return MIN_WIDTH, MIN_HEIGHT
    sizes = [min_size(child) for child in tree.children]
    if tree.horizontal:
        return sum(w for w, _ in sizes) + len(sizes) - 1, max(h for _, h in sizes)
    return max(w for w, _ in sizes), sum(h for _, h in sizes)


def _min_span(node: Node, horizontal: bool) -> int:
    width, height = min_size(node)
    return width + 1 if horizontal else height


def _distribute(total: int, node: Split) -> list[int]:
    """Children's spans: proportional to the weights, then raised to their minimums.

    Boundaries are rounded to the nearest cell; a tie goes to the earlier child side by side
    and to the later one when stacked, which is where tmux's split-window puts the odd cell.
    """
    whole = sum(node.weights)
    bias = whole if node.horizontal else whole - 1
    bounds, acc = [0], 0
    for weight in node.weights:
        acc += weight
        bounds.append((2 * total * acc + bias) // (2 * whole))
    spans = [b - a for a, b in pairwise(bounds)]
    mins = [_min_span(child, node.horizontal) for child in node.children]
    for i, need in enumerate(mins):
        while spans[i] < need:  # fed one cell at a time by the child with the most slack
            j = max(range(len(spans)), key=lambda k: spans[k] - mins[k])
            spans[j] -= 1
            spans[i] += 1
    return spans


def _child_rects(node: Split, rect: Rect, spans: Sequence[int]) -> list[Rect]:
    rects, pos = [], rect.x if node.horizontal else rect.y
    for span in spans:
        if node.horizontal:
            rects.append(Rect(pos, rect.y, span - 1, rect.height))
        else:
            rects.append(Rect(rect.x, pos, rect.width, span))
        pos += span
    return rects


@dataclass(frozen=True, slots=True)
class _Placed:
    path: Path
    node: Node
    rect: Rect
    spans: tuple[int, ...]  # a split's children's spans; () for a leaf


def _walk(tree: Node, width: int, height: int) -> Iterator[_Placed]:
    """Every node with its rect, depth first; raises LayoutTooSmall first if needed."""
    need_w, need_h = min_size(tree)
    if width < need_w or height < need_h:
        raise LayoutTooSmall(need_w, need_h)
    return _walk_from((), tree, Rect(0, 0, width, height))


def _walk_from(path: Path, node: Node, rect: Rect) -> Iterator[_Placed]:
    if isinstance(node, Leaf):
        yield _Placed(path, node, rect, ())
        return
    spans = _distribute(rect.width + 1 if node.horizontal else rect.height, node)
    yield _Placed(path, node, rect, tuple(spans))
    for i, child_rect in enumerate(_child_rects(node, rect, spans)):
        yield from _walk_from((*path, i), node.children[i], child_rect)


def place(tree: Node, width: int, height: int) -> dict[str, Rect]:
    """Each pane's rect (header included) within a width x height area."""
    return {p.node.pane: p.rect for p in _walk(tree, width, height) if isinstance(p.node, Leaf)}


def separators(tree: Node, width: int, height: int) -> list[Separator]:
    """The separator columns between side-by-side panes, depth first."""
    found = []
    for placed in _walk(tree, width, height):
        node = placed.node
        if isinstance(node, Split) and node.horizontal:
            x = placed.rect.x - 1  # each span is a pane and the separator after it
            for i, span in enumerate(placed.spans[:-1]):
                x += span
                border = Border(placed.path, i, True)
                found.append(Separator(x, placed.rect.y, placed.rect.height, border))
    return found


def pane_at(tree: Node, width: int, height: int, x: int, y: int) -> str | None:
    """The pane whose rect holds the cell (x, y); None on a separator or outside."""
    for pane, rect in place(tree, width, height).items():
        if rect.contains(x, y):
            return pane
    return None


def border_at(tree: Node, width: int, height: int, x: int, y: int) -> Border | None:
    """The boundary under (x, y): a separator column, or the header of a lower stacked pane."""
    for sep in separators(tree, width, height):
        if x == sep.x and sep.y <= y < sep.y + sep.length:
            return sep.border
    pane = pane_at(tree, width, height, x, y)
    if pane is None or place(tree, width, height)[pane].y != y:
        return None
    path = _find(tree, pane)
    # Climb while the pane's header is also the top of the enclosing node.
    while path:
        if not _parent(tree, path).horizontal and path[-1] > 0:
            return Border(path[:-1], path[-1] - 1, False)
        path = path[:-1]
    return None


def neighbour(
    tree: Node,
    pane: str,
    direction: str,
    width: int,
    height: int,
    *,
    recent: Sequence[str] = (),
    wrap: bool = True,
) -> str | None:
    """The pane next to `pane` in a direction, like tmux's select-pane -L/-R/-U/-D.

    Candidates touch the pane's edge and overlap it on the other axis. tmux picks the most
    recently used candidate; pass `recent` (most recent first) for that. Otherwise the one
    overlapping most wins, then the one starting nearest the pane's top/left. Like tmux, a pane
    on the area's edge wraps around to the far side unless wrap is False.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    rects = place(tree, width, height)
    me = rects[pane]
    sideways = direction in ("left", "right")

    def edge_matches(r: Rect, wrapped: bool) -> bool:
        if direction == "left":
            return r.x + r.width == width if wrapped else r.x + r.width + 1 == me.x
        if direction == "right":
            return r.x == 0 if wrapped else me.x + me.width + 1 == r.x
        if direction == "up":
            return r.y + r.height == height if wrapped else r.y + r.height == me.y
        return r.y == 0 if wrapped else me.y + me.height == r.y

    def overlap(r: Rect) -> int:
        if sideways:
            return min(me.y + me.height, r.y + r.height) - max(me.y, r.y)
        return min(me.x + me.width, r.x + r.width) - max(me.x, r.x)

    for wrapped in (False, True) if wrap else (False,):
        order = [p for p, r in rects.items() if p != pane and edge_matches(r, wrapped)]
        order = [p for p in order if overlap(rects[p]) > 0]
        if not order:
            continue
        for p in recent:
            if p in order:
                return p
        start = (lambda r: abs(r.y - me.y)) if sideways else (lambda r: abs(r.x - me.x))
        return min(order, key=lambda p: (-overlap(rects[p]), start(rects[p])))
    return None


# ---------------------------------------------------------------- tree edits


def _leaves(tree: Node, path: Path = ()) -> Iterator[tuple[Path, str]]:
    if isinstance(tree, Leaf):
        yield path, tree.pane
    else:
        for i, child in enumerate(tree.children):
            yield from _leaves(child, (*path, i))


def panes(tree: Node | None) -> list[str]:
    """Pane ids in reading order (depth first)."""
    return [] if tree is None else [pane for _, pane in _leaves(tree)]


def _find(tree: Node, pane: str) -> Path:
    for path, found in _leaves(tree):
        if found == pane:
            return path
    raise KeyError(pane)


def _at(tree: Node, path: Path) -> Node:
    for i in path:
        assert isinstance(tree, Split)
        tree = tree.children[i]
    return tree


def _parent(tree: Node, path: Path) -> Split:
    parent = _at(tree, path[:-1])
    assert isinstance(parent, Split)
    return parent


def _replace(tree: Node, path: Path, node: Node) -> Node:
    if not path:
        return node
    assert isinstance(tree, Split)
    kids = list(tree.children)
    kids[path[0]] = _replace(kids[path[0]], path[1:], node)
    return replace(tree, children=tuple(kids))


def _reduced(weights: Sequence[int]) -> tuple[int, ...]:
    divisor = math.gcd(*weights)
    return tuple(w // divisor for w in weights)


def fit(tree: Node, width: int, height: int) -> Node:
    """The same layout with every weight set to its span in cells at this size."""
    spans = {p.path: p.spans for p in _walk(tree, width, height) if p.spans}

    def build(node: Node, path: Path) -> Node:
        if isinstance(node, Leaf):
            return node
        kids = tuple(build(child, (*path, i)) for i, child in enumerate(node.children))
        return Split(node.horizontal, kids, spans[path])

    return build(tree, ())


def _halves(rect: Rect, horizontal: bool) -> tuple[int, int]:
    """tmux's split-window cells for the old and the new pane, as spans.

    tmux halves the cell; a pane at the top of the area owns the header row in its cell
    (tmux's pane status line), the others are given the border above them.
    """
    if horizontal:
        new = (rect.width + 1) // 2
        return rect.width + 1 - new, new
    new = (rect.height + 1) // 2 if rect.y == 0 else rect.height // 2
    return rect.height - new, new


def split(
    tree: Node | None,
    target: str | None,
    new: str,
    horizontal: bool,
    area: tuple[int, int] | None = None,
) -> Node:
    """Split `target` in two, `new` after it (right or below), each with half its space.

    A None target splits the whole area (like tmux's split-window -f). Given the area
    (width, height), the tree is fitted to it first and the halves are tmux's exact cells;
    LayoutTooSmall if the result does not fit.
    """
    if tree is None:
        return Leaf(new)
    if new in panes(tree):
        raise ValueError(f"pane {new!r} is already in the layout")
    if area is not None:
        tree = fit(tree, *area)
    path = () if target is None else _find(tree, target)
    halves = (1, 1)
    if area is not None:
        halves = _halves(next(p.rect for p in _walk(tree, *area) if p.path == path), horizontal)
    parent = _at(tree, path[:-1]) if path else None
    if isinstance(parent, Split) and parent.horizontal == horizontal:
        i = path[-1]
        # Without cells, doubling the others keeps their shares while the target's halves.
        weights = parent.weights if area else tuple(2 * w for w in parent.weights)
        weights = (*weights[:i], *halves, *weights[i + 1 :])
        weights = weights if area else _reduced(weights)
        kids = (*parent.children[: i + 1], Leaf(new), *parent.children[i + 1 :])
        result = _replace(tree, path[:-1], Split(horizontal, kids, weights))
    else:
        result = _replace(tree, path, Split(horizontal, (_at(tree, path), Leaf(new)), halves))
    if area is not None and any(a < b for a, b in zip(area, min_size(result), strict=True)):
        raise LayoutTooSmall(*min_size(result))
    return result


def remove(tree: Node, pane: str, area: tuple[int, int] | None = None) -> Node | None:
    """Drop a pane; like tmux its space goes to the previous sibling (the next, if first).

    A split left with one child is replaced by that child. Given the area (width, height),
    the tree is fitted to it first, so the neighbour grows by exactly the pane's cells.
    """
    if area is not None:
        tree = fit(tree, *area)
    path = _find(tree, pane)
    if not path:
        return None
    parent, i = _parent(tree, path), path[-1]
    weights = list(parent.weights)
    weights[i - 1 if i > 0 else 1] += weights[i]
    del weights[i]
    kids = [c for k, c in enumerate(parent.children) if k != i]
    if len(kids) == 1:
        return _replace(tree, path[:-1], kids[0])
    reduced = tuple(weights) if area is not None else _reduced(weights)
    return _replace(tree, path[:-1], Split(parent.horizontal, tuple(kids), reduced))


def prune(tree: Node | None, alive: set[str]) -> Node | None:
    """The layout without panes that are not in `alive` (sessions that have gone)."""
    for pane in panes(tree):
        if pane not in alive and tree is not None:
            tree = remove(tree, pane)
    return tree


def _move_boundary(
    spans: Sequence[int], mins: Sequence[int], b: int, delta: int, opposite: bool
) -> tuple[int, ...]:
    """Move the boundary after child b by delta cells, as tmux's layout_resize_pane does.

    Moving forward grows b by shrinking the following children, nearest first (pushing their
    boundaries along); with `opposite`, the remainder is taken from the children before b.
    Moving back shrinks b, then the children before it, and grows b + 1.
    """
    out = list(spans)
    need = abs(delta)
    if delta > 0:
        givers = list(range(b + 1, len(out)))
        if opposite:
            givers += range(b - 1, -1, -1)
        taker = b
    else:
        givers, taker = list(range(b, -1, -1)), b + 1
    for k in givers:
        take = min(need, out[k] - mins[k])
        if take > 0:
            out[k] -= take
            out[taker] += take
            need -= take
    return tuple(out)


def _placed_split(tree: Node, path: Path, width: int, height: int) -> _Placed:
    for placed in _walk(tree, width, height):
        if placed.path == path and isinstance(placed.node, Split):
            return placed
    raise ValueError(f"no split at {path}")


def _move(tree: Node, placed: _Placed, b: int, delta: int, opposite: bool) -> Node:
    """The tree with a boundary moved; the split's weights become its new spans."""
    node = placed.node
    assert isinstance(node, Split)
    mins = [_min_span(child, node.horizontal) for child in node.children]
    spans = _move_boundary(placed.spans, mins, b, delta, opposite)
    if spans == placed.spans:
        return tree
    return _replace(tree, placed.path, replace(node, weights=spans))


def resize(tree: Node, pane: str, direction: str, cells: int, width: int, height: int) -> Node:
    """tmux's resize-pane -L/-R/-U/-D: move a boundary of the pane by `cells`.

    The boundary is the pane's right (bottom) edge in the nearest split of that axis, or its
    left (top) edge when the pane is last there; it moves toward `direction`, pushing further
    panes once neighbours reach their minimum. No-op when nothing can move.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    horizontal = direction in ("left", "right")
    path = _find(tree, pane)
    while path and _parent(tree, path).horizontal != horizontal:
        path = path[:-1]
    if not path or cells <= 0:
        return tree
    placed = _placed_split(tree, path[:-1], width, height)
    b = min(path[-1], len(placed.spans) - 2)
    delta = cells if direction in ("right", "down") else -cells
    return _move(tree, placed, b, delta, opposite=True)


def drag(tree: Node, border: Border, x: int, y: int, width: int, height: int) -> Node:
    """Move a boundary so that it lands at column x (separators) or row y (headers)."""
    placed = _placed_split(tree, border.path, width, height)
    node = placed.node
    assert isinstance(node, Split)
    if node.horizontal != border.horizontal or not 0 <= border.index < len(node.children) - 1:
        raise ValueError(f"no such border: {border}")
    end = sum(placed.spans[: border.index + 1])
    # Where the boundary is now: the separator column, or the lower pane's header row.
    delta = x - (placed.rect.x + end - 1) if node.horizontal else y - (placed.rect.y + end)
    return _move(tree, placed, border.index, delta, opposite=False)
