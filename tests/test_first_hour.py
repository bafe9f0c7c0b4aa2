"""A new user's first hour: pipes, messages, advice and stopping, through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def into_closed_pipe(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nono with stdout a pipe whose reader is already gone, as after `| head` exits."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "nono", *args],
            cwd=cwd,
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.fixture
def something_to_list(nono, workspace):
    """One session (stopped, so it has a log and a screen) and one rollback with a change."""
    r = nono("run", "--detached", "--allow-cwd", "--name", "piped", "--", "sh", "-c",
             "seq 1 50; sleep 60")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = nono("run", "--rollback", "--allow-cwd", "--", "sh", "-c", "echo x > made.txt")
    assert r.returncode == 0, r.stderr
    yield
    nono("stop", "piped", "--force")


@pytest.mark.parametrize(
    "args",
    [
        ("logs", "piped"),
        ("ps",),
        ("capture", "piped"),
        ("profile", "show", "claude-code"),
        ("profile", "list"),
        ("rollback", "list"),
    ],
    ids=" ".join,
)
def test_output_into_a_closed_pipe_ends_quietly(nono, workspace, something_to_list, args):
    r = into_closed_pipe(workspace, *args)
    assert r.stderr == "", r.stderr
    assert r.returncode == 141  # what a shell shows for a program ended by SIGPIPE


# ---------------------------------------------------------------- messages


def test_profile_show_separates_every_label_from_its_value(nono, tmp_path):
    profiles = tmp_path / "config" / "nono" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "mine.yaml").write_text(
        "extends: claude-code\nfilesystem:\n  allow_file: [~/.claude.json]\n"
    )
    r = nono("profile", "show", "mine")
    assert r.returncode == 0, r.stderr
    assert "  allow_file ~/.claude.json" in r.stdout.splitlines()
    for line in r.stdout.splitlines()[1:]:
        _label, _, value = line.strip().partition(" ")
        assert value.strip(), f"no space between label and value: {line!r}"


def test_profile_list_marks_a_profile_extending_a_missing_one_broken(nono, tmp_path):
    profiles = tmp_path / "config" / "nono" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "orphan.yaml").write_text("meta:\n  description: lost\nextends: nowhere\n")
    (profiles / "fine.yaml").write_text("meta:\n  description: fine\nextends: default\n")
    r = nono("profile", "list")
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert "BROKEN:" in rows["orphan"] and "extends missing profile 'nowhere'" in rows["orphan"]
    assert "BROKEN" not in rows["fine"] and "fine" in rows["fine"].split()
    assert "BROKEN" not in r.stdout.replace(rows["orphan"], "")


def test_ps_with_no_sessions_says_so(nono):
    r = nono("ps")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "no sessions running" in r.stderr
    assert "nono run --detached" in r.stderr
    assert "no sessions" in nono("ps", "--all").stderr
    assert nono("ps", "--json").stdout.strip() == "[]"


def test_a_mistyped_flag_gets_a_did_you_mean_and_the_commands_own_help(nono):
    r = nono("run", "--allow-cdw", "--", "true")
    assert r.returncode == 1
    assert "--allow-cdw" in r.stderr
    assert "did you mean --allow-cwd?" in r.stderr
    assert "nono run --help" in r.stderr
    r = nono("ps", "--alll")
    assert r.returncode == 1 and "did you mean --all?" in r.stderr and "nono ps --help" in r.stderr
    r = nono("ps", "--zzzzzz")
    assert r.returncode == 1 and "did you mean" not in r.stderr and "nono ps --help" in r.stderr


def test_setup_uses_a_755_config_directory_and_refuses_a_writable_one(nono, tmp_path):
    config = tmp_path / "config" / "nono"
    config.mkdir(parents=True)
    config.chmod(0o755)
    r = nono("setup")
    assert "accessible by other users" not in r.stderr, r.stderr
    assert r.returncode in (0, 1) and f"config      {config}" in r.stdout
    assert oct(config.stat().st_mode & 0o777) == oct(0o755)  # not changed behind the user's back
    config.chmod(0o777)
    r = nono("setup")
    assert r.returncode == 1
    assert str(config) in r.stderr and "writable by other users" in r.stderr
    assert f"chmod go-w {config}" in r.stderr


def test_mux_help_shows_new_as_optional(nono):
    r = nono("mux", "--help")
    usage = " ".join(r.stdout.split("\n\n")[0].split())
    assert usage.startswith("usage: nono mux ")
    assert "[new " in usage and " new ..." not in usage
    assert "without new" in " ".join(r.stdout.split()).lower()


def test_attach_help_says_how_to_detach(nono, tmp_path):
    r = nono("attach", "--help")
    assert "detach with ctrl-] d" in " ".join(r.stdout.split())
    config = tmp_path / "config" / "nono"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[ui]\ndetach_sequence = "ctrl-a x"\n')
    r = nono("attach", "--help")
    assert "detach with ctrl-a x" in " ".join(r.stdout.split())


# ---------------------------------------------------------------- stop


def test_stop_hangs_up_a_shell_as_a_closing_terminal_does(nono, workspace):
    """An interactive shell ignores SIGTERM; SIGHUP ends it at once, not SIGKILL at the end."""
    r = nono("run", "--detached", "--allow-cwd", "--name", "sh1", "--",
             "bash", "--norc", "--noprofile", "-i")  # fmt: skip
    assert r.returncode == 0, r.stderr
    try:
        r = nono("stop", "sh1", "--timeout", "30")
        assert r.returncode == 0, r.stderr
        assert "exit code 129" in r.stdout  # 128 + SIGHUP; 137 would be the SIGKILL after 30s
        assert "waiting up to 30s for sh1 to exit" in r.stderr
        assert "--force kills at once" in r.stderr
    finally:
        nono("stop", "sh1", "--force")


def test_stop_says_what_it_waits_for_before_killing(nono, workspace):
    r = nono("run", "--detached", "--allow-cwd", "--name", "stubborn", "--", "sh", "-c",
             "trap '' HUP TERM; echo ready; while :; do sleep 0.1; done")  # fmt: skip
    assert r.returncode == 0, r.stderr
    try:
        r = nono("stop", "stubborn", "--timeout", "0.5")
        assert r.returncode == 0, r.stderr
        assert "exit code 137" in r.stdout
        assert "SIGHUP" in r.stderr and "SIGTERM" in r.stderr and "SIGKILL" in r.stderr
        r = nono("run", "--detached", "--allow-cwd", "--name", "quick", "--", "sleep", "60")
        r = nono("stop", "quick", "--force")
        assert r.returncode == 0 and "waiting" not in r.stderr
    finally:
        nono("stop", "stubborn", "--force")
        nono("stop", "quick", "--force")


# ---------------------------------------------------------------- advice


def offered_flags(text: str) -> list[list[str]]:
    """Every `--flag PATH` nono's advice offers (after "grant with" or "to allow it:")."""
    import re

    found = re.findall(r"(?:grant with|to allow it:|grant its directory:) (--[\w-]+)(?: (/\S*))?",
                       text)  # fmt: skip
    return [[flag, path] if path else [flag] for flag, path in found]


def assert_each_offer_works(nono, text: str, path: Path, op: str) -> None:
    """An offered flag is accepted by nono and grants the access it was offered for."""
    for flag in offered_flags(text):
        r = nono("why", *flag, "--path", str(path), "--op", op)
        assert "refusing" not in r.stderr, f"nono refused its own advice {flag}: {r.stderr}"
        assert r.returncode == 0 and "ALLOWED" in r.stdout, (flag, r.stdout, r.stderr)


def test_hints_after_a_failed_run_are_only_grants_nono_accepts(nono, home):
    (home / "notes").mkdir()
    script = f"ls {home}; touch {home}/.agent.json; touch {home}/notes/new.txt; exit 1"
    r = nono("run", "--", "sh", "-c", script)
    assert r.returncode == 1
    assert "the sandbox refused" in r.stderr, r.stderr
    for refused in (f"--read {home}\n", f"--read {home} ", f"--allow {home}\n", f"--allow {home} "):
        assert refused not in r.stderr + "\n", r.stderr
    lines = {line.split()[0]: line for line in r.stderr.splitlines() if line.startswith("  /")}
    # The home directory holds ~/.ssh: no grant of it is offered, and the line says why.
    assert "~/.ssh" in lines[str(home)] and "grant with" not in lines[str(home)]
    # A file that does not exist yet in home: create it first, then grant the file.
    new_in_home = lines[f"{home}/.agent.json"]
    assert f"touch {home}/.agent.json" in new_in_home
    assert f"--allow-file {home}/.agent.json" in new_in_home
    # A file that does not exist yet where its directory may be granted: grant the directory.
    assert f"--allow {home}/notes" in lines[f"{home}/notes/new.txt"]
    assert_each_offer_works(nono, lines[f"{home}/notes/new.txt"], home / "notes" / "new.txt",
                            "write")  # fmt: skip


def test_why_offers_a_way_to_create_a_missing_file(nono, home):
    r = nono("why", "--path", str(home / ".claude.json"), "--op", "write")
    assert r.returncode == 1
    assert ["--allow-file", f"{home}/.claude.json"] not in offered_flags(r.stdout)
    assert f"touch {home}/.claude.json" in r.stdout and "~/.ssh" in r.stdout
    info = __import__("json").loads(
        nono("why", "--path", str(home / ".claude.json"), "--op", "write", "--json").stdout
    )
    assert info["suggestion"] is None and "touch" in info["advice"]

    (home / "notes").mkdir()
    r = nono("why", "--path", str(home / "notes" / "todo.md"), "--op", "write")
    assert f"--allow {home}/notes" in r.stdout
    assert_each_offer_works(nono, r.stdout, home / "notes" / "todo.md", "write")

    r = nono("why", "--path", str(home / ".codex" / "config.toml"), "--op", "write")
    assert f"mkdir {home}/.codex" in r.stdout and f"--allow {home}/.codex" in r.stdout

    (home / ".claude.json").write_text("{}\n")  # once it exists, the file grant is the advice
    r = nono("why", "--path", str(home / ".claude.json"), "--op", "write")
    assert offered_flags(r.stdout) == [["--allow-file", str(home / ".claude.json")]]
    assert_each_offer_works(nono, r.stdout, home / ".claude.json", "write")


def test_why_never_offers_a_grant_that_exposes_a_secret(nono, home):
    r = nono("why", "--path", str(home), "--op", "read")
    assert r.returncode == 1
    assert offered_flags(r.stdout) == []
    assert "~/.ssh" in r.stdout
    r = nono("why", "--path", str(home / "project" / "README.md"), "--op", "write")
    assert offered_flags(r.stdout) == [["--allow-cwd"]]
    assert_each_offer_works(nono, r.stdout, home / "project" / "README.md", "write")
