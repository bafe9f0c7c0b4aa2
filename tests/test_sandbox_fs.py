"""Filesystem confinement, black-box: a real child under a real Landlock ruleset."""

from __future__ import annotations

import os

import pytest


def test_allowed_dir_is_readable_and_writable(nono, workspace):
    r = nono("run", "--allow-cwd", "--", "sh", "-c", "cat README.md && echo new > out.txt")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\n"
    assert (workspace / "out.txt").read_text() == "new\n"


def test_write_under_read_grant_is_denied_and_file_is_intact(nono, workspace):
    r = nono("run", "--read", ".", "--", "sh", "-c", "cat README.md; echo bad > README.md")
    assert r.returncode != 0
    assert r.stdout == "hello\n"
    # Outside its writable grants the child's whole view is mounted read-only.
    assert "Read-only file system" in r.stderr
    assert (workspace / "README.md").read_text() == "hello\n"


def test_truncate_under_read_grant_is_denied(nono, workspace):
    script = "import os; os.truncate('README.md', 0)"
    r = nono("run", "--read", ".", "--", "python3", "-c", script)
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr
    assert (workspace / "README.md").read_text() == "hello\n"


def test_ungranted_directory_is_unreadable(nono, workspace):
    r = nono("run", "--", "cat", str(workspace / "README.md"))
    assert r.returncode == 1
    assert "Permission denied" in r.stderr


def test_write_only_grant_cannot_be_read(nono, workspace):
    out = workspace / "drop"
    out.mkdir()
    (out / "old.txt").write_text("old\n")
    r = nono(
        "run", "--write", str(out), "--", "sh", "-c", f"echo x > {out}/new.txt; cat {out}/old.txt"
    )
    assert (out / "new.txt").read_text() == "x\n"
    assert r.returncode != 0
    assert "Permission denied" in r.stderr


def test_single_file_grant_leaves_its_siblings_denied(nono, workspace):
    (workspace / "other.txt").write_text("secret\n")
    r = nono(
        "run",
        "--read-file",
        "README.md",
        "--",
        "sh",
        "-c",
        f"cat {workspace}/README.md; cat {workspace}/other.txt",
    )
    assert r.stdout == "hello\n"
    assert r.returncode != 0


def test_system_paths_are_readable_and_executable_but_not_writable_even_as_root(nono):
    r = nono(
        "run",
        "--",
        "sh",
        "-c",
        "ls /usr/bin >/dev/null && /usr/bin/true && echo ok && touch /usr/bin/nono-test",
    )
    assert "ok" in r.stdout
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr
    assert not os.path.exists("/usr/bin/nono-test")


def test_etc_secrets_stay_out(nono):
    r = nono("run", "--", "cat", "/etc/shadow")
    assert r.returncode == 1
    assert "Permission denied" in r.stderr


def test_tmp_is_writable(nono, tmp_path):
    r = nono("run", "--", "sh", "-c", "f=$(mktemp) && echo t > $f && cat $f && rm $f")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "t\n"


def test_symlink_inside_granted_dir_pointing_outside_stays_denied(nono, workspace, home):
    outside = home / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("outside\n")
    (workspace / "link").symlink_to(outside)
    r = nono("run", "--allow-cwd", "--", "sh", "-c", "cat link/data.txt; echo x > link/new.txt")
    assert r.returncode != 0
    assert "outside" not in r.stdout
    assert not (outside / "new.txt").exists()


def test_granting_a_symlink_grants_its_target_only(nono, workspace, home):
    target = home / "real"
    target.mkdir()
    (target / "f").write_text("via link\n")
    (home / "alias").symlink_to(target)
    r = nono("run", "--read", str(home / "alias"), "--", "cat", str(target / "f"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "via link\n"


def test_secret_dirs_are_unreadable_under_a_project_grant(nono, home):
    r = nono("run", "--allow-cwd", "--", "cat", str(home / ".ssh" / "id_ed25519"))
    assert r.returncode == 1
    assert "PRIVATE" not in r.stdout


@pytest.mark.parametrize("flag", ["--allow", "--read"])
def test_grant_of_home_is_refused_naming_the_secret(nono, home, flag):
    r = nono("run", flag, str(home), "--", "true")
    assert r.returncode == 1
    assert "refusing" in r.stderr and "~/.ssh" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_grant_inside_a_secret_dir_is_refused(nono, home):
    r = nono("run", "--read", str(home / ".aws"), "--", "true")
    assert r.returncode == 1
    assert "~/.aws" in r.stderr


def test_grant_of_an_rc_file_is_refused(nono, home):
    r = nono("run", "--allow-file", str(home / ".bashrc"), "--", "true")
    assert r.returncode == 1
    assert "~/.bashrc" in r.stderr


def test_grant_overlapping_nono_state_is_refused(nono, tmp_path):
    state = tmp_path / "state" / "nono"
    state.mkdir(parents=True)
    r = nono("run", "--allow", str(tmp_path / "state"), "--", "true")
    assert r.returncode == 1
    assert "nono's state directory" in r.stderr


def test_missing_flag_path_is_a_clear_error(nono):
    r = nono("run", "--read", "does-not-exist", "--", "true")
    assert r.returncode == 1
    assert "does-not-exist" in r.stderr and "no such file" in r.stderr


def test_file_given_to_a_directory_flag_is_a_clear_error(nono):
    r = nono("run", "--allow", "README.md", "--", "true")
    assert r.returncode == 1
    assert "--allow-file" in r.stderr


def test_workdir_runs_the_command_there(nono, workspace, home):
    sub = workspace / "sub"
    sub.mkdir()
    r = nono("run", "--workdir", str(sub), "--allow-cwd", "--", "pwd", cwd=home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(sub)


def test_rename_across_granted_dirs_works(nono, workspace):
    (workspace / "a").mkdir()
    (workspace / "b").mkdir()
    (workspace / "a" / "f").write_text("x")
    r = nono("run", "--allow-cwd", "--", "mv", "a/f", "b/f")
    assert r.returncode == 0, r.stderr
    assert (workspace / "b" / "f").exists()


def test_python_node_and_git_run_in_the_default_baseline(nono, workspace):
    r = nono("run", "--", "python3", "-c", "import json, ssl; print('py')")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "py"
    r = nono("run", "--", "node", "-e", "console.log('js')")
    if r.returncode == 0 or "not found" not in r.stderr:
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "js"
    r = nono(
        "run",
        "--allow-cwd",
        "--",
        "sh",
        "-c",
        "git init -q . && git add README.md"
        " && git -c user.email=a@b -c user.name=n commit -qm m && git log --oneline | wc -l",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def test_denial_summary_names_the_path_and_the_flag(nono, home):
    cache = home / "cache"
    cache.mkdir()
    (cache / "data").write_text("d\n")
    r = nono("run", "--", "cat", str(cache / "data"))
    assert r.returncode == 1
    assert "the sandbox refused" in r.stderr
    assert str(cache / "data") in r.stderr
    assert f"--read-file {cache / 'data'}" in r.stderr


def test_no_summary_when_the_run_succeeds(nono, home):
    r = nono("run", "--", "sh", "-c", f"cat {home}/nope 2>&1 >/dev/null | cat >&2; exit 0")
    assert r.returncode == 0
    assert "the sandbox refused" not in r.stderr


def test_silent_suppresses_nono_output(nono, home):
    r = nono("run", "--silent", "--", "cat", str(home / ".ssh" / "id_ed25519"))
    assert r.returncode == 1
    assert "the sandbox refused" not in r.stderr
    assert "nono:" not in r.stderr
