"""The dashboard's side of a session's host list: the denial count on its pane's border, the
egress view (egress-view, prefix e) listing what the proxy refused, `a` allowing a refused host
for the running session, and `p` adding it to the person's profile file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import test_mux
from tests.mux_helpers import Dashboard
from tests.net_helpers import Server, http_server
from tests.sshd import sshd  # noqa: F401 (fixture)
from tests.test_config import write_config

sessions, dashboard = test_mux.sessions, test_mux.dashboard


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = http_server()
    yield s
    s.close()


def host_list(server: Server) -> tuple[str, ...]:
    """A host list that names neither late.test nor its address, with late.test pinned to the
    test's server (its address allowed: the proxy refuses loopback no rule names)."""
    port = server.port
    return ("--allow-host", "listed.test", "--allow-host", f"127.0.0.1:{port}",
            "--resolve", f"late.test:{port}:127.0.0.1")  # fmt: skip


def retry_loop(server: Server) -> tuple[str, ...]:
    """An agent that asks late.test every half second and prints what it got: the server's
    answer names the path it was asked for, the proxy's refusal does not."""
    loop = (f'echo READY-"agent"; while :; do curl -sS -x "$HTTPS_PROXY" --max-time 5 '
            f'http://late.test:{server.port}/reached-by-agent; echo; sleep 0.5; done')  # fmt: skip
    return ("sh", "-c", loop)


def retrying_agent(sessions, server: Server) -> str:
    return sessions("agent", *retry_loop(server), extra=host_list(server))


def open_view(dashboard) -> Dashboard:
    dash = dashboard(cols=140, rows=32)
    dash.wait("READY-agent")
    dash.wait("net✗")  # the border's count, from the record the supervisor keeps
    dash.prefix("e")
    dash.wait(lambda text: "egress · agent" in text and "late.test:" in text)
    return dash


def test_a_panes_border_counts_denials_and_allowing_one_lets_the_next_attempt_through(
    sessions, dashboard, server
):
    session = retrying_agent(sessions, server)
    dash = dashboard(cols=140, rows=32)
    dash.wait("READY-agent")
    header = dash.wait(lambda text: "net✗" in text.splitlines()[0]).splitlines()[0]
    assert "agent" in header
    assert "/reached-by-agent" not in dash.text()  # refused so far: 403 from the proxy
    dash.prefix("e")
    view = dash.wait(lambda text: "egress · agent" in text and "late.test:" in text)
    line = next(x for x in view.splitlines() if f"late.test:{server.port}" in x)
    assert "✗" in line and "no rule allows this host" in line
    assert "denied" in view.splitlines()[0]  # the title's counts
    dash.send("a")
    dash.wait(f"allowed late.test:{server.port} for this session")
    dash.send("q")
    dash.wait_gone("egress · agent")
    # The same agent, never restarted, gets the server's answer on its next attempt.
    dash.wait("/reached-by-agent", timeout=20)
    from nono.session import registry

    assert registry.read_record(session).child_pid is not None
    events = registry.events_path(session).read_text()
    assert f'"egress-allowed", "rule": "late.test:{server.port}"' in events


def test_p_shows_the_profile_lines_then_writes_an_override_a_new_run_uses(
    sessions, dashboard, server, nono, home
):
    retrying_agent(sessions, server)
    dash = open_view(dashboard)
    target = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles" / "default.yaml"
    assert not target.exists()
    dash.send("p")
    shown = dash.wait("write this to default.yaml? (y/n)")
    assert f"create {target}" in shown
    assert "extends: default" in shown and f"- late.test:{server.port}" in shown
    assert "note: default has no host list yet" in shown  # it would filter every run under it
    assert not target.exists()  # shown, not yet written
    dash.send("y")
    dash.wait(f"wrote {target}")
    text = target.read_text()
    assert "extends: default" in text and f"    - late.test:{server.port}\n" in text
    r = nono("run", "--profile", "default", "--dry-run", "--", "true")
    assert r.returncode == 0, r.stderr
    assert f"late.test:{server.port}" in r.stdout, r.stdout


def test_p_keeps_the_persons_comments_in_an_existing_profile(sessions, dashboard, server, nono):
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "nono" / "profiles"
    profiles.mkdir(parents=True)
    mine = ("# my own tweaks\nextends: default\nnetwork:\n  allow_hosts:  # hosts I use\n"
            "    - listed.test   # the docs\n# the end\n")  # fmt: skip
    (profiles / "default.yaml").write_text(mine)
    retrying_agent(sessions, server)
    dash = open_view(dashboard)
    dash.send("p")
    shown = dash.wait("write this to default.yaml? (y/n)")
    assert f"add to {profiles / 'default.yaml'}" in shown
    dash.send("n")
    dash.wait("nothing written")
    assert (profiles / "default.yaml").read_text() == mine
    dash.send("p")
    dash.wait("write this to default.yaml? (y/n)")
    dash.send("y")
    dash.wait("wrote ")
    assert (profiles / "default.yaml").read_text() == mine.replace(
        "# the docs\n", f"# the docs\n    - late.test:{server.port}\n"
    )
    r = nono("run", "--profile", "default", "--dry-run", "--", "true")
    assert f"late.test:{server.port}" in r.stdout and "listed.test" in r.stdout, r.stdout


def test_the_view_of_a_session_without_a_host_list_says_there_is_none(sessions, dashboard):
    sessions("plain")
    dash = dashboard()
    dash.wait("READY-plain")
    dash.prefix("e")
    dash.wait("plain has no host list")


def test_a_remote_panes_view_allows_through_its_link_and_leaves_the_profile_to_its_host(
    sshd,  # noqa: F811
    dashboard,
    server,
):
    write_config(sshd.config_toml("build"))
    done = sshd.nono("run", "--detached", "--name", "far", "--workdir",
                     str(sshd.remote_workdir()), *host_list(server), "--",
                     *retry_loop(server))  # fmt: skip
    assert done.returncode == 0, done.stderr
    dash = dashboard("--host", "build", cols=140, rows=32)
    dash.wait("READY-agent")
    dash.wait("net✗")  # the count, from the host's listing
    dash.prefix("e")
    dash.wait(lambda text: "egress · build:far" in text and "late.test:" in text)
    dash.send("p")
    dash.wait("build:far's profile is on its host, not here")
    assert not (sshd.dir / "remote-config" / "nono" / "profiles").exists()
    dash.send("a")
    dash.wait(f"allowed late.test:{server.port} for this session")
    dash.send("q")
    dash.wait("/reached-by-agent", timeout=20)
