"""Files written from the store after every run command and by ``harness report``."""

from __future__ import annotations

import csv
import logging
import os
import re
from pathlib import Path

from harness.leaderboard import leaderboard_markdown
from harness.store import RunRecord, Store

log = logging.getLogger(__name__)

CSV_COLUMNS = [
    "task",
    "adapter",
    "seed",
    "budget_s",
    "status",
    "fit_s",
    "overrun",
    "metric",
    "test_score",
    "n_trials",
]
CSV_TAIL = ["valid_score", "startup_s", "predict_s", "cpu_s", "peak_mem_mb", "cores", "memory_gb", "reason"]


def task_dir_name(task: str) -> str:
    """A file-system-safe folder name for a task (``openml:31`` -> ``openml-31``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", task).strip("-")[:80] or "task"


def write_runs_csv(runs: list[RunRecord], path: Path) -> None:
    metrics = sorted({m for r in runs for m in r.metrics})
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS + metrics + CSV_TAIL)
        for r in runs:
            w.writerow(
                [getattr(r, c) for c in CSV_COLUMNS]
                + [r.metrics.get(m) for m in metrics]
                + [getattr(r, c) for c in CSV_TAIL]
            )
    os.replace(tmp, path)


def write_reports(store: Store, out: Path) -> list[Path]:
    """Write ``runs.csv`` and every task's ``leaderboard.md``; return the leaderboard paths."""
    runs = store.runs()
    write_runs_csv(runs, out / "runs.csv")
    paths = []
    for task in store.tasks():
        task_runs = [r for r in runs if r.task == task]
        d = out / task_dir_name(task)
        d.mkdir(parents=True, exist_ok=True)
        p = d / "leaderboard.md"
        tmp = p.with_suffix(".md.tmp")
        tmp.write_text(leaderboard_markdown(task, task_runs), encoding="utf-8")
        os.replace(tmp, p)
        paths.append(p)
    return paths
