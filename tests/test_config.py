"""config.toml: defaults, XDG location, and errors that name file:line: key."""

from __future__ import annotations

import dataclasses
import os
import textwrap
from pathlib import Path

import pytest

from nono.config import Config, ConfigError, UIConfig, config_path, load_config
from nono.errors import NonoError
from nono.keys import key_bytes


def write_config(text: str) -> Path:
    """config.toml in the test's XDG_CONFIG_HOME/nono/."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load_error(text: str) -> tuple[str, ConfigError]:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    return str(path), info.value


# ---------------------------------------------------------------- loading


def test_missing_file_gives_the_defaults(home):
    config = load_config()
    assert config == Config()
    assert config.ui == UIConfig(detach_sequence="ctrl-] d", prefix="ctrl-]", keymap="default")
    assert config.detach_keys == (b"\x1d", b"d")
    assert key_bytes(config.ui.prefix) == b"\x1d"


def test_config_lives_in_xdg_config_home(home, tmp_path):
    assert config_path() == tmp_path / "config" / "nono" / "config.toml"


def test_values_are_read_from_the_ui_section(home):
    write_config(
        """\
        # mine
        [ui]
        detach_sequence = "ctrl-b  d"
        prefix = "CTRL-B"
        keymap = "tmux"
        """
    )
    config = load_config()
    assert config.ui == UIConfig(detach_sequence="ctrl-b  d", prefix="CTRL-B", keymap="tmux")
    assert config.detach_keys == (b"\x02", b"d")
    assert key_bytes(config.ui.prefix) == b"\x02"


def test_settings_left_out_keep_their_defaults(home):
    write_config('[ui]\nkeymap = "screen"\n')
    assert load_config().ui == UIConfig(keymap="screen")


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "[ui]\n"])
def test_empty_file_or_section_gives_the_defaults(home, text):
    write_config(text)
    assert load_config() == Config()


def test_an_explicit_path_is_read_instead(home, tmp_path):
    path = tmp_path / "other.toml"
    path.write_text('[ui]\nprefix = "ctrl-a"\n')
    assert load_config(path).ui.prefix == "ctrl-a"


def test_an_explicit_path_that_is_missing_gives_the_defaults(home, tmp_path):
    assert load_config(tmp_path / "absent.toml") == Config()


def test_dotted_keys_and_inline_tables_are_toml_too(home):
    write_config('ui.prefix = "ctrl-b"\n')
    assert load_config().ui.prefix == "ctrl-b"
    write_config('ui = { keymap = "tmux" }\n')
    assert load_config().ui.keymap == "tmux"


def test_config_is_frozen(home):
    with pytest.raises(dataclasses.FrozenInstanceError):
        load_config().ui.prefix = "ctrl-b"  # type: ignore[misc]


# ---------------------------------------------------------------- TOML syntax errors


def test_syntax_error_names_file_line_and_key(home):
    path, error = load_error(
        """\
        [ui]
        keymap = "tmux"
        prefix = ctrl-b
        """
    )
    assert str(error) == f"{path}:3: ui.prefix: invalid TOML: Invalid value"
    assert (error.file, error.line, error.key) == (path, 3, "ui.prefix")
    assert isinstance(error, NonoError)


def test_syntax_error_at_end_of_document_points_at_the_last_line(home):
    path, error = load_error('[ui]\nprefix = "ctrl-b\n\n')
    assert str(error) == f"{path}:2: ui.prefix: invalid TOML: Illegal character '\\n'"
    path, error = load_error('\n[ui]\nkeymap = "tmux"\nprefix = "ctrl-b')
    assert str(error) == f"{path}:4: ui.prefix: invalid TOML: Unterminated string"


def test_syntax_error_in_a_table_header_names_the_table(home):
    path, error = load_error("[ui]\n[ui]\n")
    assert str(error) == f"{path}:2: ui: invalid TOML: Cannot declare ('ui',) twice"


def test_unclosed_table_header_has_no_key_to_name(home):
    path, error = load_error("# settings\n[ui\n")
    assert str(error) == (f"{path}:2: invalid TOML: Expected ']' at the end of a table declaration")
    assert error.key is None


def test_duplicate_key_is_a_syntax_error_on_its_second_line(home):
    path, error = load_error('[ui]\nprefix = "ctrl-b"\nprefix = "ctrl-a"\n')
    assert str(error) == f"{path}:3: ui.prefix: invalid TOML: Cannot overwrite a value"


def test_file_that_is_not_utf8_is_refused(home):
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b'[ui]\nkeymap = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == f"{path}: not UTF-8 text"


def test_unreadable_config_is_refused(home):
    config_path().mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith(f"{config_path()}: cannot read: ")


# ---------------------------------------------------------------- unknown names


def test_unknown_section_suggests_the_close_one(home):
    path, error = load_error(
        """\
        # my settings

        [uii]
        prefix = "ctrl-b"
        """
    )
    assert str(error) == f"{path}:3: uii: unknown section (did you mean ui?)"
    assert (error.line, error.key) == (3, "uii")


def test_unknown_names_are_matched_without_case(home):
    path, error = load_error('[UI]\nprefix = "ctrl-b"\n')
    assert str(error) == f"{path}:1: UI: unknown section (did you mean ui?)"
    path, error = load_error('[ui]\nPrefix = "ctrl-b"\n')
    assert str(error) == f"{path}:2: ui.Prefix: unknown key (did you mean ui.prefix?)"


def test_unknown_section_unlike_any_lists_the_known_ones(home):
    path, error = load_error('[ui]\nkeymap = "tmux"\n\n[colours]\nfg = "red"\n')
    assert (
        str(error)
        == f"{path}:4: colours: unknown section (known: ui, rollback, notify, mux, hosts)"
    )


def test_unknown_key_suggests_the_close_one(home):
    path, error = load_error(
        """\
        [ui]
        prefix = "ctrl-b"

          detach_sequense = "ctrl-b d"
        """
    )
    assert str(error) == (
        f"{path}:4: ui.detach_sequense: unknown key (did you mean ui.detach_sequence?)"
    )


def test_unknown_key_unlike_any_lists_the_known_ones(home):
    path, error = load_error('[ui]\ncolour = "red"\n')
    assert str(error) == (
        f"{path}:2: ui.colour: unknown key "
        "(known: ui.detach_sequence, ui.prefix, ui.keymap, ui.clipboard)"
    )


def test_unknown_subtable_is_an_unknown_key_on_its_header(home):
    path, error = load_error('[ui]\nprefix = "ctrl-b"\n[ui.colours]\nfg = "red"\n')
    assert str(error) == f"{path}:3: ui.colours: unknown key (known: {_KNOWN_UI})"


_KNOWN_UI = "ui.detach_sequence, ui.prefix, ui.keymap, ui.clipboard"


def test_setting_outside_its_section_says_where_it_belongs(home):
    path, error = load_error('keymap = "tmux"\n[ui]\nprefix = "ctrl-b"\n')
    assert str(error) == f"{path}:1: keymap: unknown key (put it under [ui])"


def test_stray_top_level_key_lists_the_sections(home):
    path, error = load_error('\n\ncolour = "red"\n')
    assert (
        str(error) == f"{path}:3: colour: unknown key "
        "(settings go in a section: [ui], [rollback], [notify], [mux])"
    )


# ---------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("prefix = 3", "integer"),
        ("prefix = 1.5", "float"),
        ("keymap = true", "boolean"),
        ('keymap = ["tmux"]', "array"),
        ("detach_sequence = { a = 1 }", "table"),
        ("detach_sequence = 1979-05-27", "date/time"),
    ],
)
def test_wrong_type_names_the_type_found(home, line, kind):
    key = line.split()[0]
    path, error = load_error(f"[ui]\n# {kind}\n{line}\n")
    assert str(error) == f"{path}:3: ui.{key}: must be a string, got {kind}"


def test_section_that_is_not_a_table(home):
    path, error = load_error("# x\nui = 3\n")
    assert str(error) == f"{path}:2: ui: must be a table ([ui]), got integer"


def test_wrong_type_written_as_a_dotted_key_is_found_on_its_line(home):
    path, error = load_error('# x\nui.keymap = "tmux"\nui.prefix = 3\n')
    assert str(error) == f"{path}:3: ui.prefix: must be a string, got integer"


def test_wrong_type_in_an_inline_table_points_at_the_table(home):
    path, error = load_error("\nui = { prefix = 3 }\n")
    assert str(error) == f"{path}:2: ui.prefix: must be a string, got integer"


def test_quoted_key_is_found_on_its_line(home):
    path, error = load_error('[ui]\nkeymap = "tmux"\n"prefix" = 3\n')
    assert str(error) == f"{path}:3: ui.prefix: must be a string, got integer"


def test_key_in_a_comment_or_another_value_is_not_its_line(home):
    _, error = load_error('[ui]\n# prefix = "ctrl-b" was the old one\nprefix = 3\n')
    assert error.line == 3


# ---------------------------------------------------------------- key sequences


def test_invalid_key_in_the_detach_sequence(home):
    path, error = load_error('[ui]\n\ndetach_sequence = "ctrl-] dd"\n')
    assert str(error).startswith(
        f"{path}:3: ui.detach_sequence: unknown key 'dd' (valid keys: ctrl-a..ctrl-z, "
    )
    assert error.hint.endswith("or one printable character")


def test_detach_sequence_must_be_at_least_two_keys(home):
    path, error = load_error('[ui]\ndetach_sequence = "ctrl-]"\n')
    assert str(error) == (
        f"{path}:2: ui.detach_sequence: must be at least two keys (a prefix, then a key), "
        "got 'ctrl-]' (e.g. detach_sequence = \"ctrl-] d\")"
    )


def test_empty_detach_sequence(home):
    path, error = load_error('[ui]\ndetach_sequence = "  "\n')
    assert str(error).startswith(f"{path}:2: ui.detach_sequence: empty key sequence (")


def test_detach_sequence_cannot_repeat_its_prefix(home):
    # The prefix pressed twice sends the prefix to the agent, so it cannot also detach.
    path, error = load_error('[ui]\ndetach_sequence = "ctrl-a CTRL-A"\n')
    assert str(error) == (
        f"{path}:2: ui.detach_sequence: the second key must differ from the first "
        '(e.g. detach_sequence = "ctrl-] d")'
    )


def test_longer_detach_sequence_is_fine(home):
    write_config('[ui]\ndetach_sequence = "ctrl-a x q"\n')
    assert load_config().detach_keys == (b"\x01", b"x", b"q")


def test_invalid_prefix_key(home):
    path, error = load_error('[ui]\nprefix = "ctrl-1"\n')
    assert str(error).startswith(f"{path}:2: ui.prefix: unknown key 'ctrl-1' (valid keys: ")


def test_prefix_and_detach_sequence_take_tmux_spellings(home):
    write_config('[ui]\nprefix = "C-b"\ndetach_sequence = "^B M-d"\n')
    config = load_config()
    assert key_bytes(config.ui.prefix) == b"\x02"
    assert config.detach_keys == (b"\x02", b"\x1bd")


def test_prefix_the_dashboard_cannot_tell_apart_names_its_line(home):
    path, error = load_error('[ui]\n\nprefix = "KP1"\n')
    assert str(error).startswith(f"{path}:3: ui.prefix: unknown key 'KP1': the dashboard ")


def test_prefix_must_be_one_key(home):
    path, error = load_error('[ui]\nprefix = "ctrl-b d"\n')
    assert str(error) == (
        f"{path}:2: ui.prefix: must be one key, got 'ctrl-b d' (e.g. prefix = \"ctrl-]\")"
    )


def test_keymap_must_not_be_empty(home):
    path, error = load_error('[ui]\nkeymap = ""\n')
    assert str(error) == f'{path}:2: ui.keymap: must not be empty (e.g. keymap = "default")'


def test_rollback_retention_settings_load_and_bad_values_name_the_line(home):
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[rollback]\nkeep = 5\nmax_total_mb = 100\n")
    config = load_config()
    assert (config.rollback.keep, config.rollback.max_total_mb) == (5, 100)
    path.write_text("[rollback]\nkeep = 5\nmax_total_mb = 'lots'\n")
    with pytest.raises(
        ConfigError, match=r"config.toml:3: rollback.max_total_mb: must be a non-negative int"
    ):
        load_config()


def test_clipboard_defaults_to_write_and_can_be_turned_off(home):
    assert load_config().ui.clipboard == "write"
    write_config('[ui]\nclipboard = "off"\n')
    assert load_config().ui.clipboard == "off"


def test_clipboard_other_than_write_or_off_names_file_and_line(home):
    path, error = load_error('[ui]\nprefix = "ctrl-b"\nclipboard = "read"\n')
    assert str(error).startswith(f'{path}:3: ui.clipboard: must be "write" or "off", got \'read\'')
    assert error.hint and "off" in error.hint


@pytest.mark.parametrize(
    "command",
    [["ps"], ["rollback", "cleanup"], ["rollback", "list"], ["run", "--", "true"],
     ["run", "--rollback", "--", "true"], ["logs", "nothing"], ["stop", "nothing"]],
)  # fmt: skip
def test_every_command_reads_a_broken_config_alike(nono, home, command):
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[ui]\ndetach_sequence = 'ctrl-] d'\nprefix = 5\n")
    r = nono(*command)
    assert r.returncode == 1
    assert r.stderr == f"nono: {path}:3: ui.prefix: must be a string, got integer\n"


def test_setup_still_runs_beside_a_broken_config(nono, home):
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[ui]\nprefix = 5\n")
    r = nono("setup", "--check-only")
    assert "landlock" in r.stdout
