"""How long the jobs left will take, from their budgets: what progress reports as the ETA.

A run takes about its budget (adapters work until it is spent) plus its overhead: the child's
start-up, predict, scoring and storing. So the time left is computed from the budgets of the jobs
not started, what the running jobs have left of theirs, and the overhead measured on the runs
that finished, spread over ``parallel`` slots longest first, as the executor starts them. An
average over finished runs would not do: a skipped run that took 0.1 s would make every job left
look short.

Two things are learned from finished runs: the mean overhead, and per adapter the share of its
budget its fit used (``default`` fits one model and returns in a second whatever its budget).
Before anything finished, every fit is expected to take its whole budget.
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.config import Job, RunConfig
from harness.store import RunRecord

# A run's overhead before one is measured: a child's start-up (Python with numpy, pandas,
# scikit-learn and a tuning library) and the harness's own work; 1.5 to 2.5 s by the load on the
# project's 2-core machine for a spawned child (benchmarks/eta.py). An engine with a JVM takes
# longer: the first run measures it.
OVERHEAD_PRIOR_S = 2.0
# The same for a child forked from the fork server, which has numpy, pandas and scikit-learn
# imported: 0.47 s per run on wine (benchmarks/eta.py, load 1).
FORKED_OVERHEAD_PRIOR_S = 0.6


def overhead_prior_s(cfg: RunConfig) -> float:
    """A run's overhead until one is measured: forked runs (a local executor's or a Dask worker's
    fork server, when on) take less than spawned ones (``--isolate``, ``HARNESS_FORKSERVER=0``)."""
    from harness.execution import forkserver

    return OVERHEAD_PRIOR_S if cfg.isolate or not forkserver.enabled() else FORKED_OVERHEAD_PRIOR_S


@dataclass
class Estimator:
    """Expected seconds of jobs, and of the whole remaining plan on ``parallel`` slots."""

    parallel: int = 1
    overhead_prior_s: float = OVERHEAD_PRIOR_S  # a run's overhead until one is measured
    overheads: list[float] = field(default_factory=list)  # wall - fit of finished runs
    shares: dict[str, list[float]] = field(default_factory=dict)  # adapter -> fit_s / budget

    def learn(self, job: Job, rec: RunRecord, wall_s: float) -> None:
        """Learn from a finished run that took ``wall_s`` from its start to its record (skips teach nothing)."""
        if rec.status == "skipped" or rec.fit_s is None:
            return
        self.overheads.append(max(0.0, wall_s - rec.fit_s))
        self.shares.setdefault(job.adapter, []).append(rec.fit_s / job.budget_s)

    @property
    def overhead_s(self) -> float:
        return statistics.fmean(self.overheads) if self.overheads else self.overhead_prior_s

    def share(self, adapter: str) -> float:
        seen = self.shares.get(adapter)
        return statistics.fmean(seen) if seen else 1.0

    def expected_s(self, job: Job) -> float:
        """A job's expected wall seconds from its start to its record."""
        return self.share(job.adapter) * job.budget_s + self.overhead_s

    def remaining_s(
        self, queued: Iterable[Job], running: Iterable[tuple[Job, float]], parallel: int | None = None
    ) -> float:
        """Seconds until the last job ends: ``queued`` jobs not started, ``running`` (job, seconds elapsed).

        Each slot first finishes what runs on it, then takes the longest job waiting, as the
        executor does; the answer is when the last slot is done.
        """
        slots = [max(0.0, self.expected_s(job) - elapsed) for job, elapsed in running]
        slots += [0.0] * max(0, (parallel or self.parallel) - len(slots))
        heapq.heapify(slots)
        for cost in sorted((self.expected_s(j) for j in queued), reverse=True):
            heapq.heapreplace(slots, slots[0] + cost)
        return max(slots, default=0.0)


def hms(seconds: float) -> str:
    """``1h02m`` from an hour up, else ``4m05s``."""
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
