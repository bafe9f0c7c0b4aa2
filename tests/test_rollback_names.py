"""Names and diff text are the agent's: every listing escapes their control characters, so a
file name cannot set the person's clipboard (OSC 52) or rewrite their screen."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pexpect

EVIL = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: set the clipboard to "rm -rf ~"
RAW = EVIL[:-1]  # what must never reach the terminal, terminator or not
SHOWN = "\\x1b]52;c;cm0gLXJmIH4=\\x07"

AGENT = f"""
import os
evil = {EVIL!r}
os.chdir({{work!r}})
open("note" + evil + ".txt", "w").write("made\\n")
os.symlink("target" + evil, "link")
open("README.md", "a").write("echo " + evil + "\\n")
open(os.path.join({{other!r}}, "in-other.txt"), "w").write("x\\n")
"""


def run_agent(nono, workspace: Path, other: Path):
    script = AGENT.format(work=str(workspace), other=str(other))
    r = nono("run", "--rollback", "--allow-cwd", "--allow", str(other), "--",
             "python3", "-c", script)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(nono("rollback", "list", "--json").stdout)[0]["id"]


def test_listings_escape_control_characters_in_agent_chosen_names(nono, workspace, home):
    other = home / f"other{EVIL}dir"
    other.mkdir()
    rid = run_agent(nono, workspace, other)
    for args in (("show", rid), ("show", rid, "--diff"), ("list",),
                 ("restore", rid, "--dry-run")):  # fmt: skip
        r = nono("rollback", *args)
        assert r.returncode == 0, r.stderr
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout, args
        assert "\x1b" not in r.stderr, args
        assert SHOWN in r.stdout, (args, r.stdout)
    diff = nono("rollback", "show", rid, "--diff").stdout
    assert f"+echo {SHOWN}" in diff
    assert f"symlink to target{SHOWN}" in diff
    # JSON stays exact: the name as it is on disk.
    shown = json.loads(nono("rollback", "show", rid, "--json").stdout)
    assert str(workspace / f"note{EVIL}.txt") in {c["path"] for c in shown["changes"]}
    r = nono("rollback", "restore", rid)
    assert r.returncode == 0, r.stderr
    assert not (workspace / f"note{EVIL}.txt").exists()


def test_the_post_run_review_escapes_names_and_diffs(workspace, home):
    other = home / "other"
    other.mkdir()
    script = AGENT.format(work=str(workspace), other=str(other))
    log = io.BytesIO()
    child = pexpect.spawn(sys.executable, ["-m", "nono", "run", "--rollback", "--allow-cwd",
                                           "--allow", str(other), "--", "python3", "-c", script],
                          cwd=str(workspace), env=dict(os.environ), dimensions=(40, 200),
                          timeout=30)  # fmt: skip
    child.logfile_read = log
    try:
        child.expect(r"\[k\]eep all")
        child.sendline("d")
        child.expect(r"\[k\]eep all")
        child.sendline("k")
        child.expect("kept")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    out = log.getvalue()
    review = out[out.index(b"the session changed") :]
    assert RAW.encode() not in out
    assert b"\x1b" not in review and b"\x07" not in review
    assert SHOWN.encode() in review
    assert f"+echo {SHOWN}".encode() in review
