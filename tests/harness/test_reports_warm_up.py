"""The report modules and matplotlib load in a thread while the jobs run, only where a core is left over."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness import runner
from harness.config import RunConfig

WARM_UP = """
import sys
from harness import runner
from harness.config import RunConfig
assert "matplotlib" not in sys.modules
thread = runner.warm_up_reports(RunConfig(tasks=("wine",), budgets=(1.0,)))
thread.join()
print(all(m in sys.modules for m in ("harness.report.files", "matplotlib.backends.backend_agg", "optuna.importance")))
"""


def test_the_reports_load_beside_the_jobs_where_a_core_is_spare() -> None:
    if len(runner.allowed_cores()) < 2:
        pytest.skip("one core: no core is left over by a job")
    done = subprocess.run([sys.executable, "-c", WARM_UP], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_no_warm_up_where_it_would_take_a_jobs_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "allowed_cores", lambda: [0, 1])
    assert runner.warm_up_reports(RunConfig(tasks=("wine",), budgets=(1.0,), parallel=2)) is None
    assert runner.warm_up_reports(RunConfig(tasks=("wine",), budgets=(1.0,), cores=2)) is None
    assert runner.warm_up_reports(RunConfig(tasks=("wine",), budgets=(1.0,), executor="dask")) is None
    thread = runner.warm_up_reports(RunConfig(tasks=("wine",), budgets=(1.0,)))
    assert thread is not None
    thread.join()
