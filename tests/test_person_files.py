"""A person's files (profiles, keymaps, config.toml) read by one reader: duplicate keys refused
with file:line, one "did you mean", the person's file shadowing a built-in one, and the six
path kinds reaching the flags, the profile keys and the policy alike."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from nono.config import config_path
from nono.pathkinds import PATH_KINDS
from nono.paths import config_dir, user_profiles_dir
from nono.sandbox.build import RunOptions
from tests.mux_helpers import Dashboard


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def mux_refusal(workspace: Path, *args: str) -> str:
    """What `nono mux` printed in a terminal when it stopped before drawing."""
    dash = Dashboard(workspace, *args)
    try:
        dash.exit()
        return dash.raw.decode(errors="replace")
    finally:
        dash.close()


def error_line(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    return line


# ---------------------------------------------------------------- duplicate keys


def test_profile_with_a_nested_key_twice_is_refused_naming_both_lines(nono, workspace):
    write(
        workspace / "dup.yaml",
        """\
        meta:
          name: dup
        network:
          block: true
          allow_port: [8080]
          block: false
        """,
    )
    assert error_line(nono("profile", "validate", "dup.yaml")) == (
        "nono: dup.yaml:6: network.block: duplicate key (first on line 4)"
    )


def test_keymap_with_a_key_twice_is_refused_naming_both_lines(workspace):
    write(config_dir() / "keymaps" / "mine.yaml", "prefix: C-a\nprefix: C-b\n")
    output = mux_refusal(workspace, "--keymap", "mine")
    assert "mine.yaml:2: prefix: duplicate key (first on line 1)" in output


def test_config_with_a_key_twice_is_refused_naming_its_second_line(nono, home):
    write(config_path(), '[ui]\nprefix = "C-b"\n\n# changed my mind\nprefix = "C-a"\n')
    assert error_line(nono("attach", "anything")) == (
        f"nono: {config_path()}:5: ui.prefix: invalid TOML: Cannot overwrite a value"
    )


# ---------------------------------------------------------------- TOML lines, found by tomllib


def test_config_key_inside_a_multiline_string_is_not_its_line(nono, home):
    # A line that only looks like `prefix = ...` (inside a string) is not where prefix is set.
    write(
        config_path(),
        '[ui]\nkeymap = """\nprefix = "C-b"\n"""\nprefix = 3\n',
    )
    assert error_line(nono("attach", "anything")) == (
        f"nono: {config_path()}:5: ui.prefix: must be a string, got integer"
    )


def test_config_value_over_several_lines_names_the_line_of_its_key(nono, home):
    write(config_path(), '[ui]\nkeymap = [\n  "tmux",\n]\n')
    assert error_line(nono("attach", "anything")) == (
        f"nono: {config_path()}:2: ui.keymap: must be a string, got array"
    )


def test_config_syntax_error_in_a_table_after_another_names_the_key(nono, home):
    write(config_path(), '[ui]\nkeymap = "tmux"\n[rollback]\nkeep = five\n')
    assert error_line(nono("attach", "anything")) == (
        f"nono: {config_path()}:4: rollback.keep: invalid TOML: Invalid value"
    )


# ---------------------------------------------------------------- one "did you mean"


def test_a_typo_in_capitals_is_suggested_alike_in_every_file(nono, home, workspace):
    # One hint for all three files, matched without case: before, only config.toml did.
    write(workspace / "caps.yaml", "meta:\n  name: caps\nNETWORK:\n  block: true\n")
    assert error_line(nono("profile", "validate", "caps.yaml")) == (
        "nono: caps.yaml:3: NETWORK: unknown key (did you mean network?)"
    )
    write(config_dir() / "keymaps" / "caps.yaml", "prefix: C-a\nbindings:\n  d: DETACH\n")
    output = mux_refusal(workspace, "--keymap", "caps")
    assert "caps.yaml:3: d: unknown action 'DETACH' (did you mean detach?;" in output
    write(config_path(), '[UI]\nkeymap = "tmux"\n')
    assert error_line(nono("attach", "anything")) == (
        f"nono: {config_path()}:1: UI: unknown section (did you mean ui?)"
    )


# ---------------------------------------------------------------- the person's file wins


def test_a_user_keymap_named_like_a_builtin_one_is_the_one_loaded(home):
    from nono.mux.keymap import load_keymap

    builtin = load_keymap("tmux")  # cached: adding the user's file must still be seen
    assert builtin.prefix == ("c-b",)
    mine = write(config_dir() / "keymaps" / "tmux.yaml", "prefix: C-a\nbindings:\n  d: detach\n")
    keymap = load_keymap("tmux")
    assert keymap.sources == (str(mine),)
    assert keymap.prefix == ("c-a",)
    assert dict(keymap.bindings) == {("d",): "detach", ("c-a",): "send-prefix"}


def test_a_user_keymap_extending_its_own_name_extends_the_builtin_one(home):
    from nono.mux.keymap import _builtin_dir, load_keymap

    mine = write(config_dir() / "keymaps" / "tmux.yaml", "extends: tmux\nprefix: C-a\n")
    keymap = load_keymap("tmux")
    assert keymap.sources == (str(_builtin_dir() / "tmux.yaml"), str(mine))
    assert keymap.prefix == ("c-a",)
    assert keymap.bindings[("%",)] == "split-right"  # the built-in tmux's own binding


def test_a_user_profile_named_like_a_builtin_one_is_the_one_loaded(nono, home):
    # The same rule for profiles (and said once in the README).
    write(user_profiles_dir() / "default.yaml", "meta:\n  description: mine\n")
    result = nono("profile", "show", "default", "--json")
    assert json.loads(result.stdout)["description"] == "mine"


# ---------------------------------------------------------------- the six path kinds


def test_every_path_kind_has_a_flag_a_profile_key_and_a_run_option(nono):
    help_text = nono("run", "--help").stdout
    fields = {f.name for f in dataclasses.fields(RunOptions)}
    for kind in PATH_KINDS:
        assert f"{kind.flag} {kind.metavar}" in help_text
        assert kind.name in fields
    from nono.sandbox.profile_format import FS_KINDS

    assert {kind.name for kind in PATH_KINDS} <= set(FS_KINDS)


@pytest.mark.parametrize("kind", PATH_KINDS, ids=lambda k: k.name)
def test_every_path_kind_grants_its_access_from_a_flag_and_from_a_profile(nono, workspace, kind):
    target = workspace / "data"
    if kind.is_file:
        target.write_text("x\n")
    else:
        target.mkdir()
    write(user_profiles_dir() / "kinds.yaml", f"filesystem:\n  {kind.name}: ['{target}']\n")
    for given, source in (
        ((kind.flag, str(target)), kind.flag),
        (("-p", "kinds"), "profile kinds"),
    ):
        for op in ("read", "write"):
            result = nono("why", *given, "--path", str(target), "--op", op, "--json")
            answer = json.loads(result.stdout)
            assert answer["allowed"] == (op in kind.access), (kind.name, given, op)
            [grant] = [g for g in answer["grants"] if g["path"] == str(target)]
            assert grant["source"] == source
            assert grant["access"] == {"read": "r", "write": "w", "readwrite": "rw"}[kind.access]


@pytest.mark.parametrize("kind", PATH_KINDS, ids=lambda k: k.name)
def test_a_path_of_the_other_form_names_the_flag_for_it(nono, workspace, kind):
    target = workspace / ("dir" if kind.is_file else "README.md")
    target.mkdir(exist_ok=True) if kind.is_file else None
    result = nono("why", kind.flag, str(target), "--path", str(target))
    assert error_line(result).endswith(f"(use {kind.other_form.flag} for it)")
