"""The local executor: packing by cores (never oversubscribed), longest first, a full machine."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness import machine
from harness.cli import main
from harness.errors import HarnessError
from harness.execution.cores import leased_cores
from harness.execution.local_executor import CorePacker, _Running, allowed_cores, core_pool
from harness.store import Store
from tests.conftest import harness_cmd, sigint_as_in_a_terminal

pytestmark = pytest.mark.usefixtures("no_leaks")

CORES = len(allowed_cores())


class Recorder:
    """An ``fn`` for the executor that sleeps ``job[1]`` seconds and records who ran when, on which cores."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, float, float, tuple[int, ...]]] = []

    def __call__(self, job: tuple[str, float, int], core_ids: tuple[int, ...]) -> str:
        name, seconds, cores = job
        assert len(core_ids) == cores
        t0 = time.monotonic()
        time.sleep(seconds)
        with self.lock:
            self.events.append((name, t0, time.monotonic(), core_ids))
        return name


def max_cores_in_use(events: list[tuple[str, float, float, tuple[int, ...]]]) -> int:
    """The most cores held at any instant, checking that overlapping jobs never share a core."""
    worst = 0
    for _, start, _, _ in events:
        live = [e for e in events if e[1] <= start < e[2]]
        ids = [c for e in live for c in e[3]]
        assert len(ids) == len(set(ids)), f"two running jobs share a core: {live}"
        worst = max(worst, len(ids))
    return worst


def test_pool_never_exceeds_the_machine() -> None:
    assert len(core_pool(1, 1)) == 1
    with pytest.raises(HarnessError, match="lower --parallel or --cores"):
        core_pool(CORES + 1, 1)


@pytest.mark.skipif(CORES < 2, reason="needs 2 cores")
def test_longest_first_and_full() -> None:
    rec = Recorder()
    jobs = [(f"j{i}", d, 1) for i, d in enumerate([0.1, 0.3, 0.2, 0.3, 0.1, 0.2, 0.1, 0.3])]
    ex = CorePacker(parallel=2, cores=1)
    t0 = time.monotonic()
    done = list(ex.run(jobs, rec, cost=lambda j: j[1]))
    wall = time.monotonic() - t0
    assert sorted(done) == sorted(j[0] for j in jobs)
    starts = [name for name, *_ in sorted(rec.events, key=lambda e: e[1])]
    by_name = dict((j[0], j[1]) for j in jobs)
    durations = [by_name[n] for n in starts]
    assert durations[:3] == [0.3, 0.3, 0.3], starts  # the three longest start first
    assert max_cores_in_use(rec.events) == 2
    ideal = sum(j[1] for j in jobs) / 2
    assert ideal / wall > 0.8, f"wall {wall:.2f}s for an ideal of {ideal:.2f}s"


@pytest.mark.skipif(CORES < 2, reason="needs 2 cores")
def test_mixed_cores_are_packed_without_oversubscription() -> None:
    """Jobs of 1 and 2 cores on a pool of 2: never more than 2 cores held, the 2-core job not starved."""
    rec = Recorder()
    jobs = [("big", 0.3, 2)] + [(f"s{i}", 0.15, 1) for i in range(6)]
    ex = CorePacker(parallel=2, cores=1)
    done = list(ex.run(jobs, rec, cost=lambda j: j[1], cores_of=lambda j: j[2]))
    assert sorted(done) == sorted(j[0] for j in jobs)
    assert max_cores_in_use(rec.events) == 2
    first = min(rec.events, key=lambda e: e[1])
    assert first[0] == "big"


def test_backfill_only_what_ends_before_the_head_job_can_start() -> None:
    """A 2-core head job waits for a core held 0.3 s more; only a job expected to end by then may jump ahead."""
    now = time.monotonic()
    running = {0: _Running(("busy", 1), (0,), now + 0.3)}
    todo = [("head", 2), ("late", 1), ("short", 1)]
    cost = {"head": 1.0, "late": 0.5, "short": 0.2}
    pick = CorePacker._pick(todo, [1], running, lambda j: j[1], lambda j: cost[j[0]])
    assert pick == 2
    assert CorePacker._pick(todo[:2], [1], running, lambda j: j[1], lambda j: cost[j[0]]) is None
    assert CorePacker._pick(todo, [0, 1], {}, lambda j: j[1], lambda j: cost[j[0]]) == 0


def test_error_in_a_job_stops_the_run_and_calls_abort() -> None:
    aborted = threading.Event()

    def fn(job: int, core_ids: tuple[int, ...]) -> int:
        if job == 0:
            raise RuntimeError("boom")
        time.sleep(0.2)
        return job

    ex = CorePacker(parallel=min(2, CORES), cores=1, abort=aborted.set)
    with pytest.raises(RuntimeError, match="boom"):
        list(ex.run([0, 1, 2], fn))
    assert aborted.is_set() or CORES < 2


@pytest.mark.skipif(CORES < 2, reason="needs 2 cores")
def test_harness_packs_runs_by_cores(plugin_path: Path, tmp_path: Path) -> None:
    """Through the CLI: recorded start/end times and cores show at most 2 cores busy, longest first."""
    out = tmp_path / "out"
    args = ["--task", "wine", "--adapters", "t-busy", "--budget", "0.5,1.5", "--seeds", "3"]
    assert main([*args, "--parallel", "2", "--quiet", "--out", str(out)]) == 0
    with sqlite3.connect(out / "harness.db") as db:
        rows = db.execute("SELECT job_key, budget_s, status, task_info FROM runs").fetchall()
    assert len(rows) == 6 and len({r[0] for r in rows}) == 6
    assert all(r[2] == "ok" for r in rows)
    events = []
    for key, budget, _, info in rows:
        ex = json.loads(info)["exec"]
        assert ex["executor"] == "local" and ex["end"] > ex["start"]
        assert ex["machine"] == machine.describe()  # what a budget bought depends on it
        events.append((f"{key}:{budget}", ex["start"], ex["end"], tuple(ex["core_ids"])))
    assert max_cores_in_use(events) == 2
    first_two = sorted(events, key=lambda e: e[1])[:2]
    assert all(e[0].endswith(":1.5") for e in first_two)  # the longest budgets start first


def _exec_of(out: Path) -> list[dict]:
    with sqlite3.connect(out / "harness.db") as db:
        return [json.loads(info)["exec"] for (info,) in db.execute("SELECT task_info FROM runs")]


def test_two_commands_on_one_machine_never_share_a_core(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two harness commands started at once, each asking for every core: the cores are leased
    machine-wide, so one run waits for the other instead of both running on the same cores."""
    monkeypatch.setenv("HARNESS_CORE_LOCK_DIR", str(tmp_path / "locks"))
    outs = [tmp_path / "a", tmp_path / "b"]
    common = ["--task", "wine", "--adapters", "t-busy", "--budget", "1.5", "--cores", str(CORES), "--quiet"]
    drivers = [subprocess.Popen(harness_cmd(*common, "--out", str(o))) for o in outs]
    assert [d.wait(timeout=120) for d in drivers] == [0, 0]
    (a,), (b,) = (_exec_of(o) for o in outs)
    first, second = sorted((a, b), key=lambda e: e["start"])
    assert second["start"] >= first["end"], (first, second)  # one after the other
    assert second["waited_for_cores_s"] >= 1.0 and first["waited_for_cores_s"] < 1.0, (first, second)
    assert sorted(first["core_ids"]) == sorted(second["core_ids"]) == allowed_cores()


def test_interrupted_while_waiting_for_cores_stores_nothing(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while every core is held by another process: the command stops at once, stores no
    run, and the same command later runs the job."""
    monkeypatch.setenv("HARNESS_CORE_LOCK_DIR", str(tmp_path / "locks"))
    out = tmp_path / "out"
    cmd = harness_cmd("--task", "wine", "--adapters", "t-busy", "--budget", "1", "--out", str(out), "--quiet")
    with leased_cores(CORES, lambda: False):
        driver = subprocess.Popen(cmd, preexec_fn=sigint_as_in_a_terminal)
        proc = psutil.Process(driver.pid)
        deadline = time.monotonic() + 60
        while proc.num_threads() < 2 and time.monotonic() < deadline:  # a job thread waits for cores
            time.sleep(0.1)
        time.sleep(1.0)
        driver.send_signal(signal.SIGINT)
        assert driver.wait(timeout=30) != 0
    with Store(out / "harness.db") as s:
        assert s.runs() == []
    subprocess.run(cmd, check=True, timeout=120)
    (ex,) = _exec_of(out)
    assert ex["waited_for_cores_s"] < 1.0
