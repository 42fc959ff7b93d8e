"""Fixtures for the tasks tests: no network ever, a private data cache, and helpers for data files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import tasks.openml


def _no_network(*args, **kwargs):
    raise AssertionError("a tasks test tried to reach the network")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Force offline mode, point the cache at a fresh directory, and make any download fail loudly."""
    data_dir = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    monkeypatch.setenv("HARNESS_DATA_DIR", str(data_dir))
    monkeypatch.setattr(tasks.openml, "urlopen", _no_network)
    return data_dir


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """``write_file("a.csv", "x,y\\n1,2\\n")`` writes text (or bytes) under tmp_path and returns the path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    return write
