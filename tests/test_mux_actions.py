"""The dashboard's one action registry: every action a shipped keymap names is registered, every
registered action runs in a real dashboard, and a keymap naming an unknown action is refused
with its file and line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from nono.mux import actions
from nono.mux.app import Mux
from nono.mux.keymap import TABLES, KeymapError, builtin_keymaps, load_keymap

KEYMAPS = Path(__file__).parent.parent / "keymaps"


@pytest.mark.parametrize("path", sorted(KEYMAPS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_action_a_shipped_keymap_names_is_registered(path: Path) -> None:
    written = yaml.safe_load(path.read_text())
    for table, vocabulary in (("bindings", actions.PANES), ("root", actions.PANES),
                              ("copy-mode", actions.COPY)):  # fmt: skip
        for key, value in (written.get(table) or {}).items():
            name = value["action"] if isinstance(value, dict) else value  # {action:, repeat:}
            assert name in actions.ACTIONS, f"{path.name}: {table}: {key}: {name}"
            assert name == "none" or actions.ACTIONS[name].vocabulary == vocabulary, name


def test_the_shipped_keymaps_are_the_ones_checked() -> None:
    assert sorted(p.stem for p in KEYMAPS.glob("*.yaml")) == builtin_keymaps()


def test_keymap_vocabularies_are_the_registry() -> None:
    registered = {a.name for a in actions.all_actions()}
    assert set(TABLES["bindings"]) | set(TABLES["copy-mode"]) == registered
    for name, help_text in TABLES["bindings"].items():
        assert help_text == actions.ACTIONS[name].help


def run_every_action(names: list[str]) -> list[tuple[str, str]]:
    """Each action run by name in a running dashboard with no sessions (then detach); what the
    status bar said after any that failed or was not available."""
    said: list[tuple[str, str]] = []

    async def main() -> None:
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
            mux = Mux(load_keymap("default"))
            running = asyncio.get_running_loop().create_task(mux.run([], None))
            while not mux.app.is_running:
                await asyncio.sleep(0.01)
            for name in names:
                mux.model.message = ""
                mux.model.prompt = mux.model.overlay = None
                mux.act(name)
                await asyncio.sleep(0)
                if "not available" in mux.model.message or "error" in mux.model.message:
                    said.append((name, mux.model.message))
            mux.act("detach")
            await asyncio.wait_for(running, 10)
            assert mux.detaching
            mux.close()

    asyncio.run(main())
    return said


def test_every_registered_action_runs_in_a_real_dashboard(home: Path) -> None:
    names = [a.name for a in actions.all_actions() if a.name != "detach"]
    assert run_every_action(names) == []


def test_an_action_that_is_not_registered_is_said_to_be_unavailable(home: Path) -> None:
    # The control for the test above: a name without a handler does show.
    assert run_every_action(["copy-jump"]) == [("copy-jump", "copy-jump is not available")]


def test_unknown_action_in_a_user_keymap_names_file_and_line(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("extends: tmux\nbindings:\n  z: zoom\n  x: kill-pane\n")
    with pytest.raises(KeymapError) as caught:
        load_keymap(str(path), override=False)
    assert f"{path}:4: x: unknown action 'kill-pane'" in str(caught.value)
