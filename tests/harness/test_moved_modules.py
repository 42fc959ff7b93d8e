"""Module paths of before the reorganisation still import, warn, and are the very same modules."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from harness.moved_modules import MOVED, new_name
from tests import ROOT


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_is_the_new_module(old: str) -> None:
    new = importlib.import_module(MOVED[old])
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {MOVED[old]}"):
        mod = importlib.import_module(old)
    assert mod is new


def test_submodule_of_a_moved_package() -> None:
    assert new_name("adapters.families.gbm") == "adapters.tuning.families.gbm"
    assert new_name("adapters.base") is None
    sys.modules.pop("adapters.families.gbm", None)
    with pytest.warns(DeprecationWarning):
        from adapters.families.gbm import GbmFamily  # type: ignore[import-not-found]
    from adapters.tuning.families.gbm import GbmFamily as Moved

    assert GbmFamily is Moved


def test_entry_point_of_an_install_made_before_the_move_loads() -> None:
    """An editable install keeps its old entry points until reinstalled: they must still load."""
    sys.modules.pop("adapters.random_search", None)
    with pytest.warns(DeprecationWarning):
        cls = EntryPoint("random", "adapters.random_search:RandomAdapter", "harness.adapters").load()
    from adapters.tuning.strategies.random import RandomAdapter

    assert cls is RandomAdapter


def test_old_import_in_a_fresh_interpreter() -> None:
    """What a plugin written against the old layout does first: import the module, nothing else."""
    code = "from adapters.loop import Strategy; from harness.leaderboard import Board; print('ok')"
    out = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "moved to adapters.tuning.loop" in out.stderr  # it warns...
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr  # ...and works
