"""Keymaps of nono mux: key tokens, the built-in keymaps, overrides and every file error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from prompt_toolkit.keys import ALL_KEYS

from nono.errors import NonoError
from nono.mux.actions import COPY, PANES, names
from nono.mux.keymap import KeymapError, builtin_keymaps, load_keymap
from nono.mux.keynames import key_label, token_presses

ACTIONS = names(PANES)  # name -> help of what bindings: and root: may name
COPY_ACTIONS = names(COPY)


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """nono's config dir, empty and private to the test; so are its state and caches."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "config" / "nono"
    path.mkdir(parents=True)
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def error_of(path: Path, text: str, name: str = "default") -> str:
    """The one-line message of loading `text` as the override file at `path`."""
    write(path, text)
    with pytest.raises(KeymapError) as caught:
        load_keymap(name, override=path)
    return str(caught.value)


# ---------------------------------------------------------------- key tokens


@pytest.mark.parametrize(
    ("token", "keys"),
    [
        ("M-up", ("escape", "up")),
        ("alt-x", ("escape", "x")),
        ("ctrl-b", ("c-b",)),
        ("C-b", ("c-b",)),
        ("^b", ("c-b",)),
        ("CTRL-B", ("c-b",)),
        ("%", ("%",)),
        ("enter", ("c-m",)),
        ("space", (" ",)),
        ("C-Space", ("c-@",)),
        ("S-up", ("s-up",)),
        ("C-left", ("c-left",)),
        ("C-S-Left", ("c-s-left",)),
        ("pageup", ("pageup",)),
        ("ppage", ("pageup",)),
        ("PPage", ("pageup",)),
        ("NPage", ("pagedown",)),
        ("esc", ("escape",)),
        ("Escape", ("escape",)),
        ("C-[", ("escape",)),
        ("backspace", ("c-h",)),
        ("BSpace", ("c-h",)),
        ("tab", ("c-i",)),
        ("BTab", ("s-tab",)),
        ("f5", ("f5",)),
        ("C-F5", ("c-f5",)),
        ("ctrl-]", ("c-]",)),
        ("M-C-b", ("escape", "c-b")),
    ],
)
def test_key_tokens_become_prompt_toolkit_keys(token: str, keys: tuple[str, ...]) -> None:
    assert token_presses(token) == keys


def test_names_ignore_case_but_characters_do_not() -> None:
    assert token_presses("UP") == token_presses("up") == ("up",)
    assert token_presses("D") == ("D",)
    assert token_presses("d") == ("d",)
    assert token_presses("M-D") == ("escape", "D")


@pytest.mark.parametrize("token", ["Ctl-b", "S-a", "C-Enter", "S-F1", "C-?", "foo", "a b", ""])
def test_unknown_key_token_is_refused_with_the_valid_forms(token: str) -> None:
    with pytest.raises(NonoError) as caught:
        token_presses(token)
    assert "unknown key" in caught.value.message
    assert "ctrl-b, C-b, M-Up" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("keys", "label"),
    [
        (("c-b",), "C-b"),
        (("escape", "up"), "M-Up"),
        (("%",), "%"),
        (("c-m",), "Enter"),
        ((" ",), "Space"),
        (("c-s-left",), "C-S-Left"),
        (("pageup",), "PageUp"),
        (("f12",), "F12"),
    ],
)
def test_key_label_reads_like_tmux_and_parses_back(keys: tuple[str, ...], label: str) -> None:
    assert key_label(keys) == label
    assert token_presses(label) == keys


# ---------------------------------------------------------------- the built-in keymaps


def test_the_builtin_keymaps_are_default_tmux_and_screen() -> None:
    assert builtin_keymaps() == ["default", "screen", "tmux"]


@pytest.mark.parametrize("name", ["default", "tmux", "screen"])
def test_each_builtin_keymap_loads_with_only_prompt_toolkit_keys(name: str) -> None:
    keymap = load_keymap(name)
    assert keymap.name == name
    assert keymap.bindings[keymap.prefix] == "send-prefix"
    known = set(ALL_KEYS)
    for table in (keymap.bindings, keymap.root, keymap.copy_mode):
        for keys in table:
            assert all(key in known or len(key) == 1 for key in keys), keys


def test_default_keymap_binds_every_action() -> None:
    keymap = load_keymap("default")
    assert set(keymap.bindings.values()) | set(keymap.root.values()) == set(ACTIONS) - {"none"}
    assert set(keymap.copy_mode.values()) == set(COPY_ACTIONS) - {"none"}


def test_default_prefix_is_the_detach_sequence_prefix_ctrl_close_bracket() -> None:
    keymap = load_keymap()
    assert keymap.prefix == ("c-]",)
    assert keymap.prefix_label == "C-]"
    assert keymap.bindings[("d",)] == "detach"
    assert keymap.root == {}


def test_tmux_prefix_is_ctrl_b_and_percent_splits_right() -> None:
    keymap = load_keymap("tmux")
    assert keymap.prefix == ("c-b",)
    assert keymap.prefix_label == "C-b"
    assert keymap.bindings[("%",)] == "split-right"
    assert keymap.bindings[('"',)] == "split-down"
    assert keymap.bindings[("c-b",)] == "send-prefix"


def test_tmux_alt_digits_select_layouts_in_tmux_order() -> None:
    bindings = load_keymap("tmux").bindings
    layouts = [bindings[("escape", str(n))] for n in range(1, 6)]
    assert layouts == [
        "layout-even-horizontal",
        "layout-even-vertical",
        "layout-main-horizontal",
        "layout-main-vertical",
        "layout-tiled",
    ]


def test_tmux_copy_mode_uses_the_vi_table() -> None:
    copy = load_keymap("tmux").copy_mode
    assert copy[("q",)] == "copy-cancel"
    assert copy[("escape",)] == "copy-clear-selection"
    assert copy[("V",)] == "copy-select-line"
    assert copy[("c-m",)] == "copy-copy"


def test_screen_prefix_is_ctrl_a_and_a_sends_it() -> None:
    keymap = load_keymap("screen")
    assert keymap.prefix == ("c-a",)
    assert keymap.bindings[("a",)] == "send-prefix"
    assert keymap.bindings[("S",)] == "split-down"
    assert keymap.bindings[("|",)] == "split-right"
    assert keymap.bindings[("c-i",)] == "focus-next"


def test_describe_groups_the_keys_of_an_action_in_vocabulary_order() -> None:
    rows = load_keymap("default").describe()
    assert rows[0] == ("bindings", "d", "detach", ACTIONS["detach"])
    tables = [table for table, *_ in rows]
    assert tables == sorted(tables, key=["bindings", "root", "copy-mode"].index)
    splits = [label for _, label, action, _ in rows if action == "split-right"]
    assert splits == ["%", "|"]


def test_keymap_tables_are_read_only() -> None:
    keymap = load_keymap()
    with pytest.raises(TypeError):
        keymap.bindings[("q",)] = "zoom"  # type: ignore[index]


# ---------------------------------------------------------------- overrides


def test_override_file_replaces_a_single_binding(config: Path) -> None:
    write(config / "keymap.yaml", "bindings:\n  z: help\n")
    keymap = load_keymap("tmux")
    assert keymap.bindings[("z",)] == "help"
    assert keymap.bindings[("%",)] == "split-right"
    assert keymap.sources[-1] == str(config / "keymap.yaml")


def test_override_false_leaves_the_users_keymap_yaml_out(config: Path) -> None:
    write(config / "keymap.yaml", "bindings:\n  z: nonsense\n")
    keymap = load_keymap("default", override=False)
    assert keymap.bindings[("z",)] == "zoom"
    assert len(keymap.sources) == 1


def test_yaml_scalars_stay_the_keys_written(config: Path) -> None:
    # Plain YAML would read 0 as a number and ~ as null.
    write(config / "keymap.yaml", "copy-mode:\n  0: copy-top\n  ~: copy-bottom\n  y: none\n")
    copy = load_keymap().copy_mode
    assert copy[("0",)] == "copy-top"
    assert copy[("~",)] == "copy-bottom"
    assert ("y",) not in copy


def test_override_none_unbinds_a_key(config: Path) -> None:
    write(config / "keymap.yaml", "bindings:\n  '%': none\ncopy-mode:\n  q: none\n")
    keymap = load_keymap("tmux")
    assert ("%",) not in keymap.bindings
    assert ("q",) not in keymap.copy_mode


def test_override_may_bind_root_keys_with_a_modifier(config: Path) -> None:
    write(config / "keymap.yaml", "root:\n  M-Left: focus-left\n  C-Right: focus-right\n")
    root = load_keymap().root
    assert root == {("escape", "left"): "focus-left", ("c-right",): "focus-right"}


def test_override_extends_switches_the_base_keymap(config: Path) -> None:
    write(config / "keymap.yaml", "extends: screen\nbindings:\n  z: zoom\n")
    keymap = load_keymap("tmux")
    assert keymap.name == "screen"
    assert keymap.prefix == ("c-a",)
    assert keymap.bindings[("z",)] == "zoom"


def test_override_prefix_moves_the_send_prefix_binding_with_it(tmp_path: Path) -> None:
    override = write(tmp_path / "mine.yaml", "prefix: C-a\n")
    keymap = load_keymap("tmux", override=override)
    assert keymap.prefix == ("c-a",)
    assert keymap.bindings[("c-a",)] == "send-prefix"
    assert ("c-b",) not in keymap.bindings


def test_config_prefix_wins_over_the_keymap_and_the_override(config: Path) -> None:
    write(config / "keymap.yaml", "prefix: C-a\n")
    keymap = load_keymap("tmux", prefix="ctrl-x")
    assert keymap.prefix == ("c-x",)
    assert keymap.prefix_label == "C-x"
    assert keymap.bindings[("c-x",)] == "send-prefix"
    assert ("c-a",) not in keymap.bindings
    assert ("c-b",) not in keymap.bindings


def test_config_prefix_takes_over_a_builtin_binding_of_that_key() -> None:
    keymap = load_keymap("default", prefix="o")
    assert keymap.bindings[("o",)] == "send-prefix"


def test_bad_config_prefix_names_config_toml(config: Path) -> None:
    with pytest.raises(KeymapError) as caught:
        load_keymap(prefix="ctl-x")
    assert str(caught.value).startswith(f"{config / 'config.toml'}: prefix: unknown key")


def test_user_keymap_by_name_comes_from_the_config_dir(config: Path) -> None:
    write(config / "keymaps" / "mine.yaml", "extends: tmux\nbindings:\n  q: zoom\n")
    keymap = load_keymap("mine")
    assert keymap.prefix == ("c-b",)
    assert keymap.bindings[("q",)] == "zoom"
    assert keymap.sources[-1] == str(config / "keymaps" / "mine.yaml")


def test_keymap_by_path_extends_relative_to_its_own_directory(tmp_path: Path) -> None:
    write(tmp_path / "km" / "base.yaml", "prefix: C-g\nbindings:\n  d: detach\n")
    mine = write(tmp_path / "km" / "mine.yaml", "extends: base.yaml\nbindings:\n  z: zoom\n")
    keymap = load_keymap(str(mine))
    assert keymap.prefix == ("c-g",)
    assert dict(keymap.bindings) == {("d",): "detach", ("z",): "zoom", ("c-g",): "send-prefix"}


# ---------------------------------------------------------------- errors


def test_unknown_keymap_name_lists_the_builtins() -> None:
    with pytest.raises(KeymapError) as caught:
        load_keymap("tmuxx")
    message = str(caught.value)
    assert message.startswith("tmuxx: no such keymap")
    assert "did you mean tmux?" in message
    assert "default, screen, tmux" in message


def test_unknown_extends_names_the_file_line_and_key(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "# mine\nextends: scren\n")
    assert f"{path}:2: extends: no such keymap 'scren'" in message
    assert "did you mean screen?" in message


def test_keymap_extending_itself_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(KeymapError) as caught:
        load_keymap(str(tmp_path / "a.yaml"))
    assert f"{tmp_path / 'b.yaml'}:1: extends: 'a.yaml' extends this file again" in str(
        caught.value
    )


def test_user_keymap_without_prefix_or_extends_is_refused(config: Path) -> None:
    path = write(config / "keymaps" / "bare.yaml", "bindings:\n  d: detach\n")
    with pytest.raises(KeymapError) as caught:
        load_keymap("bare")
    assert str(caught.value).startswith(f"{path}: no prefix")


def test_malformed_yaml_names_the_line(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  d: detach\n  z: [zoom\n")
    assert message.startswith(f"{path}:4: not valid YAML")


def test_keymap_that_is_not_a_mapping_is_refused(config: Path) -> None:
    path = config / "keymap.yaml"
    assert error_of(path, "- d\n").startswith(f"{path}: a keymap file is a mapping")


def test_unknown_top_level_key_suggests_the_right_one(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "prefix: C-a\nbinding:\n  d: detach\n")
    assert f"{path}:2: binding: unknown setting" in message
    assert "did you mean bindings?" in message


def test_table_that_is_not_a_mapping_is_refused(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "root: {}\ncopy-mode:\n  - q\n")
    assert f"{path}:2: copy-mode: must be a mapping of key: action" in message


def test_unknown_key_token_names_the_file_line_and_key(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  d: detach\n  Ctl-z: zoom\n")
    assert f"{path}:3: Ctl-z: unknown key" in message
    assert "ctrl-b, C-b, M-Up" in message


def test_unknown_action_suggests_the_right_one(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  d: detatch\n")
    assert f"{path}:2: d: unknown action 'detatch'" in message
    assert "did you mean detach?" in message


def test_action_that_is_not_a_name_is_refused(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  d:\n")
    assert f"{path}:2: d: must be an action name" in message
    assert "none" in message


def test_copy_mode_action_outside_copy_mode_is_refused(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  y: copy-copy\n")
    assert f"{path}:2: y: copy-copy cannot be used in bindings" in message
    assert "copy-mode:" in message


def test_pane_action_in_copy_mode_is_refused(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "copy-mode:\n  q: zoom\n")
    assert f"{path}:2: q: zoom cannot be used in copy-mode" in message


def test_duplicate_key_spelled_differently_names_both_lines(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  C-x: zoom\n  d: detach\n  ctrl-x: help\n")
    assert f"{path}:4: ctrl-x: bound twice in bindings" in message
    assert "the same key as 'C-x' on line 2" in message


def test_enter_and_ctrl_m_are_the_same_key(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "copy-mode:\n  Enter: copy-copy\n  C-m: copy-cancel\n")
    assert f"{path}:3: C-m: bound twice in copy-mode" in message


def test_duplicate_key_spelled_the_same_is_caught_too(config: Path) -> None:
    # PyYAML keeps the last of two equal keys without a word.
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  z: zoom\n  z: help\n")
    assert f"{path}:3: z: duplicate key (first on line 2)" in message


def test_prefix_key_bound_to_another_action_is_refused(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "bindings:\n  C-]: zoom\n")
    assert f"{path}:2: C-]: the prefix C-] pressed twice must send it" in message


def test_prefix_key_cannot_be_unbound(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "prefix: C-a\nbindings:\n  ctrl-a: none\n")
    assert f"{path}:3: ctrl-a: the prefix C-a pressed twice must send it" in message


def test_config_prefix_conflicting_with_a_user_binding_names_the_binding(config: Path) -> None:
    path = write(config / "keymap.yaml", "bindings:\n  C-x: zoom\n")
    with pytest.raises(KeymapError) as caught:
        load_keymap(prefix="ctrl-x")
    message = str(caught.value)
    assert f"{path}:2: C-x: the prefix C-x pressed twice" in message
    assert "[ui] prefix" in message


def test_prefix_must_be_a_single_key(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "# two keys\nprefix: ctrl-a d\n")
    assert f"{path}:2: prefix: must be one key, got 'ctrl-a d'" in message


def test_unknown_prefix_key_names_the_line(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "prefix: ctl-a\n")
    assert f"{path}:1: prefix: unknown key 'ctl-a'" in message


@pytest.mark.parametrize("token", ["x", "'%'", "Space", "Enter", "Tab", "BSpace", "Escape"])
def test_root_binding_of_a_key_the_agent_types_is_refused(config: Path, token: str) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, f"root:\n  {token}: zoom\n")
    assert f"{path}:2: {token.strip(chr(39))}: a key the agent needs" in message
    assert "bindings:" in message


def test_root_binding_of_the_prefix_is_refused(config: Path) -> None:
    path = config / "keymap.yaml"
    message = error_of(path, "root:\n  C-]: zoom\n")
    assert f"{path}:2: C-]: the prefix C-] cannot be bound in root" in message


# ---------------------------------------------------------------- repeating bindings (bind -r)


def test_shipped_keymaps_repeat_the_resize_keys_and_tmux_its_arrows_too() -> None:
    resize = {keys for keys, action in load_keymap("default").bindings.items()
              if action.startswith("resize-")}  # fmt: skip
    assert len(resize) == 8
    assert load_keymap("default").repeat == resize
    assert load_keymap("screen").repeat == resize
    # tmux 3.3a's list-keys: bind -r on C-arrows, M-arrows and the arrows (select-pane).
    arrows = {("up",), ("down",), ("left",), ("right",)}
    assert load_keymap("tmux").repeat == resize | arrows
    rows = load_keymap("default").describe()
    assert ("bindings", "C-Up", "resize-up", ACTIONS["resize-up"] + " (repeats)") in rows


def test_a_binding_replaced_without_repeat_stops_repeating(config: Path) -> None:
    write(
        config / "keymap.yaml",
        """
        bindings:
          C-Up: resize-up
          C-Down: none
          z: {action: zoom, repeat: true}
          x: {action: stop-session, repeat: false}
    """,
    )
    keymap = load_keymap()
    assert ("c-up",) not in keymap.repeat and keymap.bindings[("c-up",)] == "resize-up"
    assert ("c-down",) not in keymap.repeat and ("c-down",) not in keymap.bindings
    assert ("z",) in keymap.repeat and ("x",) not in keymap.repeat
    assert ("c-left",) in keymap.repeat


def test_repeat_outside_the_prefix_table_is_refused_naming_the_line(config: Path) -> None:
    message = error_of(
        config / "keymap.yaml",
        """
        copy-mode:
          q: copy-cancel
          k: {action: copy-up, repeat: true}
    """,
    )
    assert "keymap.yaml:3: k: only keys pressed after the prefix repeat" in message
    assert "bindings:" in message


def test_a_repeat_mapping_is_checked_key_by_key(config: Path) -> None:
    message = error_of(config / "keymap.yaml", "bindings:\n  z: {action: zoom, repaet: true}\n")
    assert "keymap.yaml:2: z: unknown setting 'repaet'" in message and "repeat" in message
    message = error_of(config / "keymap.yaml", "bindings:\n  z: {action: zoom, repeat: often}\n")
    assert "repeat must be true or false, got 'often'" in message
    message = error_of(config / "keymap.yaml", "bindings:\n  z: {repeat: true}\n")
    assert "keymap.yaml:2: z: names no action" in message
    message = error_of(config / "keymap.yaml", "bindings:\n  z: {action: zooom}\n")
    assert "unknown action 'zooom'" in message and "zoom" in message
