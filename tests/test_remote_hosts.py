"""[hosts.NAME] in config.toml, `user@host` and `NAME:SESSION` addressing, and the ssh argv
that reaches a host (remote/hosts.py)."""

from __future__ import annotations

import shlex

import pytest

from nono.config import ConfigError, load_config
from nono.errors import NonoError
from nono.remote.hosts import Host, remote_command, resolve, split_address, ssh_argv
from tests.test_config import load_error, write_config


def test_a_host_is_read_with_its_options_and_nono_command(home):
    write_config("""
        [hosts.build]
        address = "me@build.example.com"
        ssh_options = ["-p", "2222"]
        nono = "~/.local/bin/nono"

        [hosts.gpu]
        address = "gpu"
    """)
    hosts = load_config().hosts
    assert hosts["build"] == Host("build", "me@build.example.com", ("-p", "2222"),
                                  "~/.local/bin/nono")  # fmt: skip
    assert hosts["gpu"] == Host("gpu", "gpu", (), "nono")


def test_a_host_without_an_address_names_its_table(home):
    path, error = load_error('# x\n[hosts.build]\nssh_options = ["-p", "2"]\n')
    assert str(error).startswith(f"{path}:2: hosts.build: address is missing")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("address = 3", "hosts.build.address: must be a non-empty string, got integer"),
        ('address = ""', "hosts.build.address: must be a non-empty string, got an empty string"),
        ('address = "-oProxyCommand=touch /tmp/x"', "hosts.build.address: is not a host ssh"),
        ('address = "a b"', "hosts.build.address: is not a host ssh"),
        ('ssh_options = "-p 2"', "hosts.build.ssh_options: must be a list of non-empty strings"),
        ("ssh_options = [2]", "hosts.build.ssh_options: must be a list of non-empty strings"),
        ("nono = 1", "hosts.build.nono: must be a non-empty string, got integer"),
        ('adress = "x"', "hosts.build.adress: unknown key (did you mean hosts.build.address?)"),
    ],
)
def test_a_bad_host_setting_names_file_line_and_key(home, line, message):
    text = (
        '[hosts.build]\naddress = "me@b"\n'
        if not line.startswith("address")
        else "[hosts.build]\n# x\n"
    )
    path, error = load_error(text + line + "\n")
    assert str(error).startswith(f"{path}:3: {message}")


def test_a_host_that_is_not_a_table_is_refused(home):
    path, error = load_error('[hosts]\nbuild = "me@b"\n')
    assert str(error).startswith(f"{path}:2: hosts.build: must be a table ([hosts.build])")


def test_a_host_name_that_could_not_be_typed_before_a_colon_is_refused(home):
    path, error = load_error('[hosts."a:b"]\naddress = "me@b"\n')
    assert str(error).startswith(f"{path}:1: hosts.a:b: a host name is letters")
    assert isinstance(error, ConfigError)


def test_resolve_finds_a_configured_name_or_takes_user_at_host():
    hosts = {"build": Host("build", "me@build")}
    assert resolve("build", hosts) is hosts["build"]
    assert resolve("me@elsewhere", hosts) == Host("me@elsewhere", "me@elsewhere")


def test_an_unknown_host_lists_the_configured_ones():
    hosts = {"build": Host("build", "me@b"), "gpu": Host("gpu", "gpu")}
    with pytest.raises(NonoError) as info:
        resolve("bulid", hosts)
    assert info.value.message == "unknown host 'bulid'"
    assert "hosts: build, gpu" in (info.value.hint or "")


def test_resolve_finds_the_hosts_of_config_toml(home):
    write_config('[hosts.build]\naddress = "me@build"\n')
    assert resolve("build", load_config().hosts).address == "me@build"


def test_an_address_that_looks_like_an_ssh_option_is_not_a_host():
    with pytest.raises(NonoError):
        resolve("-oProxyCommand=x@y", {})


def test_name_colon_session_addresses_a_session_on_a_host():
    hosts = {"build": Host("build", "me@b")}
    assert split_address("build:claude-1", hosts) == ("build", "claude-1")
    assert split_address("me@b:claude-1", hosts) == ("me@b", "claude-1")


def test_local_session_names_stay_local_colon_or_not():
    hosts = {"build": Host("build", "me@b")}
    assert split_address("claude-1", hosts) == (None, "claude-1")
    # A colon before something that is not a host is part of a local name.
    assert split_address("fix:tests", hosts) == (None, "fix:tests")
    assert split_address("build:", hosts) == (None, "build:")


def test_ssh_argv_puts_options_before_the_address_and_quotes_the_remote_command():
    host = Host("build", "me@build", ("-p", "2222"), "~/.local/bin/nono")
    argv = ssh_argv(host, ["ps", "--json", "a b; rm -rf ~"], environ={})
    assert argv == ["ssh", "-p", "2222", "-T", "-o", "BatchMode=yes", "me@build", "--",
                    "~/.local/bin/nono ps --json 'a b; rm -rf ~'"]  # fmt: skip
    # What the remote shell gets back is the arguments as given, one each.
    assert shlex.split(argv[-1])[1:] == ["ps", "--json", "a b; rm -rf ~"]


def test_nono_ssh_command_replaces_ssh_split_as_a_shell_would():
    environ = {"NONO_SSH_COMMAND": "ssh -F '/tmp/my config' -i key"}
    argv = ssh_argv(Host("h", "me@h"), ["ps"], environ=environ)
    assert argv[:5] == ["ssh", "-F", "/tmp/my config", "-i", "key"]
    assert argv[-1] == remote_command(Host("h", "me@h"), ["ps"]) == "nono ps"


def test_an_unreadable_nono_ssh_command_is_a_clear_error():
    with pytest.raises(NonoError, match="NONO_SSH_COMMAND cannot be read"):
        ssh_argv(Host("h", "me@h"), ["ps"], environ={"NONO_SSH_COMMAND": "ssh 'open"})


def test_nonos_own_ssh_options_come_after_the_hosts_so_the_host_can_override_them():
    # ssh takes the first value given for an option: the person's config wins.
    host = Host("build", "me@build", ("-o", "ServerAliveInterval=60"))
    argv = ssh_argv(host, ["relay"], environ={}, options=("-o", "ServerAliveInterval=15"))
    assert argv[:7] == ["ssh", "-o", "ServerAliveInterval=60", "-o", "ServerAliveInterval=15",
                        "-T", "-o"]  # fmt: skip
