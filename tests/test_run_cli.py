"""`nono run` as a command: exit codes, fail-closed refusals, dry-run, why and setup."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize("code", [0, 1, 42])
def test_exit_codes_pass_through(nono, code):
    r = nono("run", "--", "sh", "-c", f"exit {code}")
    assert r.returncode == code


def test_command_not_found_exits_127_with_one_line(nono):
    r = nono("run", "--", "no-such-command-xyz")
    assert r.returncode == 127
    assert r.stderr.strip() == "nono: command not found: no-such-command-xyz"


def test_death_by_signal_is_reported_as_128_plus_signal(nono):
    r = nono("run", "--", "sh", "-c", "kill -KILL $$")
    assert r.returncode == 128 + 9


def test_missing_command_is_a_one_line_error(nono):
    r = nono("run", "--allow-cwd")
    assert r.returncode == 1
    assert "no command given" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_flag_is_a_one_line_error(nono):
    r = nono("run", "--allow-everything", "--", "true")
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1


def test_program_outside_the_policy_is_refused_before_running(nono, home):
    tool = home / "bin" / "tool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho ran\n")
    tool.chmod(0o755)
    r = nono("run", "--", str(tool))
    assert r.returncode == 1
    assert "cannot be run inside the sandbox" in r.stderr
    assert f"--read-file {tool}" in r.stderr or f"--read {tool.parent}" in r.stderr
    r = nono("run", "--read", str(tool.parent), "--", str(tool))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ran\n"


# A wrapper that makes the Landlock syscalls fail the way an old kernel does, then runs nono.
NO_LANDLOCK = textwrap.dedent(
    """
    import errno, os, sys
    import pyseccomp as sc
    f = sc.SyscallFilter(sc.ALLOW)
    for nr in (444, 445, 446):  # landlock_create_ruleset, _add_rule, _restrict_self
        f.add_rule(sc.ERRNO(errno.{err}), nr)
    f.load()
    os.execv(sys.executable, [sys.executable, "-m", "nono", *sys.argv[1:]])
    """
)


@pytest.mark.parametrize("err", ["ENOSYS", "EOPNOTSUPP", "EPERM"])
def test_refuses_to_run_when_landlock_is_unavailable(workspace, err):
    marker = workspace / "ran"
    r = subprocess.run(
        [sys.executable, "-c", NO_LANDLOCK.format(err=err), "run", "--allow-cwd", "--",
         "touch", str(marker)],
        cwd=workspace, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert "cannot sandbox" in r.stderr
    assert "refuses to run unconfined" in r.stderr
    assert not marker.exists()


def test_setup_check_only_reports_the_kernel(nono):
    r = nono("setup", "--check-only", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["landlock_abi"] >= 1
    assert info["seccomp"] is True
    assert info["refuses"] == [] or all(isinstance(x, str) for x in info["refuses"])


def test_setup_check_only_reports_missing_landlock(workspace):
    r = subprocess.run(
        [sys.executable, "-c", NO_LANDLOCK.format(err="ENOSYS"), "setup", "--check-only"],
        cwd=workspace, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1
    assert "landlock    unavailable" in r.stdout


def test_dry_run_prints_capabilities_and_runs_nothing(nono, workspace):
    r = nono("run", "--dry-run", "--allow-cwd", "--read", "/opt", "--block-net", "--",
             "touch", "marker")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert not (workspace / "marker").exists()
    assert "dry run" in r.stdout
    assert f"rw  {workspace}" in r.stdout and "--allow-cwd" in r.stdout
    assert "network   blocked" in r.stdout
    assert "touch marker" in r.stdout


def test_dry_run_json_names_every_grant_and_its_source(nono, workspace):
    r = nono("run", "--dry-run", "--json", "--profile", "claude-code", "--allow-cwd", "--", "x")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    sources = {c["path"]: c["source"] for c in info["capabilities"]}
    assert sources[str(workspace)] == "--allow-cwd"
    assert sources["/usr"] == "group system"
    assert info["profile"] == "claude-code"
    # Claude Code's profile lists the hosts it needs: nothing else is reachable (issue 16).
    assert info["network"]["mode"] == "hosts"
    assert {"rule": "api.anthropic.com", "source": "profile claude-code"} in (
        info["network"]["allow_hosts"]
    )
    assert "ptrace" in info["isolation"]["denied_syscalls"]


def test_dry_run_verbose_lists_environment_changes(nono):
    env = {**__import__("os").environ, "LD_PRELOAD": "/x.so"}
    r = nono("run", "--dry-run", "-v", "--", "true", env=env)
    assert r.returncode == 0, r.stderr
    assert "removed: " in r.stdout and "LD_PRELOAD" in r.stdout
    assert "set NONO_SANDBOXED=1" in r.stdout


def test_why_path_explains_allowed_and_denied(nono, workspace, home):
    r = nono("why", "--path", "README.md", "--op", "write", "--allow-cwd", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["allowed"] is True
    assert info["grants"][0]["source"] == "--allow-cwd"

    r = nono("why", "--path", "README.md", "--op", "write", "--read", ".")
    assert r.returncode == 1
    assert "DENIED" in r.stdout and "--allow-cwd" in r.stdout

    r = nono("why", "--path", str(home / ".ssh" / "id_ed25519"))
    assert r.returncode == 1
    assert "protected" in r.stdout and "~/.ssh" in r.stdout


def test_why_host_port_follows_the_network_policy(nono):
    r = nono("why", "--host", "localhost", "--port", "5432", "--json")
    assert json.loads(r.stdout)["allowed"] is True
    r = nono("why", "--host", "localhost", "--port", "5432", "--block-net", "--json")
    info = json.loads(r.stdout)
    assert info["allowed"] is False and info["suggestion"] == "--allow-port 5432"
    r = nono("why", "--host", "localhost", "--port", "5432", "--block-net", "--allow-port", "5432")
    assert r.returncode == 0 and "ALLOWED" in r.stdout


def test_errors_never_show_a_traceback(nono):
    for args in (["why"], ["run", "--profile", "nope", "--", "true"], ["profile", "show", "nope"]):
        r = nono(*args)
        assert r.returncode == 1
        assert "Traceback" not in r.stderr
        assert r.stderr.startswith("nono: ")
