"""CPU use during fit: busy-looping adapters read their share of the granted cores, by either method,
and the CPU of descendants that exited during fit is counted; the accounting's arithmetic alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.execution import cgroup, cpu_use, sandbox
from harness.execution.cpu_use import FitMeter, TreeCpu
from harness.execution.forkserver import ForkServer
from harness.execution.protocol import SandboxResult, write_data
from harness.execution.sandbox import run_in_sandbox
from tests.harness.execution.test_sandbox import job

METHODS = (cpu_use.CGROUP, cpu_use.SAMPLED)


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=40)})
    write_data(d, X[:20], rng.integers(0, 2, 20), X[20:30], rng.integers(0, 2, 10), X[30:])
    return d


@pytest.fixture(params=METHODS)
def method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test once with a cgroup per run (skipped where the machine allows none), once sampled."""
    if request.param == cpu_use.CGROUP:
        probe = cgroup.create("probe")
        if probe is None:
            pytest.skip("this machine allows no cgroup of our own (not root, no delegated subtree)")
        probe.remove()
    else:
        monkeypatch.setattr(sandbox.cgroup, "create", lambda tag: None)
    yield request.param


def run(
    server: ForkServer | None, toy_dir: Path, tmp_path: Path, adapter: str, budget: float, cores: int = 2
) -> SandboxResult:
    """Run ``adapter``, its child forked by ``server`` as the executors start it."""
    j = dataclasses.replace(job(toy_dir, adapter, budget=budget), cores=cores)
    res = run_in_sandbox(j, tmp_path / "run.log", server)
    assert res.status == "ok", res.reason
    return res


def near_own_count(res: SandboxResult, extra_s: float = 0.2) -> float:
    """Check the harness's count of fit CPU against the adapter's own count of its spinning; return that."""
    spun = float(res.best_config["spun_cpu_s"])
    assert res.fit_cpu_s is not None and res.fit_s is not None
    assert spun - 0.1 <= res.fit_cpu_s <= spun * 1.05 + extra_s, (res.fit_cpu_s, spun, res.cpu_method)
    return spun


@pytest.mark.usefixtures("plugin_path", "no_leaks")
class TestBusyLoops:
    """The band checks hold when the spinners got the cores they were granted; on a machine busy with
    other work they get less, and the harness must then read what they got (their own count)."""

    def test_one_busy_thread_on_two_cores_reads_half(
        self, toy_dir: Path, tmp_path: Path, method: str, fork_server: ForkServer | None
    ) -> None:
        res = run(fork_server, toy_dir, tmp_path, "t-spin1", budget=2.5)
        assert res.cpu_method == method
        spun = near_own_count(res)
        assert res.cpu_use is not None and res.fit_s is not None
        assert res.cpu_use == pytest.approx(spun / (2 * res.fit_s), abs=0.08)
        if spun >= 0.85 * res.fit_s:  # the thread had its core
            assert 0.35 < res.cpu_use < 0.65, res.cpu_use
        assert res.cpu_s is not None and res.fit_cpu_s is not None and res.fit_cpu_s < res.cpu_s
        assert res.energy_j is None or res.energy_j > 0  # recorded only where a RAPL meter exists

    def test_two_busy_processes_on_two_cores_read_one(
        self, toy_dir: Path, tmp_path: Path, method: str, fork_server: ForkServer | None
    ) -> None:
        res = run(fork_server, toy_dir, tmp_path, "t-spin2", budget=2.5)
        assert res.cpu_method == method
        spun = near_own_count(res, extra_s=0.3)  # the child's Python start-up is not in its spin
        assert res.cpu_use is not None and res.fit_s is not None
        assert res.cpu_use == pytest.approx(spun / (2 * res.fit_s), abs=0.1)
        if spun >= 1.7 * res.fit_s:  # both had their cores
            assert 0.8 < res.cpu_use < 1.15, res.cpu_use

    def test_a_child_that_exited_during_fit_is_counted(
        self, toy_dir: Path, tmp_path: Path, method: str, fork_server: ForkServer | None
    ) -> None:
        res = run(fork_server, toy_dir, tmp_path, "t-spinchild", budget=2.5)
        spun = near_own_count(res)  # the child spun up to 1.5 s and was reaped; the adapter slept
        assert spun > 0.3

    def test_a_daemon_that_exited_during_fit_is_counted(
        self, toy_dir: Path, tmp_path: Path, method: str, fork_server: ForkServer | None
    ) -> None:
        res = run(fork_server, toy_dir, tmp_path, "t-spinorphan", budget=3.0)
        spun = float(res.best_config["spun_cpu_s"])  # its own count, written as it exited
        assert spun > 0.3 and res.fit_cpu_s is not None
        # init reaped it; sampled, what it used after its last sample (0.25 s apart) is lost
        low = spun - 0.1 if method == cpu_use.CGROUP else spun - 0.6
        assert low < res.fit_cpu_s < spun + 0.5, (res.fit_cpu_s, spun)


@pytest.mark.usefixtures("plugin_path", "no_leaks")
def test_idle_fit_reads_near_zero_and_start_up_is_not_counted(
    toy_dir: Path, tmp_path: Path, fork_server: ForkServer | None
) -> None:
    # t-busy sleeps through its budget: start-up (imports) used CPU, fit almost none
    res = run(fork_server, toy_dir, tmp_path, "t-busy", budget=1.0, cores=1)
    assert res.cpu_use is not None and res.cpu_use < 0.2, res.cpu_use
    assert res.cpu_s is not None and res.fit_cpu_s is not None and res.cpu_s > res.fit_cpu_s


# --- the arithmetic, without processes -----------------------------------------------------------
ROOT = 100


def test_a_reaped_descendant_moves_into_its_parents_count() -> None:
    tree = TreeCpu(ROOT)
    tree.update({ROOT: (1, 1.0), 101: (ROOT, 2.0), 102: (101, 3.0)})
    assert tree.others_s() == 5.0
    # 102 exited and 101 reaped it: its 3.5 s are now in 101's count of reaped children
    tree.update({ROOT: (1, 1.0), 101: (ROOT, 2.0 + 3.5)})
    assert tree.others_s() == 5.5
    # 101 exited and the root reaped it: it is in the root's own count (the child's getrusage)
    tree.update({ROOT: (1, 1.0 + 5.5)})
    assert tree.others_s() == 0.0 and tree.root_s() == 6.5


def test_an_orphan_that_exited_keeps_its_last_sample() -> None:
    tree = TreeCpu(ROOT)
    tree.update({ROOT: (1, 1.0), 201: (1, 4.0)})  # daemonised: its parent is init
    tree.update({ROOT: (1, 1.0)})  # gone: init reaped it, nobody in the tree counts it
    assert tree.others_s() == 4.0


def test_fit_meter_subtracts_fit_start_and_divides_by_cores_times_fit_seconds() -> None:
    tree = TreeCpu(ROOT)
    meter = FitMeter(tree, None, None)
    tree.update({ROOT: (1, 3.0), 301: (ROOT, 1.0)})
    meter.start({"own": 3.0, "cgroup": None})
    tree.update({ROOT: (1, 3.0), 301: (ROOT, 4.0)})
    meter.end({"own": 5.0, "cgroup": None})
    fit = meter.result(cores=2, fit_s=2.5)
    assert fit.cpu_method == cpu_use.SAMPLED
    assert fit.fit_cpu_s == pytest.approx(2.0 + 3.0)
    assert fit.cpu_use == pytest.approx(5.0 / (2 * 2.5))
    assert fit.energy_j is None


def test_fit_meter_prefers_the_cgroup_and_falls_back_to_the_tree_when_cut() -> None:
    tree = TreeCpu(ROOT)
    cg = cgroup.RunCgroup(Path("/nonexistent"), 1)
    meter = FitMeter(tree, cg, None)
    meter.start({"own": 3.0, "cgroup": 10.0})
    meter.end({"own": 4.0, "cgroup": 12.5})
    fit = meter.result(cores=1, fit_s=5.0)
    assert (fit.cpu_method, fit.fit_cpu_s, fit.cpu_use) == (cpu_use.CGROUP, 2.5, 0.5)
    # killed before fit ended, no cgroup: the root's CPU from its last sample
    tree = TreeCpu(ROOT)
    meter = FitMeter(tree, None, None)
    tree.update({ROOT: (1, 2.0)})
    meter.start({"own": 2.0, "cgroup": None})
    tree.update({ROOT: (1, 3.0)})
    meter.end(None)
    assert meter.result(cores=1, fit_s=2.0).cpu_use == 0.5
    assert FitMeter(TreeCpu(ROOT), None, None).result(1, None).fit_cpu_s is None  # never reached fit


# --- cgroup files ---------------------------------------------------------------------------------
def test_cgroup_counters_of_both_versions_are_read(tmp_path: Path) -> None:
    v1 = tmp_path / "cpuacct.usage"
    v1.write_text("2500000000\n")
    v2 = tmp_path / "cpu.stat"
    v2.write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")
    assert cgroup.read_usage(v1) == 2.5 and cgroup.read_usage(v2) == 1.5
    assert cgroup.read_usage(tmp_path / "absent") is None


def test_cgroup_hierarchies_are_found_from_proc(tmp_path: Path) -> None:
    (tmp_path / "cgroup").write_text("4:memory:/x\n2:cpu,cpuacct:/jobs/me\n0::/user.slice/me\n")
    (tmp_path / "mountinfo").write_text(
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 cgroup2 rw\n"
    )
    assert cgroup.hierarchies(tmp_path) == [
        (Path("/sys/fs/cgroup/cpu,cpuacct/jobs/me"), 1),
        (Path("/sys/fs/cgroup/unified/user.slice/me"), 2),
    ]
