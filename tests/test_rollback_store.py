"""Rollback snapshots on a real filesystem: what is stored, what is left out, what is noticed."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from rollback_helpers import age, write

from nono.rollback import (
    Options,
    Rollback,
    RollbackError,
    cleanup,
    list_rollbacks,
    rollbacks_dir,
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored(rb: Rollback) -> set[str]:
    """Hashes of every object in the rollback's store."""
    objects = rb.path / "objects"
    return {shard.name + obj.name for shard in objects.iterdir() for obj in shard.iterdir()}


@pytest.fixture
def project(home: Path) -> Path:
    root = home / "project"
    write(root / "README.md", "hello\n")
    write(root / "src" / "app.py", "print('hi')\n")
    write(root / "src" / "copy.py", "print('hi')\n")  # same content: one object
    write(root / "data.bin", bytes(range(256)) * 4)
    age(root)
    return root


class Opens:
    """Which files under a tree are opened (inotify IN_OPEN): proof a snapshot did not read."""

    IN_OPEN = 0x20
    IN_ISDIR = 0x40000000

    def __init__(self, root: Path) -> None:
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0
        self.dirs = {}
        for dirpath, _dirs, _files in os.walk(root):
            wd = self.libc.inotify_add_watch(self.fd, dirpath.encode(), self.IN_OPEN)
            self.dirs[wd] = dirpath

    def opened(self) -> set[str]:
        names = set()
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            i = 0
            while i < len(buf):
                wd, mask, _cookie, size = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16 : i + 16 + size].rstrip(b"\0").decode()
                if name and not mask & self.IN_ISDIR:
                    names.add(os.path.join(self.dirs[wd], name))
                i += 16 + size
        return names

    def close(self) -> None:
        os.close(self.fd)


def test_baseline_is_stored_privately_and_found_by_id_prefix_and_path(project: Path) -> None:
    rb = Rollback.create([str(project)], session_id="s1", command=["agent", "--go"])
    assert rb.path.parent == rollbacks_dir()
    assert rollbacks_dir().stat().st_mode & 0o777 == 0o700
    [info] = rb.snapshots()
    assert (info.index, info.files) == (0, 4)
    assert info.bytes == sum(p.stat().st_size for p in project.rglob("*") if p.is_file())
    assert info.new_objects == 3  # app.py and copy.py share one object
    assert len(info.merkle_root) == 64

    again = Rollback.open(rb.id[:5])
    assert (again.id, again.roots, again.session_id) == (rb.id, (str(project),), "s1")
    assert again.command == ("agent", "--go")
    assert [r.id for r in list_rollbacks(path=str(project / "src"))] == [rb.id]
    assert list_rollbacks(path=str(project.parent / "elsewhere")) == []

    with pytest.raises(RollbackError, match="no rollback matches 'zzz'") as err:
        Rollback.open("zzz")
    assert rb.id in (err.value.hint or "")


def test_objects_are_named_by_sha256_and_deduplicated(project: Path) -> None:
    rb = Rollback.create([str(project)])
    content = (project / "src" / "app.py").read_bytes()
    digest = sha(content)
    assert (rb.path / "objects" / digest[:2] / digest[2:]).read_bytes() == content
    assert stored(rb) == {sha(p.read_bytes()) for p in project.rglob("*") if p.is_file()}
    assert not list((rb.path / "tmp").iterdir())  # every temp file was renamed or removed


def test_symlinks_are_recorded_and_never_followed(project: Path, home: Path) -> None:
    secret = write(home / "outside" / "secret.txt", "outside secret\n")
    os.symlink(secret.parent, project / "escape")
    os.symlink(secret, project / "escape-file")
    rb = Rollback.create([str(project)])
    assert sha(secret.read_bytes()) not in stored(rb)

    (project / "escape").unlink()
    os.symlink("/etc", project / "escape")
    rb.snapshot()
    [change] = rb.changes()
    assert (change.path, change.kind) == (str(project / "escape"), "modified")
    assert (change.old.type, change.old.target) == ("symlink", str(secret.parent))
    assert change.new.target == "/etc"


def test_user_xattrs_are_recorded_in_hex(project: Path) -> None:
    os.setxattr(project / "README.md", "user.origin", b"\x00human")
    rb = Rollback.create([str(project)])
    os.setxattr(project / "README.md", "user.origin", b"agent")
    rb.snapshot()
    [change] = rb.changes()
    assert change.kind == "xattr"
    assert change.old.xattrs == {"user.origin": b"\x00human".hex()}
    assert change.new.xattrs == {"user.origin": b"agent".hex()}
    assert rb.diff(change) == ""


def test_gitignore_heavy_dirs_and_excludes_are_not_snapshotted(project: Path) -> None:
    write(project / ".gitignore", "*.log\nout/\n")
    write(project / "pkg" / ".gitignore", "*.tmp\n!keep.tmp\n/local.txt\n")
    left_out = [
        write(project / "run.log", "log 1\n"),
        write(project / "out" / "artifact.txt", "artifact\n"),
        write(project / "pkg" / "scratch.tmp", "scratch\n"),
        write(project / "pkg" / "local.txt", "pkg-local\n"),
        write(project / "node_modules" / "dep" / "index.js", "dep\n"),
        write(project / "pkg" / "build" / "lib.o", "object code\n"),
        write(project / ".venv" / "bin" / "python", "venv\n"),
        write(project / "__pycache__" / "m.pyc", "pyc\n"),
        write(project / "secrets" / "token", "token\n"),
        write(project / "notes.bak", "backup\n"),
        write(project / ".git" / "objects" / "ab" / "cd", "git object\n"),
    ]
    kept = [
        write(project / "pkg" / "keep.tmp", "kept by negation\n"),
        write(project / "local.txt", "root-local\n"),  # /local.txt is anchored to pkg/
        write(project / "dist" / "wanted.txt", "re-included\n"),
    ]
    age(project)
    options = Options(excludes=("secrets/", "*.bak", "!dist/"))
    rb = Rollback.create([str(project)], options)
    objects = stored(rb)
    assert all(sha(p.read_bytes()) in objects for p in kept)
    assert not [p for p in left_out if sha(p.read_bytes()) in objects]

    # Later changes in left-out places are not changes at all.
    for path in left_out:
        path.write_text("changed by the agent\n")
    write(project / "node_modules" / "new" / "x.js", "new dep\n")
    write(project / "pkg" / "tracked.txt", "tracked\n")
    rb.snapshot()
    assert [(c.kind, c.path) for c in rb.changes()] == [
        ("created", str(project / "pkg" / "tracked.txt"))
    ]


def test_walk_budget_stops_a_runaway_tree_and_leaves_nothing(project: Path) -> None:
    for i in range(60):
        write(project / "gen" / f"{i}.txt", str(i))
    with pytest.raises(RollbackError, match=str(project)) as err:
        Rollback.create([str(project)], Options(walk_budget=50))
    assert "--rollback-exclude" in (err.value.hint or "")
    assert os.listdir(rollbacks_dir()) == []


def test_a_big_directory_is_noticed(project: Path) -> None:
    for i in range(30):
        write(project / "many" / "inner" / f"{i}.txt", str(i))
    rb = Rollback.create([str(project)], Options(big_dir_notice=20))
    [notice] = rb.snapshots()[0].notices
    assert str(project / "many" / "inner") in notice and "30" in notice


def test_incremental_snapshot_reads_only_changed_files(project: Path) -> None:
    rb = Rollback.create([str(project)])
    (project / "src" / "app.py").write_text("print('changed')\n")
    opens = Opens(project)
    try:
        info = rb.snapshot()
        opened = opens.opened()
    finally:
        opens.close()
    assert opened == {str(project / "src" / "app.py")}
    assert info.index == 1 and info.new_objects == 1
    assert [(c.kind, c.path) for c in rb.changes()] == [("modified", str(project / "src/app.py"))]


def test_a_file_written_within_the_baseline_tick_is_hashed_again(project: Path) -> None:
    write(project / "hot.txt", "written just before the baseline\n")  # mtime: now
    rb = Rollback.create([str(project)])
    opens = Opens(project)
    try:
        rb.snapshot()
        opened = opens.opened()
    finally:
        opens.close()
    # Same stat, but a write in the same tick would not have moved the mtime: read it again.
    assert opened == {str(project / "hot.txt")}


def without_dac_override(code: str) -> subprocess.CompletedProcess:
    """Run Python as this user but without root's power to read any file, when we are root."""
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv to drop root's capabilities")
        prefix = [setpriv, "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"]
    return subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_a_file_made_unreadable_is_recorded_without_content(project: Path) -> None:
    rb = Rollback.create([str(project)])
    locked = project / "src" / "app.py"
    original = locked.read_bytes()
    locked.chmod(0)
    done = without_dac_override(
        f"from nono.rollback import Rollback\nprint(Rollback.open({rb.id!r}).snapshot().notices)"
    )
    assert done.returncode == 0, done.stderr
    assert f"{locked} is unreadable" in done.stdout
    [change] = Rollback.open(rb.id).changes()
    assert (change.path, change.kind) == (str(locked), "mode")  # same size and mtime
    assert (change.new.hash, change.new.mode) == (None, 0)
    assert "not recorded" in rb.diff(replace(change, kind="modified"))

    rb.restore(rb.plan_restore(0))
    assert locked.read_bytes() == original and locked.stat().st_mode & 0o777 == 0o644


def test_verify_names_a_corrupt_object_and_the_files_using_it(project: Path) -> None:
    rb = Rollback.create([str(project)])
    assert rb.verify() == []
    digest = sha((project / "src" / "app.py").read_bytes())
    obj = rb.path / "objects" / digest[:2] / digest[2:]
    data = bytearray(obj.read_bytes())
    data[3] ^= 0x01
    obj.chmod(0o600)
    obj.write_bytes(bytes(data))
    [problem] = rb.verify()
    assert digest in problem and "corrupt" in problem
    assert (
        str(project / "src" / "app.py") in problem and str(project / "src" / "copy.py") in problem
    )


def test_verify_and_reads_catch_a_truncated_or_tampered_manifest(project: Path) -> None:
    rb = Rollback.create([str(project)])
    (project / "README.md").write_text("changed\n")
    rb.snapshot()
    manifest = rb.path / "snapshots" / "000001.manifest"
    data = manifest.read_bytes()
    manifest.write_bytes(data[: len(data) * 2 // 3])
    [problem] = Rollback.open(rb.id).verify()
    assert "snapshot 1" in problem and "truncated" in problem
    with pytest.raises(RollbackError, match="truncated"):
        Rollback.open(rb.id).changes()

    # Same length, one digit changed: only the Merkle root can tell.
    tampered = data.replace(b'"file",8,', b'"file",9,', 1)  # README.md: 8 bytes
    assert tampered != data
    manifest.write_bytes(tampered)
    [problem] = Rollback.open(rb.id).verify()
    assert "Merkle root" in problem and "snapshot 1" in problem


def test_diff_shows_text_as_unified_diff_and_binary_as_binary(project: Path) -> None:
    rb = Rollback.create([str(project)])
    (project / "README.md").write_text("hello\nworld\n")
    (project / "data.bin").write_bytes(b"\x00\x01changed")
    (project / "src" / "app.py").chmod(0o600)
    rb.snapshot()
    diffs = {Path(c.path).name: rb.diff(c) for c in rb.changes()}
    assert diffs["README.md"].splitlines() == [
        "--- a/README.md", "+++ b/README.md", "@@ -1 +1,2 @@", " hello", "+world"
    ]  # fmt: skip
    assert diffs["data.bin"] == "binary"
    assert diffs["app.py"] == ""


def test_cleanup_by_count_and_size_and_dry_run(project: Path) -> None:
    made = [Rollback.create([str(project)]) for _ in range(3)]
    newest_first = [r.id for r in reversed(made)]
    assert [r.id for r in list_rollbacks()] == newest_first
    assert [r.id for r in list_rollbacks(recent=1)] == newest_first[:1]

    would = cleanup(keep=1, dry_run=True)
    assert [r.id for r in would] == newest_first[1:]
    assert len(list_rollbacks()) == 3
    assert [r.id for r in cleanup(max_total_bytes=made[2].size_bytes())] == newest_first[1:]
    assert [r.id for r in list_rollbacks()] == newest_first[:1]
    assert sorted(os.listdir(rollbacks_dir())) == [made[2].id]


def test_disk_full_during_the_baseline_refuses_and_leaves_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = home / "project"
    for i in range(8):
        write(project / f"blob{i}.bin", os.urandom(32 * 1024))
    small = tmp_path / "small-state"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        monkeypatch.setenv("XDG_STATE_HOME", str(small))
        with pytest.raises(RollbackError, match="not enough space for the rollback baseline"):
            Rollback.create([str(project)])
        assert os.listdir(rollbacks_dir()) == []
    finally:
        with contextlib.suppress(OSError):
            subprocess.run(["umount", str(small)], check=False)
