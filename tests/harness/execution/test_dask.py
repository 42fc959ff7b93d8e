"""The Dask executor against a real scheduler and two real worker processes on 127.0.0.1.

The cluster is ``dask scheduler`` and two ``dask worker --nthreads 1 --resources cores=1``
subprocesses (with their nannies, as users start them), each worker with its own data cache.
The driver runs as ``python -m harness ... --executor dask --scheduler ADDR`` so it can be killed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from harness import machine
from harness.cli import main
from harness.execution import protocol
from harness.execution.cores import Cancelled, leased_cores
from harness.execution.dask_worker import ensure_data
from harness.execution.forkserver import SERVER_MODULE
from harness.execution.local_executor import allowed_cores
from tests import ROOT
from tests.conftest import descendants, install_plugin, is_sandbox

T = TypeVar("T")


@pytest.fixture(scope="module", autouse=True)
def _resource_tracker() -> None:
    """A local Dask cluster starts multiprocessing's resource tracker, which lives as long as pytest."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


def wait_for(what: Callable[[], T | None], timeout: float, msg: str) -> T:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {msg}")


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@dataclass
class Cluster:
    address: str
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def workers(self) -> list[subprocess.Popen[bytes]]:
        return self.procs[1:]

    def sandboxes(self) -> list[psutil.Process]:
        """The jobs' sandbox children under the worker processes (forked by a worker's fork server)."""
        found = []
        for w in self.workers():
            try:
                kids = psutil.Process(w.pid).children(recursive=True)
            except psutil.Error:
                continue
            for p in kids:
                try:
                    if is_sandbox(p) and alive(p):
                        found.append(p)
                except psutil.Error:
                    continue
        return found

    def worker_of(self, sandbox: psutil.Process) -> psutil.Process:
        """The worker process running ``sandbox`` (whose parent is the worker's fork server, or the worker)."""
        parent = sandbox.parent()
        assert parent is not None
        grandparent = parent.parent()
        return grandparent if SERVER_MODULE in parent.cmdline() and grandparent else parent

    def job_of(self, sandbox: psutil.Process) -> dict[str, Any]:
        return protocol.job_to_dict(protocol.read_job(Path(sandbox.cwd())))  # the run directory

    def wait_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout="20s") as c:
            c.wait_for_workers(n, timeout=timeout)

    def driver(self) -> list[str]:
        return [sys.executable, "-m", "harness", "--executor", "dask", "--scheduler", self.address]


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as fh:
        return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    tree: list[psutil.Process] = []
    for p in procs:
        try:
            tree += [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
        except psutil.Error:
            pass
    for p in reversed(procs):
        p.send_signal(signal.SIGTERM)
    _, left = psutil.wait_procs(tree, timeout=15)
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=10)
    for p in procs:
        p.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    before = descendants()
    tmp = tmp_path_factory.mktemp("dask")
    site = install_plugin(tmp / "site")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), str(ROOT), env.get("PYTHONPATH")) if p)
    env["HARNESS_CORE_LOCK_DIR"] = str(tmp / "core-locks")
    sched_file = tmp / "scheduler.json"
    procs = [
        _start(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
            ]
            + ["--scheduler-file", str(sched_file)],
            env,
            tmp / "scheduler.log",
        )
    ]
    try:
        wait_for(lambda: sched_file.exists() and sched_file.stat().st_size > 0, 60, "the scheduler")
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            wenv = {**env, "HARNESS_WORKER_CACHE": str(tmp / f"cache-{i}")}
            cmd = [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nthreads",
                "1",
                "--resources",
                "cores=1",
            ]
            cmd += ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"]
            procs.append(_start(cmd, wenv, tmp / f"worker{i}.log"))
        c = Cluster(address, env, procs)
        c.wait_workers(2)
        for p in procs:
            addresses = listening(p.pid)
            assert set(addresses) == {"127.0.0.1"}, addresses
        yield c
    finally:
        _stop_all(procs)
        time.sleep(1.0)  # orphaned sandboxes notice that their worker is gone
        left = [psutil.Process(pid) for pid in descendants() - before if psutil.pid_exists(pid)]
        left = [p for p in left if alive(p)]
        assert not left, f"cluster processes left behind: {[' '.join(p.cmdline())[:80] for p in left]}"


def fitting(sandbox: psutil.Process) -> bool:
    try:
        events = protocol.EventReader(Path(sandbox.cwd()))  # the run directory
        events.poll()
        return protocol.FIT_START in events.seen
    except (OSError, psutil.Error):
        return False


def listening(pid: int) -> dict[str, list[str]]:
    """The addresses that process ``pid`` and its descendants listen on, with who listens."""
    root = psutil.Process(pid)
    found: dict[str, list[str]] = {}
    for p in [root, *root.children(recursive=True)]:
        try:
            for c in p.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN:
                    found.setdefault(c.laddr.ip, []).append(f"{c.laddr.port} {' '.join(p.cmdline())[:100]}")
        except psutil.Error:
            continue
    return found


def runs(out: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(out / "harness.db") as db:
        db.row_factory = sqlite3.Row
        try:
            rows = [dict(r) for r in db.execute("SELECT * FROM runs ORDER BY id")]
        except sqlite3.OperationalError:  # the driver has not created the table yet
            return []
    for r in rows:
        r["exec"] = json.loads(r["task_info"]).get("exec", {})
    return rows


def test_suite_completes_when_a_worker_is_killed_mid_job(cluster: Cluster, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--task", "wine", "--adapters", "t-busy,t-good", "--budget", "3", "--seeds", "2"]
    driver = subprocess.Popen(
        [*cluster.driver(), *args, "--out", str(out), "--quiet"],
        env=cluster.env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        sandbox = wait_for(
            lambda: next((p for p in cluster.sandboxes() if cluster.job_of(p)["adapter"] == "t-busy"), None),
            60,
            "a t-busy job on a worker",
        )
        victim_job = cluster.job_of(sandbox)
        wait_for(lambda: fitting(sandbox), 20, "the job to start fitting")
        cluster.worker_of(sandbox).kill()  # SIGKILL the worker process mid-fit; its nanny starts a new one
        _, err = driver.communicate(timeout=120)
        assert driver.returncode == 0, err.decode()[-2000:]
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert not alive(sandbox), "the dead worker's sandbox lives on"
    rows = runs(out)
    assert len(rows) == 4 and len({r["job_key"] for r in rows}) == 4, "every job accounted for, once"
    assert all(r["status"] == "ok" for r in rows), [(r["adapter"], r["reason"]) for r in rows]
    retried = [r for r in rows if r["adapter"] == "t-busy" and r["seed"] == victim_job["seed"]]
    assert retried[0]["exec"]["attempt"] == 2
    assert all(r["exec"]["executor"] == "dask" for r in rows)
    assert all(r["exec"]["machine"] == machine.describe() for r in rows)  # read on the worker
    assert {c for r in rows for c in r["exec"]["core_ids"]} <= set(allowed_cores())


def test_a_job_whose_workers_die_twice_is_recorded_failed(cluster: Cluster, tmp_path: Path) -> None:
    cluster.wait_workers(2)
    out = tmp_path / "out"
    args = ["--task", "wine", "--adapters", "t-busy", "--budget", "20", "--seeds", "1"]
    driver = subprocess.Popen(
        [*cluster.driver(), *args, "--out", str(out), "--quiet"],
        env=cluster.env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        killed: list[int] = []
        for _ in range(2):
            sandbox = wait_for(
                lambda: next((p for p in cluster.sandboxes() if p.pid not in killed), None), 60, "the job"
            )
            killed.append(sandbox.pid)
            cluster.worker_of(sandbox).kill()
        _, err = driver.communicate(timeout=90)
        assert driver.returncode == 0, err.decode()[-2000:]
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    (row,) = runs(out)
    assert row["status"] == "failed"
    assert "died" in row["reason"] and "retried once" in row["reason"], row["reason"]
    cluster.wait_workers(2)


def test_driver_killed_its_jobs_stop_and_a_rerun_does_only_the_rest(cluster: Cluster, tmp_path: Path) -> None:
    cluster.wait_workers(2)
    out = tmp_path / "out"
    args = ["--task", "wine", "--adapters", "t-busy,t-good", "--budget", "2,8", "--seeds", "1"]
    cmd = [*cluster.driver(), *args, "--out", str(out), "--quiet"]
    first = subprocess.Popen(
        cmd, env=cluster.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        db = out / "harness.db"
        wait_for(lambda: db.exists() and len(runs(out)) >= 1 and cluster.sandboxes(), 90, "a stored run")
        in_flight = cluster.sandboxes()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    before = {r["job_key"]: r["id"] for r in runs(out)}
    assert 1 <= len(before) < 4
    # t-busy with 8 s has several seconds left: only a cancellation stops it this soon
    wait_for(lambda: not [p for p in in_flight if alive(p)], 3, "the killed driver's jobs to stop")
    subprocess.run(cmd, env=cluster.env, cwd=ROOT, check=True, timeout=120, stdout=subprocess.DEVNULL)
    rows = runs(out)
    assert len(rows) == 4 and len({r["job_key"] for r in rows}) == 4, "no duplicate rows"
    assert all(r["status"] == "ok" for r in rows), [(r["adapter"], r["reason"]) for r in rows]
    assert {r["job_key"]: r["id"] for r in rows if r["job_key"] in before} == before, "stored runs kept"
    # one split (wine, seed 0): each of the two worker caches fetches it at most once
    names = {r["exec"]["data_name"] for r in rows}
    assert len(names) == 1
    fetched = [r for r in rows if r["exec"]["data"] == "fetched"]
    assert len(fetched) <= 2 and len({r["exec"]["worker"] for r in fetched}) == len(fetched)


def test_hard_deadline_and_memory_limit_hold_on_workers(cluster: Cluster, tmp_path: Path) -> None:
    cluster.wait_workers(2)
    out = tmp_path / "out"
    args = ["--task", "wine", "--adapters", "t-sleep,t-memory", "--budget", "1", "--memory-gb", "0.4"]
    cmd = [*cluster.driver(), *args, "--out", str(out), "--quiet"]
    subprocess.run(cmd, env=cluster.env, cwd=ROOT, check=True, timeout=120, stdout=subprocess.DEVNULL)
    rows = {r["adapter"]: r for r in runs(out)}
    assert rows["t-sleep"]["status"] == "timeout" and "hard deadline" in rows["t-sleep"]["reason"]
    assert rows["t-memory"]["status"] == "memory" and "memory limit" in rows["t-memory"]["reason"]
    assert not cluster.sandboxes()


@pytest.mark.usefixtures("no_leaks")
def test_local_cluster_cli_writes_what_the_local_executor_writes(plugin_path: Path, tmp_path: Path) -> None:
    """``--executor dask`` alone: a cluster on 127.0.0.1 only; runs.csv and leaderboards as local."""
    from harness.execution.dask_executor import DaskExecutor

    with DaskExecutor(None, parallel=2, cores=1) as ex:
        addresses = listening(os.getpid())
        assert addresses and set(addresses) == {"127.0.0.1"}, addresses
        assert sum(ex.free_slots(1, []).values()) == 2
    common = ["--task", "wine", "--adapters", "t-good,t-busy", "--budget", "1", "--seeds", "2", "--quiet"]
    assert main([*common, "--parallel", "2", "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--parallel", "2", "--executor", "dask", "--out", str(tmp_path / "dask")]) == 0
    local, dask = runs(tmp_path / "local"), runs(tmp_path / "dask")
    assert sorted(r["job_key"] for r in local) == sorted(r["job_key"] for r in dask)
    assert all(r["status"] == "ok" for r in dask)
    head = [(tmp_path / d / "runs.csv").read_text().splitlines()[0] for d in ("local", "dask")]
    assert head[0] == head[1]
    boards = [(tmp_path / d / "wine" / "leaderboard.md").read_text() for d in ("local", "dask")]
    tables = [[ln.split("|")[1:3] for ln in b.splitlines() if ln.startswith("|")] for b in boards]
    assert tables[0] == tables[1]  # same rows and ranks (both adapters score deterministically)


@pytest.mark.usefixtures("no_leaks")
def test_core_leases_are_exclusive_across_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CORE_LOCK_DIR", str(tmp_path / "locks"))
    n = len(allowed_cores())
    held: list[tuple[int, ...]] = []
    release = threading.Event()

    def hold() -> None:
        with leased_cores(n, lambda: False) as ids:
            held.append(ids)
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    wait_for(lambda: held, 5, "the first lease")
    assert held[0] == tuple(allowed_cores())
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled), leased_cores(1, stop.is_set):
        pass
    assert time.monotonic() - t0 >= 0.4  # it waited: every core was held
    release.set()
    t.join()
    with leased_cores(1, lambda: False) as ids:
        assert len(ids) == 1


def test_data_cache_fetches_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_WORKER_CACHE", str(tmp_path / "cache"))
    calls = []

    def fetch() -> dict[str, bytes]:
        calls.append(1)
        return {"X_train.parquet": b"abc", "y_train.npy": b"def"}

    d1, fetched1 = ensure_data("harness-data-x", fetch)
    d2, fetched2 = ensure_data("harness-data-x", fetch)
    assert (fetched1, fetched2) == (True, False) and len(calls) == 1 and d1 == d2
    assert (d1 / "X_train.parquet").read_bytes() == b"abc"
    with pytest.raises(ValueError):
        ensure_data("harness-data-y", lambda: {"../evil": b""})
