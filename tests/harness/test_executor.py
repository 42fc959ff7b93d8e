"""The local executor: packing by cores (never oversubscribed), longest first, a full machine."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.executor import LocalExecutor, _Running, allowed_cores, core_pool

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
    ex = LocalExecutor(parallel=2, cores=1)
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
    ex = LocalExecutor(parallel=2, cores=1)
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
    pick = LocalExecutor._pick(todo, [1], running, lambda j: j[1], lambda j: cost[j[0]])
    assert pick == 2
    assert LocalExecutor._pick(todo[:2], [1], running, lambda j: j[1], lambda j: cost[j[0]]) is None
    assert LocalExecutor._pick(todo, [0, 1], {}, lambda j: j[1], lambda j: cost[j[0]]) == 0


def test_error_in_a_job_stops_the_run_and_calls_abort() -> None:
    aborted = threading.Event()

    def fn(job: int, core_ids: tuple[int, ...]) -> int:
        if job == 0:
            raise RuntimeError("boom")
        time.sleep(0.2)
        return job

    ex = LocalExecutor(parallel=min(2, CORES), cores=1, abort=aborted.set)
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
        events.append((f"{key}:{budget}", ex["start"], ex["end"], tuple(ex["core_ids"])))
    assert max_cores_in_use(events) == 2
    first_two = sorted(events, key=lambda e: e[1])[:2]
    assert all(e[0].endswith(":1.5") for e in first_two)  # the longest budgets start first
