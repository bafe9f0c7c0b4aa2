"""tmux habits in `nono mux`, driven as a person does: the real dashboard in a PTY, real
sessions behind it (bind -r repeat, copy-mode-vi's word and line keys, the zoom flag)."""

from __future__ import annotations

import re

from tests.mux_helpers import PREFIX
from tests.test_mux import dashboard, sessions  # noqa: F401 (fixtures)

C_RIGHT = "\x1b[1;5C"  # what a terminal sends for ctrl-Right


def edges(dash) -> list[int]:
    return sorted(x for _, x, _ in dash.headers())


def side_by_side(sessions, dashboard):  # noqa: F811
    sessions("alpha")
    sessions("beta")
    dash = dashboard(cols=100, rows=30)
    dash.wait("READY-beta")
    dash.send(PREFIX + "\x1b1")  # even-horizontal: alpha (focused) left, beta right
    dash.wait(lambda t: edges(dash) == [0, 50])
    return dash


def test_resize_keys_repeat_after_one_prefix(sessions, dashboard):  # noqa: F811
    dash = side_by_side(sessions, dashboard)
    # One prefix, three C-Right: as tmux's bind -r, the two after the first need no prefix.
    # Sent in one write, so they come well within the repeat time.
    dash.send(PREFIX + C_RIGHT + C_RIGHT + C_RIGHT)
    dash.wait(lambda t: edges(dash) == [0, 53])


def test_any_other_key_ends_the_repeat_and_is_handled_as_usual(sessions, dashboard, nono):  # noqa: F811
    dash = side_by_side(sessions, dashboard)
    # The typing after the repeated key reaches the shell, and the C-Right after it is the
    # shell's again: only the first C-Right moved the edge.
    dash.send(PREFIX + C_RIGHT + "echo after-$((6*7))" + C_RIGHT + "\r")
    dash.wait("after-42")
    assert re.search(r"^after-42\s*$", nono("capture", "alpha").stdout, re.M)
    dash.settle()
    assert edges(dash) == [0, 51]
    # And the prefix still works as it did: a new prefix, a new repeat.
    dash.send(PREFIX + C_RIGHT + C_RIGHT)
    dash.wait(lambda t: edges(dash) == [0, 53])


def captured_line(nono, name: str, pattern: str) -> str | None:
    found = re.search(pattern, nono("capture", name).stdout, re.M)
    return found.group(0) if found else None


def test_copy_mode_moves_by_words_and_to_line_ends_as_tmux_vi(sessions, dashboard, nono):  # noqa: F811
    sessions("alpha")
    dash = dashboard()
    dash.wait("READY-alpha")
    dash.type_line("echo one two-three")
    dash.wait(lambda t: captured_line(nono, "alpha", r"^one two-three$") is not None)
    # Up onto the output line, its start, the next word, select to that word's end (e), copy.
    dash.prefix("[")
    dash.wait("COPY")
    dash.send("k0w e\r")
    dash.wait_gone("COPY")
    dash.send("echo got-")
    dash.prefix("]")
    dash.send("\r")
    dash.wait(lambda t: captured_line(nono, "alpha", r"^got-two$") is not None)
    # On "got-two": the line's end ($), back a word (b), select to the end again, copy.
    dash.prefix("[")
    dash.wait("COPY")
    dash.send("k$b $\r")
    dash.wait_gone("COPY")
    dash.send("echo also-")
    dash.prefix("]")
    dash.send("\r")
    dash.wait(lambda t: captured_line(nono, "alpha", r"^also-two$") is not None)


def test_the_status_bar_flags_the_zoomed_pane_as_tmux_does(sessions, dashboard):  # noqa: F811
    sessions("alpha")
    sessions("beta")
    dash = dashboard()
    dash.wait("READY-beta")
    assert "alpha*" in dash.status() and "*Z" not in dash.status()
    dash.prefix("z")
    dash.wait(lambda t: "0:alpha*Z " in dash.status())
    assert "beta*" not in dash.status()
    dash.prefix("z")
    dash.wait(lambda t: "0:alpha* " in dash.status())


def test_a_pane_border_names_the_command_not_the_path_it_was_found_at(
    sessions,  # noqa: F811
    dashboard,  # noqa: F811
    workspace,
):
    # As an npm-installed agent is found: deep in node_modules/.bin. tmux's border shows
    # pane_current_command, the program's name.
    tool = workspace / "node_modules" / ".bin" / "mytool"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho READY-tool\nexec bash --norc --noprofile -i\n")
    tool.chmod(0o755)
    sessions("tool", str(tool), "--fast")
    dash = dashboard()
    text = dash.wait("READY-tool")
    header = next(line for line in text.splitlines() if "0:tool" in line)
    assert "─ mytool --fast · default ·" in header
    assert "node_modules" not in header
