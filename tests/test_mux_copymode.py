"""Copy mode as a pure state machine: motions, selection, search, and the drawn view."""

from __future__ import annotations

import random

import pytest
from wcwidth import wcswidth

from nono.mux.actions import COPY, names
from nono.mux.copymode import (
    CURRENT_MATCH_STYLE,
    MATCH_STYLE,
    WHEEL_ACTIONS,
    CopyMode,
    Result,
)
from nono.term.style import DEFAULT, Style

# Every action CopyMode.act takes: the registry's copy-mode actions and the wheel's.
ACTIONS = (*(name for name in names(COPY) if name != "none"), *WHEEL_ACTIONS)

RED = Style(fg=1)


def line(text: str, style: Style = DEFAULT) -> list[tuple[str, Style]]:
    return [(text, style)] if text else []


def lines(*texts: str) -> list[list[tuple[str, Style]]]:
    return [line(text) for text in texts]


def numbered(n: int) -> list[list[tuple[str, Style]]]:
    return [line(f"line {i}") for i in range(n)]


def plain(row: list[tuple[str, Style]]) -> str:
    return "".join(text for text, _ in row)


def screen(mode: CopyMode) -> list[str]:
    return [plain(row).rstrip() for row in mode.view()]


def cursor_line(mode: CopyMode) -> str:
    return screen(mode)[mode.cursor[1]]


def styles_at(row: list[tuple[str, Style]]) -> list[Style]:
    """The style of each character of the row's text."""
    return [style for text, style in row for _ in text]


def test_starts_at_the_bottom_after_the_last_text() -> None:
    mode = CopyMode([*numbered(100), line("$ ls"), *lines("", "", "")], 20, 4)
    assert mode.position == (0, 100)
    assert screen(mode) == ["$ ls", "", "", ""]
    assert mode.cursor == (4, 0)


def test_starts_where_the_pane_cursor_was() -> None:
    mode = CopyMode([*numbered(100), *lines("a", "bbb", "cc", "")], 20, 4, cursor=(1, 2))
    assert mode.cursor == (1, 2)


def test_page_up_then_bottom() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-page-up")
    assert mode.position == (8, 90)  # a page is the height less two lines, like tmux
    assert mode.cursor[1] == 9  # the cursor keeps its row
    mode.act("copy-page-up", 2)
    assert mode.position == (24, 90)
    mode.act("copy-bottom")
    assert mode.position == (0, 90)
    assert cursor_line(mode) == "line 99"
    assert mode.cursor == (7, 9)


def test_page_up_at_the_top_moves_the_cursor_instead() -> None:
    mode = CopyMode(numbered(12), 20, 10)
    mode.act("copy-page-up")
    assert mode.position == (2, 2)
    assert mode.cursor[1] == 3  # scrolled 2 of 8 lines; the cursor moved the other 6
    mode.act("copy-page-up")
    assert mode.cursor[1] == 0


def test_half_page_down_stops_at_the_bottom() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-top")
    mode.act("copy-half-page-down", 3)
    assert mode.position == (75, 90)
    mode.act("copy-half-page-down", 100)
    assert mode.position == (0, 90)
    assert cursor_line(mode) == "line 99"


def test_copy_top_goes_to_the_oldest_line() -> None:
    mode = CopyMode(numbered(1000), 20, 10)
    mode.act("copy-top")
    assert mode.position == (990, 990)
    assert mode.cursor == (0, 0)
    assert cursor_line(mode) == "line 0"


def test_cursor_up_at_the_top_edge_scrolls_the_view() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-up", 9)
    assert mode.position == (0, 90)
    assert mode.cursor[1] == 0
    mode.act("copy-up")
    assert mode.position == (1, 90)
    assert mode.cursor[1] == 0
    assert cursor_line(mode) == "line 89"


def test_vertical_motion_keeps_the_wanted_column() -> None:
    mode = CopyMode(lines("a long line", "ab", "another long line"), 30, 3)
    mode.act("copy-top")
    mode.act("copy-right", 6)
    mode.act("copy-down")
    assert mode.cursor == (2, 1)  # just after the short line's text, as tmux
    mode.act("copy-down")
    assert mode.cursor == (6, 2)


def test_line_end_sticks_to_the_end_of_lines() -> None:
    mode = CopyMode(lines("abcdef", "ab", "abcd"), 30, 3)
    mode.act("copy-top")
    mode.act("copy-line-end")
    assert mode.cursor == (6, 0)
    mode.act("copy-down")
    assert mode.cursor == (2, 1)
    mode.act("copy-down")
    assert mode.cursor == (4, 2)
    mode.act("copy-line-start")
    assert mode.cursor == (0, 2)


def test_left_and_right_cross_line_ends() -> None:
    mode = CopyMode(lines("ab", "cd"), 30, 2)
    mode.act("copy-top")
    mode.act("copy-right", 3)
    assert mode.cursor == (0, 1)
    mode.act("copy-left")
    assert mode.cursor == (2, 0)


def test_word_motions() -> None:
    mode = CopyMode(lines("foo bar-baz  qux", "", "  next"), 30, 3)
    mode.act("copy-top")
    stops = []
    for _ in range(5):
        mode.act("copy-word-next")
        stops.append(mode.cursor)
    assert stops == [(4, 0), (7, 0), (8, 0), (13, 0), (2, 2)]
    mode.act("copy-word-prev")
    assert mode.cursor == (13, 0)
    mode.act("copy-word-prev", 2)
    assert mode.cursor == (7, 0)


def test_selection_across_lines_copies_text_without_trailing_spaces() -> None:
    rows = [
        [("first line", RED), ("          ", DEFAULT)],
        [("second    ", DEFAULT), ("   ", RED)],
        [("third line", DEFAULT)],
    ]
    mode = CopyMode(rows, 20, 3)
    mode.act("copy-top")
    mode.act("copy-right", 6)
    mode.act("copy-begin-selection")
    mode.act("copy-down", 2)
    mode.act("copy-line-start")
    mode.act("copy-right", 2)
    assert mode.selection_text() == "line\nsecond\nthi"
    result = mode.act("copy-copy")
    assert result == Result(exit=True, copied="line\nsecond\nthi")


def test_selection_backwards_from_the_anchor() -> None:
    mode = CopyMode(lines("hello world"), 20, 1)
    mode.act("copy-line-start")
    mode.act("copy-right", 7)
    mode.act("copy-begin-selection")
    mode.act("copy-word-prev")
    assert mode.selection_text() == "wo"
    mode.act("copy-word-prev")
    assert mode.selection_text() == "hello wo"


def test_select_line() -> None:
    mode = CopyMode(lines("one  ", "two", "three", "four"), 20, 4)
    mode.act("copy-top")
    mode.act("copy-down")
    mode.act("copy-right")
    mode.act("copy-select-line")
    assert mode.selection_text() == "two"
    mode.act("copy-down")
    assert mode.selection_text() == "two\nthree"
    mode.act("copy-up", 2)
    assert mode.selection_text() == "one\ntwo"


def test_clear_selection_and_copy_without_selection() -> None:
    mode = CopyMode(lines("text"), 20, 1)
    mode.act("copy-begin-selection")
    mode.act("copy-clear-selection")
    assert mode.selection is None
    assert mode.act("copy-copy") == Result(exit=True, copied=None)
    assert mode.act("copy-cancel") == Result(exit=True)


def test_selection_is_drawn_reversed() -> None:
    mode = CopyMode([[("ab", RED), ("cd", DEFAULT)]], 6, 1)
    mode.act("copy-line-start")
    mode.act("copy-right")
    mode.act("copy-begin-selection")
    mode.act("copy-right", 2)
    styles = styles_at(mode.view()[0])
    assert styles[0] == RED
    assert styles[1] == Style(fg=1, reverse=True)
    assert styles[2] == styles[3] == Style(reverse=True)
    assert styles[4] == DEFAULT


def test_selection_of_wide_characters() -> None:
    mode = CopyMode(lines("a中文b"), 20, 1)
    mode.act("copy-line-start")
    mode.act("copy-right")
    assert mode.cursor == (1, 0)
    mode.act("copy-begin-selection")
    mode.act("copy-right")
    assert mode.cursor == (3, 0)  # one step over a wide character
    assert mode.selection_text() == "中文"


def test_wide_character_not_split_at_the_right_edge() -> None:
    mode = CopyMode([[("abcd中", RED), ("e", DEFAULT)], line("中中中")], 5, 2)
    rows = mode.view()
    assert plain(rows[0]) == "abcd "
    assert plain(rows[1]) == "中中 "
    assert all(wcswidth(plain(row)) == 5 for row in rows)
    mode.act("copy-top")
    mode.act("copy-line-end")
    assert mode.cursor == (4, 0)  # the last column, on the cut character


def test_search_finds_a_line_5000_lines_back() -> None:
    history = numbered(10_000)
    history[5000] = line("here is the NEEDLE, at last")
    mode = CopyMode(history, 80, 24)
    assert mode.search("NEEDLE", backward=True)
    assert mode.cursor[0] == 12
    assert cursor_line(mode) == "here is the NEEDLE, at last"
    offset, size = mode.position
    assert size == 10_000 - 24
    assert size - offset <= 5000 < size - offset + 24


def test_search_wraps_around() -> None:
    mode = CopyMode([line("match at the top"), *numbered(50)], 30, 10)
    assert mode.search("match", backward=False)  # nothing below the cursor: wraps to the top
    assert mode.position == (41, 41)
    assert mode.cursor == (0, 0)
    assert mode.act("copy-search-next") == Result()
    assert mode.cursor == (0, 0)  # the only match, found again by wrapping


def test_search_next_and_prev_follow_the_last_direction() -> None:
    mode = CopyMode(lines("x", "x", "x", "end"), 10, 4)
    mode.search("x", backward=True)
    assert mode.cursor == (0, 2)
    mode.act("copy-search-next")
    assert mode.cursor == (0, 1)
    mode.act("copy-search-prev")
    assert mode.cursor == (0, 2)
    mode.act("copy-search-next", 2)
    assert mode.cursor == (0, 0)


def test_search_is_case_insensitive_only_for_lower_case_terms() -> None:
    mode = CopyMode(lines("Error here", "error there", "ERROR", ""), 20, 4)
    mode.act("copy-top")
    assert mode.search("ERROR", backward=False)
    assert mode.cursor == (0, 2)
    assert mode.search("error", backward=False)
    assert mode.cursor == (0, 0)  # wrapped to the first of all three
    assert not mode.search("Errors", backward=False)
    assert mode.cursor == (0, 0)


def test_search_treats_the_term_as_plain_text() -> None:
    mode = CopyMode(lines("a.b", "a+b", "axb"), 10, 3)
    mode.act("copy-top")
    assert mode.search("a+b", backward=False)
    assert mode.cursor == (0, 1)
    assert not mode.search("a.c", backward=False)


def test_search_matches_are_highlighted() -> None:
    mode = CopyMode(lines("foo x foo", "bar"), 12, 2)
    mode.act("copy-top")
    mode.search("foo", backward=False)
    styles = styles_at(mode.view()[0])
    assert styles[6:9] == [CURRENT_MATCH_STYLE] * 3  # the match under the cursor
    assert styles[0:3] == [MATCH_STYLE] * 3
    assert styles[3] == DEFAULT


def test_search_actions_ask_for_a_term() -> None:
    mode = CopyMode(numbered(5), 10, 5)
    assert mode.act("copy-search-backward") == Result(prompt="search-backward")
    assert mode.act("copy-search-forward") == Result(prompt="search-forward")
    assert mode.act("copy-search-next") == Result()  # no term yet: nothing happens


def test_view_stays_on_content_while_lines_arrive() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-page-up")
    before, cursor = screen(mode), mode.cursor
    mode.extend(line(f"new {i}") for i in range(10_000))
    assert screen(mode) == before
    assert mode.cursor == cursor
    assert mode.position == (8 + 10_000, 90 + 10_000)
    mode.act("copy-bottom")
    assert cursor_line(mode) == "new 9999"


def test_view_at_the_bottom_also_stays_while_lines_arrive() -> None:
    mode = CopyMode(numbered(20), 20, 10)
    before = screen(mode)
    mode.extend(numbered(3))
    assert screen(mode) == before
    assert mode.position == (3, 13)


def test_drop_oldest_keeps_view_anchored() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-page-up", 5)
    mode.act("copy-begin-selection")
    mode.act("copy-down", 2)
    before, cursor, text = screen(mode), mode.cursor, mode.selection_text()
    offset, size = mode.position
    mode.drop_oldest(30)
    assert screen(mode) == before
    assert mode.cursor == cursor
    assert mode.selection_text() == text
    assert mode.position == (offset, size - 30)


def test_drop_oldest_past_the_view_shows_the_oldest_line_left() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-top")
    mode.act("copy-begin-selection")
    mode.drop_oldest(5)
    assert screen(mode)[0] == "line 5"
    assert mode.cursor == (0, 0)
    assert mode.selection is not None
    assert mode.selection.anchor == (0, 0)


def test_wheel_scroll_keeps_the_cursor_on_its_content() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-up", 5)
    mode.act("scroll-up", 3)
    assert mode.position == (3, 90)
    assert cursor_line(mode) == "line 94"
    mode.act("scroll-up", 10)  # its line left the view: the cursor stays on the bottom row
    assert mode.cursor[1] == 9
    assert cursor_line(mode) == "line 86"


def test_wheel_down_past_bottom_exits_when_entered_by_wheel() -> None:
    mode = CopyMode(numbered(100), 20, 10, from_wheel=True)
    mode.act("scroll-up", 5)
    assert mode.act("scroll-down", 3) == Result()
    assert mode.act("scroll-down", 3) == Result(exit=True)


def test_wheel_down_to_the_bottom_stays_when_entered_by_keys() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("scroll-up", 5)
    assert mode.act("scroll-down", 10) == Result()
    assert mode.position == (0, 90)


def test_page_down_to_the_bottom_exits_when_entered_by_wheel() -> None:
    mode = CopyMode(numbered(100), 20, 10, from_wheel=True)
    mode.act("copy-page-up")
    assert mode.act("copy-page-down") == Result(exit=True)


def test_resize_keeps_the_cursor_in_view() -> None:
    mode = CopyMode(numbered(100), 20, 10)
    mode.act("copy-page-up")
    mode.resize(4, 3)
    assert len(mode.view()) == 3
    x, y = mode.cursor
    assert 0 <= x < 4 and 0 <= y < 3
    mode.resize(20, 10)
    assert mode.cursor[0] == 3  # "line 91" is cut at 4 columns: the cursor stayed in them


def test_unknown_action_is_an_error() -> None:
    with pytest.raises(ValueError, match="copy-jump"):
        CopyMode(numbered(3), 10, 3).act("copy-jump")


def test_every_listed_action_is_accepted() -> None:
    mode = CopyMode(numbered(30), 10, 5)
    for action in ACTIONS:
        assert isinstance(mode.act(action), Result)


def test_view_is_always_height_rows_of_width_columns() -> None:
    rng = random.Random(1234)
    words = ["foo", "bar-baz", "中文", "é", "e\u0301", "  ", "x" * 30, "漢字かな", "!!"]
    palette = [DEFAULT, RED, Style(bg=4, bold=True)]

    def random_line() -> list[tuple[str, Style]]:
        return [(rng.choice(words), rng.choice(palette)) for _ in range(rng.randint(0, 6))]

    mode = CopyMode([random_line() for _ in range(300)], 17, 6)
    for _ in range(1500):
        roll = rng.random()
        if roll < 0.03:
            mode.extend([random_line() for _ in range(rng.randint(1, 20))])
        elif roll < 0.05:
            mode.drop_oldest(rng.randint(1, 20))
        elif roll < 0.07:
            mode.resize(rng.randint(1, 25), rng.randint(1, 9))
        elif roll < 0.1:
            mode.search(rng.choice(["foo", "中", "baz", "nothing"]), rng.random() < 0.5)
        else:
            mode.act(rng.choice(ACTIONS), rng.randint(1, 3))
        rows = mode.view()
        assert len(rows) == mode.height
        for row in rows:
            assert wcswidth(plain(row)) == mode.width, row
        x, y = mode.cursor
        assert 0 <= x < mode.width and 0 <= y < mode.height
        offset, size = mode.position
        assert 0 <= offset <= size
        assert all(not text.endswith(" ") for text in mode.selection_text().split("\n"))


def test_word_end_stops_where_tmux_vi_e_does() -> None:
    # tmux 3.3a, mode-keys vi, next-word-end from the top left of these lines.
    mode = CopyMode(lines("one two-three  four", "five.. six"), 30, 3)
    mode.act("copy-top")
    stops = []
    for _ in range(7):
        mode.act("copy-word-end")
        stops.append(mode.cursor)
    assert stops == [(2, 0), (6, 0), (7, 0), (12, 0), (18, 0), (3, 1), (5, 1)]
    mode.act("copy-line-start")
    mode.act("copy-word-end", 2)
    assert mode.cursor == (5, 1)
