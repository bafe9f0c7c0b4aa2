"""What a non-editable install ships: every package of nono's source is listed in
pyproject.toml (setuptools installs only those), so `pip install .` is the same nono as the
checkout. nono.remote was once missing: `--host` worked from a checkout and nowhere else."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_of_the_source_is_listed_for_installation():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "nono").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found <= listed, f"not listed in pyproject.toml's packages: {sorted(found - listed)}"
