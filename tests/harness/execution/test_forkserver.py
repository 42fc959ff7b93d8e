"""The fork server: a forked run gets its own environment, cores and thread pools, is killed as a tree,
and when the server is off or gone the run is spawned instead."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import psutil
import pytest

from harness.execution import forkserver
from harness.execution.forkserver import ForkServer
from harness.execution.protocol import SandboxResult
from harness.execution.sandbox import child_env, run_in_sandbox
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
