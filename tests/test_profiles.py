"""Profiles: built-ins, `extends`, shadowing, errors that name file:line:key, `nono profile`."""

import json
import os
import stat
import textwrap
from pathlib import Path

import pytest

from nono.errors import ProfileError
from nono.paths import user_profiles_dir
from nono.sandbox import profile as profiles
from nono.sandbox.build import RunOptions, build_policy

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "profiles"
BUILTINS = sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))
AGENTS = ["claude-code", "codex", "aider", "opencode", "gemini"]


def write_profile(name, text):
    """A user profile in the test's XDG_CONFIG_HOME/nono/profiles/."""
    directory = user_profiles_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def load_error(path):
    with pytest.raises(ProfileError) as info:
        profiles.load_file(path)
    return info.value


def resolve_error(name):
    with pytest.raises(ProfileError) as info:
        profiles.resolve(name)
    return info.value


# ---------------------------------------------------------------- built-in profiles


def test_every_builtin_profile_file_is_found():
    assert len(BUILTINS) >= 6
    assert "default" in BUILTINS
    assert set(AGENTS) <= set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_loads_and_resolves(home, name):
    profile = profiles.resolve(name)
    assert profile.name == name
    assert profile.chain[-1] == name
    assert profile.description
    assert profiles.is_builtin(Path(profile.file))
    assert Path(profile.file).name == f"{name}.yaml"


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_builds_a_policy_without_conflicts(home, name):
    policy = build_policy(RunOptions(profile=name), dict(os.environ), str(home))
    assert policy.profile == name
    assert policy.grants


@pytest.mark.parametrize("agent", AGENTS)
def test_agent_profile_extends_default(home, agent):
    profile = profiles.resolve(agent)
    default = profiles.resolve("default")
    assert profile.extends == ("default",)
    assert profile.chain == ("default", agent)
    assert set(default.groups) <= set(profile.groups)
    assert profile.workdir_access == default.workdir_access


# ---------------------------------------------------------------- extends


def test_extends_adds_up_lists_and_child_settings_win(home):
    write_profile(
        "base.yaml",
        """\
        meta:
          name: base
          description: the base
        security:
          groups: [git]
        filesystem:
          allow: [~/a]
        network:
          block: false
          allow_port: [8080]
        workdir:
          access: read
        env:
          deny: [FOO]
          set: {SHARED: base, ONLY_BASE: "1"}
        """,
    )
    write_profile(
        "child.yaml",
        """\
        meta:
          name: child
        extends: base
        security:
          groups: [node, git]
        filesystem:
          allow: [~/b]
          read: [~/c]
        network:
          block: true
          allow_port: [9090]
        workdir:
          access: write
        env:
          deny: [BAR]
          set: {SHARED: child}
        """,
    )
    p = profiles.resolve("child")
    assert p.name == "child"
    assert p.chain == ("base", "child")
    assert p.groups == ("git", "node")
    assert p.paths == (
        ("allow", "~/a", "base"),
        ("allow", "~/b", "child"),
        ("read", "~/c", "child"),
    )
    assert p.open_ports == (8080, 9090)
    assert p.network_block is True
    assert p.workdir_access == "write"
    assert p.env_deny == ("FOO", "BAR")
    assert dict(p.env_set) == {"SHARED": "child", "ONLY_BASE": "1"}
    assert p.description == "the base"


def test_child_that_says_nothing_inherits_base_settings(home):
    write_profile("base.yaml", "network:\n  block: true\nworkdir:\n  access: read\n")
    write_profile("child.yaml", "extends: base\n")
    p = profiles.resolve("child")
    assert p.network_block is True
    assert p.workdir_access == "read"


def test_child_can_unblock_network_blocked_by_base(home):
    write_profile("base.yaml", "network:\n  block: true\n")
    write_profile("child.yaml", "extends: base\nnetwork:\n  block: false\n")
    assert profiles.resolve("child").network_block is False


def test_env_allow_lists_add_up_and_are_inherited(home):
    write_profile("base.yaml", "env:\n  allow: [FOO]\n")
    write_profile("adds.yaml", "extends: base\nenv:\n  allow: [BAR]\n")
    write_profile("quiet.yaml", "extends: base\n")
    assert profiles.resolve("adds").env_allow == ("FOO", "BAR")
    assert profiles.resolve("quiet").env_allow == ("FOO",)


def test_env_pass_lists_add_up_through_extends_and_survive_the_cache(home):
    write_profile("base.yaml", "env:\n  pass: [GH_TOKEN]\n")
    write_profile("adds.yaml", "extends: base\nenv:\n  pass: [HF_TOKEN, 'MY_*_KEY']\n")
    first = profiles.resolve("adds")
    assert first.env_pass == ("GH_TOKEN", "HF_TOKEN", "MY_*_KEY")
    assert profiles.resolve("adds") == first  # the second load comes from the cache
    assert first.to_dict()["env"]["pass"] == ["GH_TOKEN", "HF_TOKEN", "MY_*_KEY"]


def test_profile_show_lists_the_credentials_a_profile_passes(nono):
    r = nono("profile", "show", "claude-code")
    assert r.returncode == 0, r.stderr
    line = next(line for line in r.stdout.splitlines() if "env pass" in line)
    assert "ANTHROPIC_API_KEY" in line


def test_builtin_agent_profiles_pass_only_model_provider_keys(home):
    """An agent profile hands over its own key; tokens that reach repositories or clouds
    (GITHUB_TOKEN, AWS_*) need a profile of the person's own."""
    for name in AGENTS:
        passed = profiles.resolve(name).env_pass
        assert passed, name
        for pattern in passed:
            assert not pattern.startswith(("GITHUB", "GH_", "AWS", "NPM", "HF_")), (name, pattern)


def test_extends_list_merges_bases_in_order(home):
    write_profile("one.yaml", "filesystem:\n  read: [~/one]\nworkdir:\n  access: read\n")
    write_profile("two.yaml", "filesystem:\n  read: [~/two]\nworkdir:\n  access: write\n")
    write_profile("both.yaml", "extends: [one, two]\n")
    p = profiles.resolve("both")
    assert p.chain == ("one", "two", "both")
    assert [path for _, path, _ in p.paths] == ["~/one", "~/two"]
    assert p.workdir_access == "write"


# ---------------------------------------------------------------- user profiles and built-ins


def test_user_profile_shadows_builtin_of_same_name(home):
    path = write_profile("default.yaml", "meta:\n  name: default\n  description: mine\n")
    p = profiles.resolve("default")
    assert p.file == str(path)
    assert p.description == "mine"
    assert p.groups == ()
    assert p.chain == ("default",)


def test_user_json_profile_shadows_builtin_yaml_profile(home):
    path = write_profile("default.json", '{"meta": {"name": "default", "description": "json"}}')
    assert profiles.resolve("default").file == str(path)
    assert profiles.available()["default"] == path


def test_builtin_extending_default_picks_up_user_default(home):
    write_profile("default.yaml", "security:\n  groups: [git]\n")
    p = profiles.resolve("claude-code")
    assert p.groups == ("git",)
    assert p.chain == ("default", "claude-code")


def test_user_profile_extending_its_own_name_gets_the_builtin(home):
    path = write_profile(
        "claude-code.yaml",
        """\
        extends: claude-code
        filesystem:
          read: [~/extra]
        network:
          block: true
        """,
    )
    p = profiles.resolve("claude-code")
    assert p.file == str(path)
    assert p.chain == ("default", "claude-code")
    written = [w for _, w, _ in p.paths]
    assert "~/.claude" in written  # from the built-in
    assert "~/extra" in written  # from the user's file
    assert p.network_block is True
    assert set(profiles.resolve("default").groups) <= set(p.groups)


# ---------------------------------------------------------------- malformed profiles


def test_yaml_syntax_error_names_file_and_line(home):
    path = write_profile(
        "broken.yaml",
        """\
        meta:
          name: broken
          description: a: b
        """,
    )
    err = load_error(path)
    assert err.file == str(path)
    assert err.line == 3
    assert err.message.startswith(f"{path}:3: invalid YAML")


def test_unknown_key_with_near_miss_suggests_the_right_one(home):
    path = write_profile(
        "typo.yaml",
        """\
        meta:
          name: typo
        filesytem:
          allow: [~/x]
        """,
    )
    err = load_error(path)
    assert err.line == 3
    assert err.key == "filesytem"
    assert err.message == f"{path}:3: filesytem: unknown key"
    assert err.hint == "did you mean filesystem?"
    assert err.one_line() == f"{path}:3: filesytem: unknown key (did you mean filesystem?)"


def test_unknown_nested_key_suggests_with_its_section(home):
    path = write_profile("typo.yaml", "meta:\n  name: typo\nnetwork:\n  blok: true\n")
    err = load_error(path)
    assert err.line == 4
    assert err.key == "network.blok"
    assert err.message == f"{path}:4: network.blok: unknown key"
    assert err.hint == "did you mean network.block?"


def test_unknown_nested_key_in_flow_mapping_names_its_own_line(home):
    path = write_profile("typo.yaml", "meta:\n  name: typo\n\nfilesystem: {allwo: [~/x]}\n")
    err = load_error(path)
    assert err.line == 4
    assert err.key == "filesystem.allwo"
    assert err.one_line() == (
        f"{path}:4: filesystem.allwo: unknown key (did you mean filesystem.allow?)"
    )


def test_unknown_key_without_near_miss_lists_known_keys(home):
    path = write_profile("odd.yaml", "meta:\n  name: odd\n\nzzzzzz: 1\n")
    err = load_error(path)
    assert err.line == 4
    assert err.key == "zzzzzz"
    assert err.message == f"{path}:4: zzzzzz: unknown key"
    assert err.hint.startswith("known keys: meta, extends")


def test_unknown_nested_key_without_near_miss_lists_its_sections_keys(home):
    path = write_profile("odd.yaml", "workdir:\n  zzzzzz: 1\n")
    err = load_error(path)
    assert err.line == 2
    assert err.key == "workdir.zzzzzz"
    assert err.hint == "known keys: workdir.access"


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (
            "meta:\n  name: x\nnetwork:\n  block: 'yes please'\n",
            4,
            "network.block",
            "expected true or false, got a string",
        ),
        (
            "meta:\n  name: x\nnetwork: {block: 'yes please'}\n",
            3,
            "network.block",
            "expected true or false, got a string",
        ),
        (
            "filesystem: {allow: 3}\n",
            1,
            "filesystem.allow",
            "expected a list of non-empty strings, got a number",
        ),
        (
            "meta:\n  name: x\n\nfilesystem:\n  read_file: ~/one\n",
            5,
            "filesystem.read_file",
            "expected a list of non-empty strings, got a string",
        ),
        (
            "meta:\n  name: x\nfilesystem:\n  allow: [~/a, '']\n",
            4,
            "filesystem.allow",
            "expected a list of non-empty strings",
        ),
        (
            "network:\n  allow_port: [70000]\n",
            2,
            "network.allow_port",
            "port numbers (1-65535)",
        ),
        (
            "workdir:\n  access: everything\n",
            2,
            "workdir.access",
            "expected one of none, read, write, readwrite",
        ),
        ("meta: [a, b]\n", 1, "meta", "expected a mapping, got a list"),
        ("meta:\n  name: 42\n", 2, "meta.name", "expected a string, got a number"),
    ],
    ids=[
        "bool-as-text",
        "bool-as-text-flow",
        "list-as-number",
        "list-as-text",
        "list-with-empty-string",
        "port-out-of-range",
        "bad-workdir-access",
        "section-as-list",
        "name-as-number",
    ],
)
def test_wrong_type_names_file_line_and_key(home, text, line, key, message):
    path = write_profile("typed.yaml", text)
    err = load_error(path)
    assert err.file == str(path)
    assert err.line == line
    assert err.key == key
    assert err.message.startswith(f"{path}:{line}: {key}: ")
    assert message in err.message


def test_missing_extends_target_names_the_extending_file(home):
    path = write_profile("child.yaml", "meta:\n  name: child\nextends: nosuch\n")
    err = resolve_error("child")
    assert err.file == str(path)
    assert err.line == 3
    assert err.key == "extends"
    assert "extends missing profile 'nosuch'" in err.message
    assert "available profiles:" in err.hint


def test_extends_cycle_is_refused_and_named(home):
    write_profile("a.yaml", "meta:\n  name: a\nextends: b\n")
    b = write_profile("b.yaml", "meta:\n  name: b\n\nextends: a\n")
    err = resolve_error("a")
    assert err.file == str(b)
    assert err.line == 4
    assert err.key == "extends"
    assert "extends cycle: a -> b -> a" in err.message


def test_duplicate_key_names_the_second_occurrence(home):
    path = write_profile(
        "dup.yaml",
        """\
        meta:
          name: dup
        filesystem:
          read: [~/a]
        network:
          block: true
        filesystem:
          read: [~/b]
        """,
    )
    err = load_error(path)
    assert err.line == 7
    assert err.key == "filesystem"
    assert "duplicate key" in err.message


def test_unknown_group_names_the_line_of_the_group(home):
    path = write_profile(
        "groups.yaml",
        """\
        security:
          groups:
            - git
            - pyhton
        """,
    )
    err = load_error(path)
    assert err.line == 4
    assert err.key == "security.groups"
    assert "unknown group 'pyhton'" in err.message
    assert "python" in err.hint


def test_env_set_of_stripped_variable_is_refused(home):
    path = write_profile(
        "preload.yaml",
        """\
        meta:
          name: preload
        env:
          set: {FOO: bar, LD_PRELOAD: /tmp/evil.so}
        """,
    )
    err = load_error(path)
    assert err.line == 4
    assert err.key == "env.set"
    assert err.message == f"{path}:4: env.set: LD_PRELOAD is always stripped and cannot be set"


def test_env_allow_of_stripped_variable_is_refused(home):
    path = write_profile("allow.yaml", "env:\n  allow: [FOO, PYTHONPATH]\n")
    err = load_error(path)
    assert err.line == 2
    assert err.key == "env.allow"
    assert err.message == (
        f"{path}:2: env.allow: PYTHONPATH is always stripped and cannot be allowed"
    )


def test_env_pass_of_a_control_socket_is_refused_with_file_line_and_key(home):
    path = write_profile("pass.yaml", "meta:\n  name: p\nenv:\n  pass: [OPENAI_API_KEY, STY]\n")
    err = load_error(path)
    assert (err.line, err.key) == (4, "env.pass")
    assert err.message == f"{path}:4: env.pass: STY is always stripped and cannot be passed"


def test_env_pass_must_be_a_list_of_names(home):
    path = write_profile("pass.yaml", "env:\n  pass: 5\n")
    err = load_error(path)
    assert (err.line, err.key) == (2, "env.pass")
    assert "expected a list of non-empty strings" in err.message


def test_env_deny_of_essential_variable_is_refused(home):
    path = write_profile("deny.yaml", "env:\n  deny: [PATH]\n")
    err = load_error(path)
    assert err.line == 2
    assert err.key == "env.deny"
    assert err.message == f"{path}:2: env.deny: PATH is essential and cannot be denied"


def test_env_deny_of_name_covered_by_an_essential_pattern_is_refused(home):
    path = write_profile("nolocale.yaml", "meta:\n  name: nolocale\nenv:\n  deny: [FOO, LC_ALL]\n")
    err = load_error(path)
    assert err.line == 4
    assert err.key == "env.deny"
    assert err.message == f"{path}:4: env.deny: LC_ALL is essential and cannot be denied"


@pytest.mark.parametrize(
    ("text", "line", "key", "message", "hint"),
    [
        (
            "policy:\n  add_deny_access: [~/x]\n",
            2,
            "policy.add_deny_access",
            "not supported by this nono",
            "Landlock can only allow",
        ),
        (
            "security:\n  signal_mode: allow_all\n",
            2,
            "security.signal_mode",
            "signal_mode 'allow_all' would weaken isolation and is not supported",
            "only signal their own sandbox",
        ),
        (
            "secrets:\n  FOO: bar\n",
            1,
            "secrets",
            "not supported by this nono",
            "secrets from keystores are not supported",
        ),
        (
            "policy:\n  exclude_groups: [system]\n",
            2,
            "policy.exclude_groups",
            "the 'system' group is always part of the baseline",
            None,
        ),
    ],
    ids=["deny-rule", "weaker-signals", "keystore-secrets", "drop-baseline"],
)
def test_settings_nono_cannot_enforce_are_refused(home, text, line, key, message, hint):
    path = write_profile("weak.yaml", text)
    err = load_error(path)
    assert err.line == line
    assert err.key == key
    assert err.message == f"{path}:{line}: {key}: {message}"
    if hint is None:
        assert err.hint is None
    else:
        assert hint in err.hint


def test_empty_profile_is_refused(home):
    path = write_profile("empty.yaml", "# nothing here\n")
    err = load_error(path)
    assert "the file is empty" in err.message


def test_profile_that_is_not_a_mapping_is_refused(home):
    path = write_profile("list.yaml", "- a\n- b\n")
    err = load_error(path)
    assert err.line == 1
    assert "a profile must be a mapping, got a list" in err.message


def test_nested_type_error_names_the_dotted_key(home):
    path = write_profile("typed.yaml", "filesystem:\n  allow: 3\nenv:\n  allow: 3\n")
    err = load_error(path)
    assert err.key == "filesystem.allow"
    assert err.line == 2


def test_env_set_name_with_equals_sign_is_refused(home):
    path = write_profile("eq.yaml", "env:\n  set:\n    'PYTHONPATH=/evil': x\n")
    err = load_error(path)
    assert err.line == 3
    assert err.key == "env.set.PYTHONPATH=/evil"
    assert err.message == (
        f"{path}:3: env.set.PYTHONPATH=/evil: not a valid environment variable name"
    )


@pytest.mark.parametrize("name", ["1ABC", "MY-VAR", "A B", ""])
def test_env_set_name_that_is_not_a_variable_name_is_refused(home, name):
    path = write_profile("bad.yaml", f"meta:\n  name: bad\nenv:\n  set:\n    '{name}': x\n")
    err = load_error(path)
    assert err.line == 5
    assert err.key == f"env.set.{name}"
    assert err.message.endswith(": not a valid environment variable name")


# ---------------------------------------------------------------- nono's JSON format


def test_json_profile_with_every_section_loads(home):
    path = write_profile(
        "jprof.json",
        json.dumps(
            {
                "meta": {"name": "jprof", "description": "from JSON"},
                "extends": "default",
                "filesystem": {"allow": ["~/data"], "read_file": ["~/notes.txt"]},
                "network": {"block": True, "allow_port": [8080]},
                "workdir": {"access": "read"},
                "security": {"groups": ["git"]},
            },
            indent=2,
        ),
    )
    p = profiles.resolve("jprof")
    assert p.file == str(path)
    assert p.chain == ("default", "jprof")
    assert p.description == "from JSON"
    assert ("allow", "~/data", "jprof") in p.paths
    assert ("read_file", "~/notes.txt", "jprof") in p.paths
    assert p.network_block is True
    assert p.open_ports == (8080,)
    assert p.workdir_access == "read"
    assert p.groups.count("git") == 1


def test_json_profile_with_tab_indentation_loads(home):
    path = write_profile("tabs.json", '{\n\t"meta": {\n\t\t"name": "tabs"\n\t}\n}\n')
    assert profiles.load_file(path).name == "tabs"


def test_json_syntax_error_names_the_line(home):
    path = write_profile(
        "bad.json",
        """\
        {
          "meta": {
            "name": "bad",
          }
        }
        """,
    )
    err = load_error(path)
    assert err.line == 4
    assert err.message.startswith(f"{path}:4: invalid JSON")


def test_json_duplicate_key_is_refused(home):
    path = write_profile("dup.json", '{\n  "meta": {"name": "a"},\n  "meta": {"name": "b"}\n}\n')
    err = load_error(path)
    assert err.line == 3
    assert err.key == "meta"


@pytest.mark.parametrize("key", ["network_profile", "allow_domain", "proxy_credentials"])
def test_json_unsupported_network_key_fails_closed(home, key):
    path = write_profile("net.json", json.dumps({"network": {key: ["example.com"]}}, indent=2))
    err = load_error(path)
    assert err.line == 3
    assert err.key == f"network.{key}"
    assert err.message == f"{path}:3: network.{key}: not supported by this nono"
    assert "per port" in err.hint


def test_json_profile_with_surrogate_pair_escape_loads(home):
    path = write_profile(
        "emoji.json", '{"meta": {"name": "emoji", "description": "\\ud83d\\ude00"}}'
    )
    assert profiles.load_file(path).description == "\U0001f600"


def test_error_in_json_profile_yaml_cannot_read_still_names_file_and_key(home):
    path = write_profile(
        "emoji.json", '{"meta": {"name": "emoji", "descriptoin": "\\ud83d\\ude00"}}'
    )
    err = load_error(path)
    assert err.file == str(path)
    assert err.line is None  # read by the json module: no line numbers
    assert err.key == "meta.descriptoin"
    assert err.message == f"{path}: meta.descriptoin: unknown key"
    assert err.hint == "did you mean meta.description?"


def test_json_profile_yaml_cannot_read_with_duplicate_key_is_refused(home):
    path = write_profile("dup.json", '{"meta": {"name": "\\ud83d\\ude00"}, "meta": {}}')
    err = load_error(path)
    assert err.file == str(path)
    assert "duplicate key 'meta'" in err.message


def test_profile_list_and_lookup_agree_on_which_file_wins(home):
    write_profile("twice.json", '{"meta": {"description": "json"}}')
    assert profiles.available()["twice"] == profiles.find("twice")
    yml = write_profile("twice.yml", "meta:\n  description: yml\n")
    assert profiles.available()["twice"] == profiles.find("twice") == yml
    yaml = write_profile("twice.yaml", "meta:\n  description: yaml\n")
    assert profiles.available()["twice"] == profiles.find("twice") == yaml


def test_profile_list_and_lookup_agree_that_a_user_yml_shadows_a_builtin_yaml(home):
    path = write_profile("codex.yml", "meta:\n  description: mine\n")
    assert profiles.available()["codex"] == profiles.find("codex") == path


# ---------------------------------------------------------------- the parsed-profile cache


def cache_file():
    return Path(os.environ["XDG_STATE_HOME"]) / "nono" / "cache" / "profiles.json"


def test_profile_edited_after_a_first_load_is_read_again(home, monkeypatch):
    path = write_profile("cached.yaml", "meta:\n  description: first\n")
    assert profiles.load_file(path).description == "first"
    cache = cache_file()
    assert str(path.absolute()) in json.loads(cache.read_text())
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    with monkeypatch.context() as m:  # an unchanged file is served from the cache
        m.setattr(profiles, "read_document", lambda _: pytest.fail("parsed again"))
        assert profiles.load_file(path).description == "first"

    before = path.stat()
    path.write_text("meta:\n  description: again\n")  # same size, same inode
    # Even the very same mtime as the first version: the cache is keyed by content.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (
        before.st_size,
        before.st_ino,
        before.st_mtime_ns,
    )
    assert profiles.load_file(path).description == "again"
    assert profiles.resolve("cached").description == "again"


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda text, key: "{not json", id="garbage"),
        pytest.param(lambda text, key: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text, key: "\udcff", id="not-utf8"),
        pytest.param(lambda text, key: "[]", id="not-a-mapping"),
        pytest.param(
            lambda text, key: json.dumps({key: {"v": 1, "sha256": "0", "profile": None}}),
            id="stale-entry",
        ),
        pytest.param(
            lambda text, key: json.dumps({key: 5}),
            id="entry-not-a-mapping",
        ),
    ],
)
def test_corrupt_profile_cache_is_ignored(home, corrupt):
    path = write_profile("cached.yaml", "meta:\n  description: real\n")
    assert profiles.load_file(path).description == "real"
    cache = cache_file()
    key = str(path.absolute())
    text = corrupt(cache.read_text(), key)
    cache.write_bytes(text.encode("utf-8", "surrogateescape"))
    p = profiles.load_file(path)
    assert (p.name, p.description, p.file) == ("cached", "real", str(path))
    assert key in json.loads(cache.read_text())  # and the cache is written afresh


def test_symlinked_profile_keeps_its_own_name_when_its_target_was_loaded_first(home):
    target = write_profile("other.yaml", "meta:\n  description: shared\n")
    link = user_profiles_dir() / "mine.yaml"
    link.symlink_to(target.name)
    assert profiles.load_file(target).name == "other"
    mine = profiles.load_file(link)
    assert (mine.name, mine.file) == ("mine", str(link))


# ---------------------------------------------------------------- the CLI


def test_run_with_unknown_profile_prints_one_line_listing_profiles(nono):
    result = nono("run", "--profile", "nope", "--", "true")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("nono: unknown profile 'nope' (available profiles: ")
    assert "claude-code" in lines[0]
    assert "default" in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_run_with_malformed_profile_prints_file_line_and_key(nono, workspace):
    (workspace / "bad.yaml").write_text("meta:\n  name: bad\nnetwork:\n  block: 'yes please'\n")
    result = nono("run", "--profile", "./bad.yaml", "--", "true")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines == ["nono: bad.yaml:4: network.block: expected true or false, got a string"]


def test_profile_list_shows_builtins_and_user_profiles_with_origin(nono):
    write_profile("mine.yaml", "meta:\n  description: my own\nextends: default\n")
    result = nono("profile", "list")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    for name in BUILTINS:
        assert rows[name][0] == "built-in"
    assert rows["mine"][:3] == ["user", "my", "own"]


def test_profile_list_marks_a_broken_user_profile(nono):
    write_profile("broken.yaml", "meta:\n  name: broken\nfilesytem: {}\n")
    result = nono("profile", "list")
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("broken ")]
    assert "BROKEN:" in line
    assert "broken.yaml:3: filesytem: unknown key" in line


def test_profile_list_json_reports_origin_and_file(nono):
    mine = write_profile("mine.yaml", "meta:\n  description: my own\n")
    shadow = write_profile("codex.yaml", "extends: codex\n")
    result = nono("profile", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(BUILTINS) | {"mine"} == set(rows)
    assert rows["default"]["origin"] == "built-in"
    assert rows["default"]["file"] == str(BUILTIN_DIR / "default.yaml")
    assert rows["mine"] == {
        "name": "mine",
        "origin": "user",
        "file": str(mine),
        "description": "my own",
        "error": None,
    }
    assert rows["codex"]["origin"] == "user"
    assert rows["codex"]["file"] == str(shadow)


def test_profile_show_json_gives_the_merged_chain(nono):
    result = nono("profile", "show", "claude-code", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "claude-code"
    assert data["chain"] == ["default", "claude-code"]
    assert data["extends"] == ["default"]
    assert "git" in data["groups"]  # from default
    assert "~/.claude" in data["filesystem"]["allow"]  # from claude-code
    assert data["workdir"]["access"] == "readwrite"


def test_profile_show_text_names_the_chain(nono):
    result = nono("profile", "show", "codex")
    assert result.returncode == 0, result.stderr
    assert "extends   default -> codex" in result.stdout


def test_profile_show_unknown_name_is_one_line_error(nono):
    result = nono("profile", "show", "nope")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "unknown profile 'nope'" in result.stderr


def test_profile_validate_accepts_a_good_file(nono, workspace):
    (workspace / "good.yaml").write_text("meta:\n  name: good\nextends: default\n")
    result = nono("profile", "validate", "good.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "good.yaml: valid (default -> good)"


def test_profile_validate_accepts_a_builtin_name(nono):
    result = nono("profile", "validate", "gemini", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] is True
    assert data["name"] == "gemini"


def test_profile_validate_rejects_a_bad_file_with_file_and_line(nono, workspace):
    (workspace / "bad.yaml").write_text("meta:\n  name: bad\n\nfilesytem:\n  allow: [~/x]\n")
    result = nono("profile", "validate", "bad.yaml")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "nono: bad.yaml:4: filesytem: unknown key (did you mean filesystem?)"
    ]


def test_profile_validate_json_reports_invalid_with_line(nono, workspace):
    (workspace / "bad.yaml").write_text("meta:\n  name: bad\nsecurity:\n  groups: [git, nope]\n")
    result = nono("profile", "validate", "bad.yaml", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["file"] == "bad.yaml"
    assert data["line"] == 4
    assert data["key"] == "security.groups"
    assert "unknown group 'nope'" in data["error"]


def test_profile_validate_json_reports_extends_cycle(nono):
    write_profile("a.yaml", "extends: b\n")
    b = write_profile("b.yaml", "extends: a\n")
    result = nono("profile", "validate", "a", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["file"] == str(b)
    assert data["line"] == 1
    assert "a -> b -> a" in data["error"]
