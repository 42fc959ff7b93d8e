"""benchmarks/budget_adherence.py's table, read from a store: fit / budget, CPU use, every task."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from harness.store import STORE_FILE, Store
from tests import ROOT
from tests.harness.report.conftest import run_record

SCRIPT = ROOT / "benchmarks" / "budget_adherence.py"


def load_script():
    spec = importlib.util.spec_from_file_location("budget_adherence", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def store_of(tmp_path: Path, tasks: int) -> Path:
    db = tmp_path / STORE_FILE
    with Store(db) as store:
        for t in range(tasks):
            for seed, (ratio, use) in enumerate([(0.95, 0.9), (0.97, 0.5), (1.01, 0.7)]):
                r = run_record(f"t{t}", "busy", seed, 0.8, budget=30.0, overrun=ratio)
                r.cpu_use = use
                store.add_run(r)
    return db


def test_the_table_has_fit_per_budget_and_cpu_use_of_every_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script()
    script.print_table([store_of(tmp_path, 5)], (None, {30.0}, {"busy"}))
    out = capsys.readouterr().out
    head, _, row = out.splitlines()
    assert "CPU use" in head and "fit/budget median" in head
    cells = row.split()
    assert cells[:8] == ["busy", "30", "15", "0.970", "0.950", "1.010", "0.70", "-"], row
    assert "5 tasks: see the leaderboards" in row  # too many tasks for a score per task


def test_a_few_tasks_get_their_mean_test_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_script().print_table([store_of(tmp_path, 2)], ({"t0"}, {30.0}, {"busy"}))
    assert "t0 0.8000" in capsys.readouterr().out


def test_tasks_all_without_no_run_is_one_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tasks", "all", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--tasks all reads every task of existing stores" in proc.stderr.strip().splitlines()[-1]
    assert not (tmp_path / STORE_FILE).exists()
