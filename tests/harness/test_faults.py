"""Adapters that misbehave, through the real harness: one row each, right status, nothing left behind."""

from __future__ import annotations

import glob
import tempfile
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.store import Store

pytestmark = pytest.mark.usefixtures("no_leaks")

EXPECTED = {
    "t-good": ("ok", ""),
    "t-raise": ("failed", "boom"),
    "t-raisepredict": ("failed", "predict is broken (in predict)"),
    "t-wronglength": ("failed", "shape"),
    "t-wronglabels": ("failed", "not class codes"),
    "t-nan": ("failed", "NaN"),
    "t-badproba": ("failed", "do not sum to one"),
    "t-sleep": ("timeout", "hard deadline"),
    "t-ignoreterm": ("timeout", "hard deadline"),
    "t-grandchild": ("timeout", "hard deadline"),
    "t-orphan": ("ok", "left"),
    "t-memory": ("memory", "memory limit"),
    "t-chatty": ("failed", "MB to stdout"),
    "t-exit": ("failed", "exit code 3"),
    "t-segfault": ("failed", "SIGSEGV"),
    "t-mutates": ("ok", ""),
    "t-thief": ("ok", ""),
}


def _temp_dirs() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "harness-*")))


def test_every_fault_is_one_recorded_run_and_the_suite_goes_on(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    tmp = tmp_path / "tmp"  # a temp dir of its own: other commands on this machine come and go in /tmp
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    before = _temp_dirs()
    t0 = time.monotonic()
    code = main(
        [
            "--task",
            "wine",
            "--budget",
            "1",
            "--memory-gb",
            "0.6",
            "--adapters",
            ",".join(EXPECTED),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    took = time.monotonic() - t0
    assert code == 0
    with Store(out / "harness.db") as s:
        runs = {r.adapter: r for r in s.runs()}
        assert s.integrity_ok()
    assert sorted(runs) == sorted(EXPECTED), "one row per job"
    for name, (status, needle) in EXPECTED.items():
        r = runs[name]
        assert r.status == status, (name, r.status, r.reason)
        assert needle in (r.reason or ""), (name, r.reason)
    assert runs["t-thief"].best_config == {"found": []}, "no test labels may reach the child"
    assert runs["t-good"].test_score is not None
    assert _temp_dirs() == before, "temporary directories left behind"
    board = (out / "wine" / "leaderboard.md").read_text()
    for name in EXPECTED:
        assert name in board
    assert took < 240
