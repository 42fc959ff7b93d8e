"""The registry reads the entry points once per set of installed packages, and sees a package installed later."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapters import registry
from tests.harness.test_inputs import write_dist


def test_a_package_installed_or_removed_after_a_lookup_is_seen(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert "t-late" not in registry.names()
    write_dist(site, "pkg-late", "t-late", "harness_test_plugins:Good")
    assert "t-late" in registry.names() and registry.origin("t-late") == "plugin pkg-late"
    shutil.rmtree(site / "pkg_late-1.0.dist-info")
    assert "t-late" not in registry.names()
