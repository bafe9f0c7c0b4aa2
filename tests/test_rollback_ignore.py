"""Ignore rules are the baseline's: an agent that rewrites .gitignore cannot make restore
delete files that were there before the session."""

from __future__ import annotations

import json
from pathlib import Path

REWRITE = """
import os
open(".gitignore", "w").write("# nothing is ignored any more\\n")
open("logs/.gitignore", "w").write("!*.log\\n")
open("made-by-agent.txt", "w").write("new\\n")
"""


def only_rollback(nono) -> str:
    rows = json.loads(nono("rollback", "list", "--json").stdout)
    assert len(rows) == 1, rows
    return rows[0]["id"]


def test_rewritten_gitignore_does_not_make_restore_delete_files_from_before(nono, workspace):
    (workspace / ".gitignore").write_text("secrets.env\ndata/\n*.log\n")
    (workspace / "secrets.env").write_text("API_KEY=only-copy\n")
    (workspace / "data").mkdir()
    (workspace / "data" / "x").write_text("a dataset nobody else has\n")
    (workspace / "logs").mkdir()
    (workspace / "logs" / "old.log").write_text("history\n")
    r = nono("run", "--rollback", "--allow-cwd", "--", "python3", "-c", REWRITE)
    assert r.returncode == 0, r.stderr
    rid = only_rollback(nono)

    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    kinds = {Path(c["path"]).relative_to(workspace).as_posix(): c["kind"] for c in shown["changes"]}
    assert kinds.get(".gitignore") == "modified"
    assert kinds.get("made-by-agent.txt") == "created"
    for before in ("secrets.env", "data", "data/x", "logs/old.log"):
        assert before not in kinds, f"{before} existed before the session: {kinds}"

    r = nono("rollback", "restore", rid)
    assert r.returncode == 0, r.stderr
    assert (workspace / "secrets.env").read_text() == "API_KEY=only-copy\n"
    assert (workspace / "data" / "x").read_text() == "a dataset nobody else has\n"
    assert (workspace / "logs" / "old.log").read_text() == "history\n"
    # The control: what the agent really made is gone, and its rules are undone.
    assert not (workspace / "made-by-agent.txt").exists()
    assert not (workspace / "logs" / ".gitignore").exists()
    assert (workspace / ".gitignore").read_text() == "secrets.env\ndata/\n*.log\n"


def test_restore_spares_paths_the_baseline_found_ignored(tmp_path):
    from nono.rollback.model import Action
    from nono.rollback.restore import spare_existing

    root = str(tmp_path)
    actions = [
        Action("unlink", f"{root}/data/x", None),
        Action("rmdir", f"{root}/data", None),
        Action("unlink", f"{root}/secrets.env", None),
        Action("unlink", f"{root}/made-by-agent.txt", None),
        Action("write", f"{root}/README.md", None),
    ]
    existed = {f"{root}/data", f"{root}/secrets.env"}
    left, spared = spare_existing(actions, existed, (root,))
    assert [a.path for a in left] == [f"{root}/made-by-agent.txt", f"{root}/README.md"]
    assert spared == [f"{root}/data", f"{root}/data/x", f"{root}/secrets.env"]


def test_the_baseline_records_what_its_rules_left_out(home, workspace):
    from nono.rollback import Rollback

    (workspace / ".gitignore").write_text("secrets.env\ndata/\n")
    (workspace / "secrets.env").write_text("k\n")
    (workspace / "data").mkdir()
    (workspace / "data" / "x").write_text("x\n")
    rb = Rollback.create([str(workspace)])
    again = Rollback.open(rb.id)
    assert set(again.manifest(0).ignored) == {
        str(workspace / "secrets.env"),
        str(workspace / "data"),
    }
    assert again.verify() == []
