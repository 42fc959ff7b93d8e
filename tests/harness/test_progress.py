"""Progress that tells the truth: the ETA from the budgets left, the bar's running jobs, plain lines in a file."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import Job, RunConfig
from harness.eta import FORKED_OVERHEAD_PRIOR_S, OVERHEAD_PRIOR_S, Estimator, hms, overhead_prior_s
from harness.execution import forkserver
from harness.progress import Progress
from harness.runner import Plan
from harness.store import RunRecord
from tests.conftest import harness_cmd


def job(adapter: str = "random", seed: int = 0, budget: float = 60.0, task: str = "titanic") -> Job:
    return Job(task, adapter, seed, budget, 1, 8.0, "data")


def record(j: Job, status: str = "ok", fit_s: float | None = None) -> RunRecord:
    fit = j.budget_s if fit_s is None and status == "ok" else fit_s
    reason = "regression only" if status == "skipped" else None
    return RunRecord(j.key, j.task, j.adapter, j.seed, j.budget_s, 1, 8.0, status, reason=reason, fit_s=fit)


def test_eta_of_equal_jobs_is_their_budgets_and_overhead_over_the_slots() -> None:
    jobs = [job(seed=s) for s in range(6)]
    assert Estimator(parallel=1).remaining_s(jobs, []) == pytest.approx(6 * (60 + OVERHEAD_PRIOR_S))
    assert Estimator(parallel=2).remaining_s(jobs, []) == pytest.approx(3 * (60 + OVERHEAD_PRIOR_S))
    # 5 jobs on 2 slots: the last slot runs 3 of them
    assert Estimator(parallel=2).remaining_s(jobs[:5], []) == pytest.approx(3 * (60 + OVERHEAD_PRIOR_S))


def test_a_skipped_run_does_not_make_the_jobs_left_look_short() -> None:
    est = Estimator()
    skipped = job("tpot")
    est.learn(skipped, record(skipped, "skipped"), wall_s=0.1)
    left = [job(seed=s) for s in range(3)]
    assert est.remaining_s(left, []) == pytest.approx(3 * (60 + OVERHEAD_PRIOR_S))


def test_eta_counts_the_time_left_of_running_jobs_and_the_measured_overhead() -> None:
    est = Estimator()
    first = job(seed=0)
    est.learn(first, record(first, fit_s=60.0), wall_s=64.0)  # 4 s of start-up, predict, scoring
    assert est.overhead_s == pytest.approx(4.0)
    running = job(seed=1)
    assert est.remaining_s([job(seed=2)], [(running, 42.0)]) == pytest.approx((64 - 42) + 64)
    # an adapter that returns long before its budget (default) is expected to do so again
    fast = job("default")
    est.learn(fast, record(fast, fit_s=0.6), wall_s=4.6)
    assert est.expected_s(job("default", seed=1)) == pytest.approx(0.01 * 60 + 4.0)


def test_hms() -> None:
    assert hms(65) == "1m05s" and hms(3 * 3600 + 120) == "3h02m"


def _plan(jobs: list[Job], skipped: dict[tuple[str, str], str] | None = None) -> Plan:
    return Plan(jobs, [], sorted({j.adapter for j in jobs}), [], skipped or {})


def test_forked_runs_are_expected_to_cost_less_than_spawned_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = RunConfig(tasks=("titanic",), budgets=(60.0,))
    monkeypatch.setenv(forkserver.ENV_VAR, "1")
    assert overhead_prior_s(cfg) == FORKED_OVERHEAD_PRIOR_S < OVERHEAD_PRIOR_S
    assert overhead_prior_s(dataclasses.replace(cfg, isolate=True)) == OVERHEAD_PRIOR_S, "bubblewrap spawns"
    monkeypatch.setenv(forkserver.ENV_VAR, "0")
    assert overhead_prior_s(cfg) == OVERHEAD_PRIOR_S
    assert Progress(cfg, enabled=False).estimator.overhead_s == OVERHEAD_PRIOR_S


def test_lines_mode_prints_one_plain_line_per_finished_run() -> None:
    cfg = RunConfig(tasks=("titanic",), budgets=(60.0,))
    stream = io.StringIO()
    jobs = [job("skipper"), job(seed=0), job(seed=1)]
    with Progress(cfg, stream=stream) as progress:
        assert progress.mode == "lines"  # a StringIO is no terminal
        progress.plan(_plan(jobs, {("titanic", "skipper"): "regression only"}))
        for j in jobs:
            progress.start(j)
            progress.done(j, record(j, "skipped" if j.adapter == "skipper" else "ok"))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in stream.getvalue()
    assert lines[0].startswith("[1/3] titanic/skipper seed 0 budget 60s: skipped regression only")
    prior = overhead_prior_s(cfg)
    assert lines[0].endswith(f"about {hms(2 * (60 + prior))} left"), "the skip took no time"
    assert lines[2].startswith("[3/3] titanic/random seed 1")
    first = progress.forecasts[0]
    assert first.finished == 0 and first.eta_s == pytest.approx(2 * (60 + prior))


def test_the_bar_shows_running_jobs_against_their_budget_and_its_refresher_stops() -> None:
    cfg = RunConfig(tasks=("titanic",), budgets=(60.0,))
    stream = io.StringIO()
    j = job("optuna")
    with Progress(cfg, stream=stream, mode="bar") as progress:
        progress.plan(_plan([j]))
        progress.start(j)
        assert progress._refresher is not None and progress._refresher.is_alive()
        assert "titanic/optuna s0 0/60s" in progress.bar.postfix
        assert "ETA 1m0" in progress.bar.postfix
        progress.done(j, record(j))
    assert not progress._refresher.is_alive()
    assert "titanic/optuna seed 0 budget 60s: ok fit 60.0s" in stream.getvalue()


def test_quiet_shows_nothing() -> None:
    cfg = RunConfig(tasks=("titanic",), budgets=(60.0,))
    stream = io.StringIO()
    j = job()
    with Progress(cfg, enabled=False, stream=stream) as progress:
        progress.plan(_plan([j]))
        progress.start(j)
        progress.done(j, record(j))
    assert stream.getvalue() == ""


def test_piped_cli_prints_the_estimate_and_plain_lines(tmp_path: Path) -> None:
    out, err = tmp_path / "out", tmp_path / "stderr.txt"
    cmd = harness_cmd("--task", "wine", "--budget", "1", "--adapters", "default,random", "--seeds", "2")
    with open(err, "w") as fh:
        subprocess.run(
            [*cmd, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=fh, check=True, timeout=300
        )
    text = err.read_text()
    assert "\r" not in text, "no bar in a file"
    assert "4 jobs to run, 0m04s of budget: expect about" in text
    finished = [line for line in text.splitlines() if line.startswith("[")]
    assert [line[:5] for line in finished] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert all(": ok fit " in line for line in finished)


def test_dask_info_stays_off_the_console_warnings_do_not() -> None:
    code = (
        "import logging\n"
        "from harness.cli import _setup_logging\n"
        "_setup_logging(debug=False, quiet=False)\n"
        "import distributed  # sets its own loggers to INFO when imported\n"
        "logging.getLogger('distributed.scheduler').info('State start')\n"
        "logging.getLogger('distributed.scheduler').warning('a worker died')\n"
        "logging.getLogger('harness').info('3 jobs to run')\n"
    )
    pytest.importorskip("distributed")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "State start" not in proc.stderr
    assert "a worker died" in proc.stderr and "3 jobs to run" in proc.stderr
