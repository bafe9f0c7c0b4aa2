"""The compiled-keymap cache: a second start reads JSON instead of YAML, and any change to a
file the keymap came from (or could have come from) is a miss, parsed and checked again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nono.mux.keymap import KeymapError, load_keymap

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config, state and cache dirs of the test's own."""
    for var in ("CONFIG", "STATE", "CACHE"):
        monkeypatch.setenv(f"XDG_{var}_HOME", str(tmp_path / var.lower()))
    (tmp_path / "config" / "nono").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def config(xdg: Path) -> Path:
    return xdg / "config" / "nono"


@pytest.fixture
def cache_file(xdg: Path) -> Path:
    return xdg / "state" / "nono" / "cache" / "keymaps.json"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def load_in_a_fresh_python(*args: str) -> dict:
    """load_keymap(*args) in a new interpreter: its keymap, and whether PyYAML was imported."""
    code = textwrap.dedent("""
        import json, sys
        from nono.mux.keymap import load_keymap
        keymap = load_keymap(*sys.argv[1:])
        print(json.dumps({"yaml": "yaml" in sys.modules, "rows": keymap.describe(),
                          "prefix": keymap.prefix, "sources": keymap.sources}))
    """)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_second_load_comes_from_the_cache_without_importing_yaml(
    config: Path, cache_file: Path
) -> None:
    write(config / "keymap.yaml", "bindings:\n  x: zoom\n")
    first = load_in_a_fresh_python()
    assert first["yaml"] is True
    assert cache_file.is_file()
    second = load_in_a_fresh_python()
    assert second["yaml"] is False
    assert second == {**first, "yaml": False}
    assert ["bindings", "x", "zoom", "Zoom the focused pane to the whole screen, or back"] in (
        second["rows"]
    )


def test_each_builtin_keymap_is_the_same_from_the_cache() -> None:
    for name in ("default", "tmux", "screen"):
        parsed = load_keymap(name, prefix="C-x")
        assert load_keymap(name, prefix="C-x") == parsed


def test_cache_is_private_and_outside_the_xdg_cache_dir(xdg: Path, cache_file: Path) -> None:
    # $XDG_CACHE_HOME may be granted to a sandbox; nono's state directory never is.
    load_keymap()
    assert cache_file.parent.stat().st_mode & 0o777 == 0o700
    assert cache_file.stat().st_mode & 0o777 == 0o600
    assert not (xdg / "cache").exists()


def test_editing_the_user_keymap_is_seen(config: Path) -> None:
    user = write(config / "keymap.yaml", "bindings:\n  x: zoom\n")
    assert load_keymap().bindings[("x",)] == "zoom"
    assert load_keymap().bindings[("x",)] == "zoom"
    write(user, "bindings:\n  y: zoom\n  x: none\n")
    keymap = load_keymap()
    assert keymap.bindings[("y",)] == "zoom"
    assert ("x",) not in keymap.bindings  # the default binds it: the edit unbound it


def test_a_file_replaced_with_the_same_size_and_mtime_is_seen(config: Path) -> None:
    # What an editor's save does: a new file renamed over the old one.
    user = write(config / "keymap.yaml", "bindings:\n  x: zoom\n")
    assert load_keymap().bindings[("x",)] == "zoom"
    before = user.stat()
    new = write(config / "keymap.new", "bindings:\n  y: zoom\n")
    os.utime(new, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(new, user)
    assert load_keymap().bindings[("y",)] == "zoom"


def test_a_broken_edit_raises_what_it_raises_without_a_cache(
    config: Path, xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = write(config / "keymap.yaml", "bindings:\n  x: zoom\n")
    load_keymap()
    write(user, "bindings:\n  x: zoom\n  X: frobnicate\n")
    with pytest.raises(KeymapError) as cached:
        load_keymap()
    monkeypatch.setenv("XDG_STATE_HOME", str(xdg / "state-without-cache"))
    with pytest.raises(KeymapError) as fresh:
        load_keymap()
    assert (cached.value.file, cached.value.line, cached.value.key) == (str(user), 3, "X")
    assert str(cached.value) == str(fresh.value)
    assert cached.value.hint == fresh.value.hint


def test_errors_are_never_cached(config: Path, cache_file: Path) -> None:
    write(config / "keymap.yaml", "prefix: ctrl-b\nroot:\n  d: detach\n")
    for _ in range(2):
        with pytest.raises(KeymapError, match="a key the agent needs"):
            load_keymap()
    assert not cache_file.exists()


def test_a_new_file_that_a_name_would_now_find_is_seen(config: Path) -> None:
    write(config / "keymaps" / "mine.yml", "extends: default\nbindings:\n  x: zoom\n")
    assert load_keymap("mine").bindings[("x",)] == "zoom"
    write(config / "keymaps" / "mine.yaml", "extends: default\nbindings:\n  x: redraw\n")
    assert load_keymap("mine").bindings[("x",)] == "redraw"


def test_a_user_keymap_yaml_created_later_is_seen(config: Path) -> None:
    assert load_keymap().bindings[("x",)] == "stop-session"
    write(config / "keymap.yaml", "bindings:\n  x: zoom\n")
    assert load_keymap().bindings[("x",)] == "zoom"


def test_a_relative_path_is_a_file_of_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for action, where in (("zoom", "a"), ("redraw", "b")):
        write(tmp_path / where / "keys.yaml", f"extends: default\nbindings:\n  x: {action}\n")
    for _ in range(2):
        for action, where in (("zoom", "a"), ("redraw", "b")):
            monkeypatch.chdir(tmp_path / where)
            assert load_keymap("./keys.yaml").bindings[("x",)] == action


def test_another_config_dir_is_another_entry(
    xdg: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(config / "keymap.yaml", "bindings:\n  x: zoom\n")
    assert load_keymap().bindings[("x",)] == "zoom"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg / "other-config"))
    assert load_keymap().bindings[("x",)] == "stop-session"


@pytest.mark.parametrize("garbage", [b"\x00\xff not json", b"[1, 2]", b'{"k": 1}', b""])
def test_a_garbage_cache_file_is_ignored_and_replaced(cache_file: Path, garbage: bytes) -> None:
    expected = load_keymap()
    cache_file.write_bytes(garbage)
    assert load_keymap() == expected
    cache = json.loads(cache_file.read_text())  # rewritten, with this load's entry in it
    assert len([entry for entry in cache.values() if isinstance(entry, dict)]) == 1


def test_a_damaged_entry_is_ignored(config: Path, cache_file: Path) -> None:
    write(config / "keymap.yaml", "bindings:\n  x: zoom\n")
    expected = load_keymap()
    for damage in (
        lambda keymap: keymap["bindings"].append([["y"], "rm -rf"]),
        lambda keymap: keymap.update(root="M-x"),
        lambda keymap: keymap.update(prefix=[]),
        lambda keymap: keymap.pop("copy-mode"),
    ):
        cache = json.loads(cache_file.read_text())
        [entry] = cache.values()
        damage(entry["keymap"])
        cache_file.write_text(json.dumps(cache))
        assert load_keymap() == expected


def test_an_unwritable_cache_costs_only_time(xdg: Path) -> None:
    (xdg / "state" / "nono").mkdir(parents=True)
    (xdg / "state" / "nono" / "cache").write_text("a file where the directory would be")
    expected = load_keymap()
    assert load_keymap() == expected
