"""The fork server: a forked run gets its own environment, cores and thread pools, is killed as a tree,
and when the server is off or gone the run is spawned instead."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from harness.execution import forkserver
from harness.execution.environment import child_env
from harness.execution.forkserver import ForkServer
from harness.execution.protocol import SandboxResult
from harness.execution.sandbox import run_in_sandbox
from harness.store import STORE_FILE, Store
from tests.conftest import harness_cmd
from tests.harness.execution.test_sandbox import job

pytestmark = pytest.mark.usefixtures("plugin_path", "no_leaks")


def _require(server: ForkServer | None) -> ForkServer:
    if server is None:
        pytest.skip(f"the fork server is off ({forkserver.ENV_VAR}=0)")
    return server


def probe(
    data_dir: Path, tmp_path: Path, server: ForkServer | None, cores: int, core_ids: tuple[int, ...]
) -> dict:
    j = dataclasses.replace(job(data_dir, "t-threads"), cores=cores, core_ids=core_ids)
    res = run_in_sandbox(j, tmp_path / "run.log", server)
    assert res.status == "ok", res.reason
    assert res.forked is (server is not None)
    return res.best_config


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "spawned"])
def test_thread_counts_cores_and_pools_are_the_runs_own(
    data_dir: Path,
    tmp_path: Path,
    fork_server: ForkServer | None,
    forked: bool,
) -> None:
    server = _require(fork_server) if forked else None
    mine = sorted(os.sched_getaffinity(0))
    for cores, core_ids in ((1, (mine[-1],)), (min(2, len(mine)), tuple(mine[:2]))):
        seen = probe(data_dir, tmp_path, server, cores, core_ids)
        assert seen["env"] == dict.fromkeys(seen["env"], str(cores)), seen
        assert seen["affinity"] == list(core_ids), seen
        # the server loaded BLAS and OpenMP at one thread: the run's pools hold its cores
        assert seen["pools"] and {n for _, n in seen["pools"]} == {cores}, seen
        assert seen["session_leader"], "the child must lead a session of its own (the tree kill)"
        assert Path(seen["cwd"]).name.startswith("harness-run-"), "the child works in its run dir"
        omp, marker = seen["started_sees"]
        assert omp == str(cores) and re.fullmatch(r"[0-9a-f]{32}", marker), seen


def test_a_forked_run_is_killed_as_a_tree_at_its_deadline(
    data_dir: Path,
    tmp_path: Path,
    fork_server: ForkServer | None,
) -> None:
    server = _require(fork_server)
    log = tmp_path / "run.log"
    res = run_in_sandbox(job(data_dir, "t-grandchild"), log, server)
    assert res.forked and res.status == "timeout" and "hard deadline" in (res.reason or "")
    grandchild = int(re.search(r"GRANDCHILD_PID=(\d+)", log.read_text()).group(1))  # type: ignore[union-attr]
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie"
    assert psutil.pid_exists(server.pid), "killing a run's tree must not touch the server"


def _ok(res: SandboxResult) -> SandboxResult:
    assert res.status == "ok", res.reason
    return res


def test_a_server_that_is_gone_falls_back_to_spawn(data_dir: Path, tmp_path: Path) -> None:
    with forkserver.serving(child_env(1, None)) as server:
        if server is None:
            pytest.skip(f"the fork server is off ({forkserver.ENV_VAR}=0)")
        assert not server.broken and server.wait_ready(), server.broken
        assert _ok(run_in_sandbox(job(data_dir, "t-good"), tmp_path / "a.log", server)).forked
        psutil.Process(server.pid).kill()
        res = _ok(run_in_sandbox(job(data_dir, "t-good"), tmp_path / "b.log", server))
        assert not res.forked and server.broken
        assert not _ok(run_in_sandbox(job(data_dir, "t-good"), tmp_path / "c.log", server)).forked


def test_the_server_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forkserver.ENV_VAR, "0")
    with forkserver.serving(child_env(1, None)) as server:
        assert server is None


def test_a_one_job_command_forks_its_run_from_the_server_started_ahead(tmp_path: Path) -> None:
    """``python -m harness`` starts the server before its own imports, so even its only run is forked
    (a server started with the executor would only be ready after the run had been spawned)."""
    if not forkserver.enabled():
        pytest.skip(f"the fork server is off ({forkserver.ENV_VAR}=0)")
    out = tmp_path / "out"
    cmd = harness_cmd(
        "--task", "wine", "--budget", "1", "--adapters", "default", "--out", str(out), "--quiet"
    )
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with Store(out / STORE_FILE) as store:
        (rec,) = store.runs("wine")
    assert rec.status == "ok" and rec.task_info["exec"]["forked"] is True, rec.task_info["exec"]


def test_a_server_that_forked_nothing_is_killed_rather_than_waited_for() -> None:
    """One started ahead for a command that runs nothing is not waited for while it imports."""
    server = ForkServer(child_env(1, None), wait_for_imports=True)
    server.stop()
    assert server._proc.returncode == -signal.SIGKILL
    with forkserver.serving(child_env(1, None)) as used:
        if used is None:
            pytest.skip(f"the fork server is off ({forkserver.ENV_VAR}=0)")
        assert used.wait_ready(), used.broken
    assert used._proc.returncode == -signal.SIGKILL, "a ready server that forked nothing is killed too"


def test_the_server_started_ahead_is_the_one_the_next_executor_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forkserver.ENV_VAR, "1")
    forkserver.start_ahead(child_env(1, None))
    assert forkserver.started_ahead()
    ahead = forkserver._ahead
    with forkserver.serving(child_env(1, None)) as server:
        assert server is ahead and server.wait_for_imports
        assert not forkserver.started_ahead(), "handed out once"
    assert server._proc.returncode is not None, "stopped with the executor"
    forkserver.start_ahead(child_env(1, None))
    unused = forkserver._ahead
    forkserver.stop_unused()
    assert (
        not forkserver.started_ahead() and unused is not None and unused._proc.returncode == -signal.SIGKILL
    )


AHEAD_THEN_ERROR = """
import sys, psutil, harness
from harness.errors import HarnessError
from harness.execution import forkserver
try:
    harness.run(tasks=["csv:" + sys.argv[1]], target="y", budgets=[1], adapters=["default"], out=sys.argv[2])
except HarnessError as exc:
    print("error:", exc, file=sys.stderr)
print(forkserver.started_ahead(), len(psutil.Process().children()))
"""


def test_a_server_started_ahead_of_a_command_that_fails_is_not_kept(tmp_path: Path) -> None:
    """``harness.run`` in a notebook: a server started ahead of a run that stops on an error does not
    stay idle in the kernel."""
    if not forkserver.enabled():
        pytest.skip(f"the fork server is off ({forkserver.ENV_VAR}=0)")
    missing, out = tmp_path / "missing.csv", tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", AHEAD_THEN_ERROR, str(missing), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "error:" in done.stderr, done.stderr
    assert done.stdout.split() == ["False", "0"]
