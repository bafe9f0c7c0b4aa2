"""Runtime groups, through a real sandboxed shell in a home that has the runtimes' directories:
caches writable, what runs later outside (executables, sources, hook environments) read-only,
and the credentials that sit beside a group's configuration never readable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Files a person's home holds when the runtimes are installed (relative to HOME; "$XDG/..." is
# under XDG_CONFIG_HOME, where git and gh keep their configuration).
HOME_FILES = {
    "go/bin/gopls": "#!/bin/sh\necho real gopls\n",
    "go/pkg/mod/example.com/m@v1.0.0/main.go": "package main\n",
    ".cache/go-build/README": "cache\n",
    ".cargo/bin/cargo-fmt": "#!/bin/sh\n",
    ".cargo/config.toml": "[build]\n",
    ".cargo/credentials.toml": '[registry]\ntoken = "cio_secret"\n',
    ".cargo/credentials": '[registry]\ntoken = "cio_old_secret"\n',
    ".cargo/registry/src/index.crates.io-6f17d22bba15001f/foo-1.0.0/build.rs": "fn main() {}\n",
    ".cargo/registry/cache/index.crates.io-6f17d22bba15001f/foo-1.0.0.crate": "tarball\n",
    ".cargo/git/checkouts/bar-1234/abcdef/build.rs": "fn main() {}\n",
    ".local/share/pnpm/pnpm": "#!/bin/sh\n",
    ".local/share/pnpm/store/v3/files/00/abcdef": "module.exports = 1\n",
    ".npm/_npx/1a2b/node_modules/.bin/tool": "#!/bin/sh\n",
    ".npm/_cacache/index-v5/README": "cache\n",
    ".npm-global/bin/tool": "#!/bin/sh\n",
    ".npmrc": "//registry.npmjs.org/:_authToken=npm_secret\n",
    ".pypirc": "[pypi]\npassword = pypi-secret\n",
    ".local/bin/tool": "#!/bin/sh\n",
    ".local/lib/python3.12/site-packages/mod.py": "print('hi')\n",
    ".cache/pip/README": "cache\n",
    ".cache/pre-commit/repo1/hook.py": "print('hook')\n",
    ".config/pypoetry/config.toml": "[virtualenvs]\n",
    ".config/pypoetry/auth.toml": '[http-basic.corp]\npassword = "poetry-secret"\n',
    ".cache/uv/archive-v0/abc123/pkg/__init__.py": "print('linked into every venv')\n",
    ".cache/uv/simple-v16/pypi/pkg.rkyv": "index\n",
    ".cache/pypoetry/virtualenvs/other-project-py3.12/bin/python": "#!/bin/sh\n",
    ".cache/pypoetry/cache/repositories/pypi/README": "cache\n",
    ".yarn/berry/cache/left-pad-npm-1.3.0-abc.zip": "zip\n",
    ".bun/install/cache/left-pad@1.3.0/index.js": "module.exports = 1\n",
    ".local/share/virtualenvs/other-abc123/bin/activate": "# venv\n",
    "$XDG/git/config": "[user]\n\tname = T\n",
    "$XDG/git/ignore": "*.swp\n",
    "$XDG/git/credentials": "https://user:ghp_secret@github.com\n",
    "$XDG/gh/hosts.yml": "github.com:\n  oauth_token: gho_secret\n",
}


def contents(path: str) -> str | None:
    return Path(path).read_text() if os.path.exists(path) else None


def where(home, rel: str) -> str:
    if rel.startswith("$XDG/"):
        return os.path.join(os.environ["XDG_CONFIG_HOME"], rel[5:])
    return os.path.join(home, rel)


@pytest.fixture
def runtimes_home(home):
    for rel, text in HOME_FILES.items():
        path = where(home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Path(path).write_text(text)
    return home


@pytest.fixture
def sandboxed_sh(nono, runtimes_home):
    def run(script: str, *options: str):
        return nono("run", *options, "--", "sh", "-c", script)

    return run


def _write(path: str) -> str:
    return f'echo pwned > "{path}"'


EXECUTED_LATER = [
    "go/bin/gopls",
    "go/bin/newtool",
    "go/pkg/mod/example.com/m@v1.0.0/main.go",
    ".cargo/bin/cargo-fmt",
    ".cargo/bin/cargo-evil",
    ".cargo/registry/src/index.crates.io-6f17d22bba15001f/foo-1.0.0/build.rs",
    ".cargo/registry/cache/index.crates.io-6f17d22bba15001f/foo-1.0.0.crate",
    ".cargo/git/checkouts/bar-1234/abcdef/build.rs",
    ".cargo/config.toml",
    ".local/share/pnpm/pnpm",
    ".local/share/pnpm/store/v3/files/00/abcdef",
    ".npm/_npx/1a2b/node_modules/.bin/tool",
    ".npm-global/bin/tool",
    ".local/bin/tool",
    ".local/lib/python3.12/site-packages/mod.py",
    ".cache/uv/archive-v0/abc123/pkg/__init__.py",
    ".cache/pypoetry/virtualenvs/other-project-py3.12/bin/python",
    ".yarn/berry/cache/left-pad-npm-1.3.0-abc.zip",
    ".bun/install/cache/left-pad@1.3.0/index.js",
]


@pytest.mark.parametrize("rel", EXECUTED_LATER)
def test_runtime_group_refuses_writes_to_what_runs_later_outside(sandboxed_sh, runtimes_home, rel):
    path = where(runtimes_home, rel)
    before = contents(path)
    r = sandboxed_sh(_write(path))
    assert r.returncode != 0
    # Outside writable grants the sandbox's view is mounted read-only.
    assert "Read-only file system" in r.stderr
    assert contents(path) == before


CACHES = [
    ".cache/go-build/probe",
    ".npm/_cacache/probe",
    ".cache/pip/probe",
    ".cache/uv/simple-v16/probe",
    ".cache/pypoetry/cache/probe",
]


@pytest.mark.parametrize("rel", CACHES)
def test_runtime_group_caches_stay_writable(sandboxed_sh, runtimes_home, rel):
    path = where(runtimes_home, rel)
    r = sandboxed_sh(_write(path))
    assert r.returncode == 0, r.stderr
    assert contents(path) == "pwned\n"


SECRETS = [
    "$XDG/git/credentials",
    ".cargo/credentials.toml",
    ".cargo/credentials",
    ".npmrc",
    ".pypirc",
    "$XDG/gh/hosts.yml",
]


@pytest.mark.parametrize("profile", ["default", "node-dev", "python-dev"])
@pytest.mark.parametrize("rel", SECRETS)
def test_credentials_beside_a_groups_configuration_are_not_readable(
    sandboxed_sh, runtimes_home, rel, profile
):
    r = sandboxed_sh(f'cat "{where(runtimes_home, rel)}"', "--profile", profile)
    assert r.returncode != 0
    assert "Permission denied" in r.stderr
    assert "secret" not in r.stdout


def test_the_configuration_beside_those_credentials_is_still_readable(sandboxed_sh, runtimes_home):
    readable = ["$XDG/git/config", "$XDG/git/ignore", ".cargo/config.toml"]
    script = " && ".join(f'cat "{where(runtimes_home, rel)}"' for rel in readable)
    r = sandboxed_sh(script)
    assert r.returncode == 0, r.stderr
    assert "name = T" in r.stdout and "*.swp" in r.stdout and "[build]" in r.stdout


def test_git_reads_its_xdg_configuration_inside_the_sandbox(sandboxed_sh):
    r = sandboxed_sh("git config --global user.name")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "T"


def test_a_file_added_to_gits_directory_during_a_run_is_not_readable(runtimes_home, workspace):
    # The git group grants the entries its directory had when the run started, not the
    # directory: `git credential-store --file ~/.config/git/credentials` run later is covered.
    late = where(runtimes_home, "$XDG/git/store")
    script = f'touch started; while [ ! -e go ]; do sleep 0.05; done; cat "{late}"'
    child = subprocess.Popen(
        [sys.executable, "-m", "nono", "run", "--allow-cwd", "--", "sh", "-c", script],
        cwd=workspace, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        while not (workspace / "started").exists():  # the policy is in force
            assert child.poll() is None, child.communicate()
            time.sleep(0.02)
        Path(late).write_text("https://user:ghp_secret@github.com\n")
        (workspace / "go").touch()
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert "Permission denied" in err and "ghp_secret" not in out


@pytest.mark.parametrize(
    ("profile", "rel"),
    [
        ("python-dev", ".local/lib/python3.12/site-packages/mod.py"),
        ("python-dev", ".cache/pre-commit/repo1/hook.py"),
        ("node-dev", ".npm-global/bin/tool"),
        ("node-dev", ".local/share/pnpm/store/v3/files/00/abcdef"),
        ("node-dev", ".bun/install/cache/left-pad@1.3.0/index.js"),
        ("python-dev", ".local/share/virtualenvs/other-abc123/bin/activate"),
        ("python-dev", ".cache/pypoetry/virtualenvs/other-project-py3.12/bin/python"),
    ],
)
def test_dev_profiles_keep_global_installs_read_only(sandboxed_sh, runtimes_home, profile, rel):
    path = where(runtimes_home, rel)
    r = sandboxed_sh(_write(path), "--profile", profile)
    assert "Read-only file system" in r.stderr
    assert contents(path) != "pwned\n"


def test_python_dev_reads_poetrys_config_but_not_its_passwords(sandboxed_sh, runtimes_home):
    ok = sandboxed_sh(f'cat "{where(runtimes_home, ".config/pypoetry/config.toml")}"',
                      "--profile", "python-dev")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    refused = sandboxed_sh(f'cat "{where(runtimes_home, ".config/pypoetry/auth.toml")}"',
                           "--profile", "python-dev")  # fmt: skip
    assert "Permission denied" in refused.stderr and "poetry-secret" not in refused.stdout


def test_dry_run_shows_each_group_grant_with_its_group(nono, runtimes_home):
    r = nono("run", "--dry-run", "--", "true")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    go_bin = next(line for line in lines if line.rstrip().endswith("group go")
                  and str(runtimes_home / "go") in line)  # fmt: skip
    assert go_bin.split()[0] == "r"
    cargo = [line for line in lines if str(runtimes_home / ".cargo") in line]
    assert cargo and all(line.split()[0] == "r" and "group rust" in line for line in cargo)
    capabilities = lines[lines.index("Capabilities:") : lines.index("Enforcement:")]
    assert not any("credentials" in line for line in capabilities)


def test_a_fresh_uv_cache_is_writable_whole_so_a_first_install_works(nono, home):
    # Nothing outside links to an archive that does not exist yet.
    (home / ".cache" / "uv").mkdir(parents=True)
    target = home / ".cache" / "uv" / "archive-v0" / "new" / "pkg.py"
    r = nono("run", "--", "sh", "-c", f'mkdir -p "{target.parent}" && echo x > "{target}"')
    assert r.returncode == 0, r.stderr
    assert target.read_text() == "x\n"


@pytest.mark.parametrize("rel", [".cargo", ".config/git"])
def test_granting_a_directory_that_holds_a_credentials_file_is_refused(nono, runtimes_home, rel):
    (runtimes_home / ".config" / "git").mkdir(parents=True, exist_ok=True)
    r = nono("run", "--read", str(runtimes_home / rel), "--", "true")
    assert r.returncode == 1
    assert "it would expose ~/" in r.stderr and "credentials" in r.stderr
