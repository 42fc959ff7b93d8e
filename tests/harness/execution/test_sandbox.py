"""The sandbox with adapters that misbehave: each outcome recorded right, nothing left running.

Every test runs twice: its child forked by a fork server, and spawned."""

from __future__ import annotations

import re
import time
from pathlib import Path

import psutil
import pytest

from adapters.base import TaskInfo
from harness.execution.forkserver import ForkServer
from harness.execution.protocol import SandboxJob
from harness.execution.sandbox import hard_deadline_s, run_in_sandbox

pytestmark = pytest.mark.usefixtures("plugin_path", "no_leaks")


@pytest.fixture(scope="module", params=["forked", "spawned"])
def server(request: pytest.FixtureRequest, fork_server: ForkServer | None) -> ForkServer | None:
    """The fork server (``forked``) or none (``spawned``): the two ways a run's child starts."""
    return fork_server if request.param == "forked" else None


def job(data_dir: Path, adapter: str, budget: float = 1.0, memory_gb: float = 2.0) -> SandboxJob:
    task = TaskInfo("toy", "binary", "accuracy", ("no", "yes"))
    return SandboxJob(adapter, task, str(data_dir), budget_s=budget, seed=0, cores=1, memory_gb=memory_gb)


def test_good_adapter_returns_predictions_and_trials(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    res = run_in_sandbox(job(data_dir, "t-good"), tmp_path / "run.log", server)
    assert res.status == "ok", res.reason
    assert res.y_pred is not None and res.y_pred.shape == (20,)
    assert res.proba is not None and res.proba.shape == (20, 2)
    assert res.best_config == {"rule": "majority"}
    assert len(res.trials) == 1 and res.trials[0]["elapsed_s"] >= 0
    assert res.startup_s is not None and res.startup_s > 0
    assert res.fit_s is not None and res.fit_s < 1.0
    assert res.peak_mem_mb and res.peak_mem_mb > 10
    assert res.cpu_s and res.cpu_s > 0


def test_sleeper_is_killed_at_the_hard_deadline_and_keeps_its_trials(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    t0 = time.monotonic()
    res = run_in_sandbox(job(data_dir, "t-sleep", budget=1.0), tmp_path / "run.log", server)
    took = time.monotonic() - t0
    assert res.status == "timeout"
    assert "hard deadline" in (res.reason or "")
    assert res.fit_s is not None and hard_deadline_s(1.0) <= res.fit_s < hard_deadline_s(1.0) + 2
    assert len(res.trials) == 1, "trials logged before the kill must survive it"
    assert took < 30


def test_sigterm_ignored_escalates_to_sigkill(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    res = run_in_sandbox(job(data_dir, "t-ignoreterm"), tmp_path / "run.log", server)
    assert res.status == "timeout"


def _grandchild_pid(log: Path) -> int:
    m = re.search(r"GRANDCHILD_PID=(\d+)", log.read_text())
    assert m, log.read_text()
    return int(m.group(1))


def test_grandchild_in_its_own_session_ignoring_sigterm_is_killed(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    log = tmp_path / "run.log"
    res = run_in_sandbox(job(data_dir, "t-grandchild"), log, server)
    assert res.status == "timeout"
    assert (
        not psutil.pid_exists(_grandchild_pid(log))
        or psutil.Process(_grandchild_pid(log)).status() == "zombie"
    )


def test_orphaned_daemon_is_cleaned_up_after_a_normal_exit(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    log = tmp_path / "run.log"
    res = run_in_sandbox(job(data_dir, "t-orphan"), log, server)
    assert res.status == "ok"
    assert "left" in (res.reason or "") and res.killed >= 1
    pid = _grandchild_pid(log)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_memory_hog_is_killed_past_the_limit(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    res = run_in_sandbox(job(data_dir, "t-memory", budget=30.0, memory_gb=0.5), tmp_path / "run.log", server)
    assert res.status == "memory", res.reason
    assert "memory limit of 0.5 GB" in (res.reason or "")
    assert res.peak_mem_mb is not None and res.peak_mem_mb > 500


def test_exception_in_fit_is_failed_with_its_last_line(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    log = tmp_path / "run.log"
    res = run_in_sandbox(job(data_dir, "t-raise"), log, server)
    assert res.status == "failed"
    assert res.reason == "second line: boom (in fit)"
    assert "Traceback" in log.read_text(), "the child's traceback is kept in its log"


def test_exit_mid_fit_is_failed_with_exit_code(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    res = run_in_sandbox(job(data_dir, "t-exit"), tmp_path / "run.log", server)
    assert res.status == "failed"
    assert "exit code 3 during fit" in (res.reason or "")
    assert len(res.trials) == 1


def test_segfault_is_failed_with_the_signal(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    res = run_in_sandbox(job(data_dir, "t-segfault"), tmp_path / "run.log", server)
    assert res.status == "failed"
    assert "SIGSEGV" in (res.reason or "")


def test_flood_of_output_is_stopped_and_the_log_capped(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    log = tmp_path / "run.log"
    res = run_in_sandbox(job(data_dir, "t-chatty", budget=60.0), log, server)
    assert res.status == "failed" and "MB to stdout" in (res.reason or "")
    assert log.stat().st_size < 60 * 2**20


def test_unknown_adapter_in_child_is_a_failed_run(
    data_dir: Path, tmp_path: Path, server: ForkServer | None
) -> None:
    res = run_in_sandbox(job(data_dir, "no-such-adapter"), tmp_path / "run.log", server)
    assert res.status == "failed"
    assert "unknown adapter" in (res.reason or "")
