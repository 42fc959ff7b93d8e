"""What the store already holds for a command's jobs: done by fingerprint, changed data refused.

A job is done only when a run with its key and the same fingerprint (:mod:`harness.fingerprint`)
is stored; a run stored before fingerprints existed counts as done with its key, so an existing
store resumes as it did. A stored run with the same key but another fingerprint (new library
versions, another split) runs again and replaces it. When a task's data changed since runs of it
were stored, the command stops before running anything: one store never mixes two versions of a
task's data. Other settings (cores, memory limit, metric) may share a store: they are said once
and get leaderboards of their own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from harness.config import Job, RunConfig
from harness.errors import HarnessError
from harness.fingerprint import Fingerprint, adapter_versions, fingerprint, setup
from harness.store import Store
from tasks.loading import Dataset
from tasks.splits import make_split, protocol_of

log = logging.getLogger(__name__)


class Fingerprints:
    """Computes the fingerprints of a plan's jobs, each split described once per (task, seed)."""

    def __init__(self, cfg: RunConfig, datasets: dict[str, Dataset], protocols: dict[str, str]) -> None:
        self.cfg = cfg
        self.datasets = datasets
        self.protocols = protocols
        self._splits: dict[tuple[str, int], dict] = {}
        self._versions: dict[str, dict[str, str]] = {}

    def of(self, task: str, adapter: str, budget_s: float, seed: int) -> Fingerprint:
        ds = self.datasets[task]
        if (task, seed) not in self._splits:
            self._splits[(task, seed)] = make_split(ds, seed, self.cfg.folds).describe()
        if adapter not in self._versions:
            self._versions[adapter] = adapter_versions(adapter)
        settings = setup(ds.fingerprint, self.cfg.cores, self.cfg.memory_gb, ds.metric, self.protocols[task])
        return fingerprint(
            task, adapter, budget_s, seed, settings, self._splits[(task, seed)], self._versions[adapter]
        )


def is_done(job: Job, stored: dict[str, str]) -> bool:
    """Whether ``job`` has a stored run of the same fingerprint (or one from before fingerprints)."""
    fp = stored.get(job.key)
    if fp is None:
        return False
    return fp == "" or job.fingerprint is None or fp == job.fingerprint.run


def note_reruns(jobs: list[Job], stored: dict[str, str]) -> None:
    """Say once per task how many stored runs run again because their fingerprint changed."""
    by_task: dict[str, int] = defaultdict(int)
    for job in jobs:
        if job.key in stored:
            by_task[job.task] += 1
    for task, n in sorted(by_task.items()):
        log.warning(
            "%s: %d stored %s ran on other library versions or another split; running again, the new runs "
            "replace them (another --out keeps them)",
            task,
            n,
            "runs" if n > 1 else "run",
        )


def check_stored_data(
    store: Store, cfg: RunConfig, datasets: dict[str, Dataset], protocols: dict[str, str], out: Path
) -> None:
    """Stop when a task's data changed since runs of it were stored; note runs of other settings."""
    stored = store.settings()
    for task, ds in datasets.items():
        mine = [s for s in stored if s["task"] == task and protocol_of(s["split"]) == protocols[task]]
        older = [s for s in mine if s["data"] and s["data"] != ds.fingerprint]
        if older:
            n = len(older)
            raise HarnessError(
                f"the data of task {task} changed since the {n} run{'s' if n > 1 else ''} of it stored in "
                f"{out} (data fingerprint {older[-1]['data'][:12]} then, {ds.fingerprint[:12]} now); runs of two "
                "versions of the data are never mixed: run with --fresh to start a new store (the old one is "
                "kept as a backup), or give another --out to keep both"
            )
        now = {"cores": cfg.cores, "memory_gb": float(cfg.memory_gb), "metric": ds.metric}
        other = sorted(
            {
                f"{flag} {s[key]:g}" if isinstance(s[key], float) else f"{flag} {s[key]}"
                for s in mine
                for flag, key in (("--cores", "cores"), ("--memory-gb", "memory_gb"), ("--metric", "metric"))
                if s[key] != now[key]
            }
        )
        if other:
            log.warning(
                "%s: this store also holds runs with %s; runs of other settings are never averaged or paired "
                "with these: they are on leaderboards of their own",
                task,
                ", ".join(other),
            )
