"""Files written from the store after every run command and by ``harness report``.

``<out>/runs.csv``; per task ``<out>/<task>/leaderboard.md``, ``report.html`` (self-contained) and
``plots/*.png``; across tasks ``<out>/summary.md``, ``<out>/index.html`` and
``<out>/summary-plots/*.png`` (the critical-difference diagram and win-rate matrix of each budget).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import logging
import os
import re
import time
from pathlib import Path

from harness import fingerprint, leakage, machine
from harness.report import crossplots
from harness.report.analysis import Plot, TaskAnalysis
from harness.report.crosstask import CrossTask, cross_task, tops
from harness.report.crosstext import plain
from harness.report.html import index_page, task_page
from harness.report.impute import DEFAULT_POLICY
from harness.report.leaderboard import Board, build_boards
from harness.report.markdown import task_markdown
from harness.report.summary import BudgetSummary, summarise, summary_markdown
from harness.report.task import analyse, render_plots
from harness.store import RunRecord, Store
from harness.timing import phase
from tasks.splits import protocol_of

log = logging.getLogger(__name__)

PLOTS_DIR = "plots"
SUMMARY_PLOTS_DIR = "summary-plots"  # beside the task folders; a task would need this very name to clash
KEY_FILE = ".report-key"  # what the task's files were rendered from

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
CSV_SPLIT = ["protocol", "fold"]  # last: the columns before them keep their places
# CPU use during fit (harness.execution.cpu_use), after the fingerprints: every column before keeps its place
CSV_CPU = ["fit_cpu_s", "cpu_use", "cpu_method", "energy_j"]


def task_dir_name(task: str) -> str:
    """A file-system-safe folder name for a task (``openml:31`` -> ``openml-31``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", task).strip("-")[:80] or "task"


def write_runs_csv(runs: list[RunRecord], path: Path) -> None:
    metrics = sorted({m for r in runs for m in r.metrics})
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS + metrics + CSV_TAIL + CSV_SPLIT + list(fingerprint.COLUMNS) + CSV_CPU)
        for r in runs:
            w.writerow(
                [getattr(r, c) for c in CSV_COLUMNS]
                + [r.metrics.get(m) for m in metrics]
                + [getattr(r, c) for c in CSV_TAIL]
                + [protocol_of(r.split), r.split.get("fold")]
                + fingerprint.columns(r)  # what each run ran on (harness.fingerprint)
                + [getattr(r, c) for c in CSV_CPU]
            )
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """A digest of the code that renders reports: a changed renderer re-renders every task."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()


def task_key(runs: list[RunRecord]) -> str:
    """What a task's report depends on: its runs (and their trials) and the rendering code."""
    h = hashlib.sha256(_code_digest().encode())
    for r in sorted(runs, key=lambda r: (r.id or 0, r.job_key)):
        h.update(
            repr((r.id, r.job_key, r.status, r.ended_at, r.test_score, r.valid_score, len(r.trials))).encode()
        )
    return h.hexdigest()


def _up_to_date(d: Path, key: str, files: list[Path]) -> bool:
    """Whether ``d``'s files were rendered from ``key`` and are all there."""
    try:
        fresh = (d / KEY_FILE).read_text(encoding="utf-8").strip() == key
    except OSError:
        return False
    return fresh and all(f.exists() for f in files)


def render_summary_plots(summaries: list[BudgetSummary], folder: Path, key: str | None = None) -> list[Plot]:
    """The CD diagram and win-rate matrix of every budget with a comparison (stale PNGs removed).

    With ``key`` (what the summaries were computed from), PNGs drawn from the same key are kept, not
    drawn again: the tasks' own files follow the same rule.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Plot] = []
    todo: list[tuple[BudgetSummary, CrossTask, Path, Path]] = []
    for s in summaries:
        ct = s.cross
        if ct is None or len(ct.adapters) < 2 or len(ct.tasks) < 2:
            continue
        stem = f"{s.budget_s:g}s"
        todo.append((s, ct, folder / f"cd-{stem}.png", folder / f"winrate-{stem}.png"))
    files = [p for _, _, cd, wr in todo for p in (cd, wr)]
    redraw = key is None or not _up_to_date(folder, key, files)
    for s, ct, cd, wr in todo:
        if redraw:
            crossplots.cd_diagram(ct, cd)
            crossplots.winrate_matrix(ct, wr)
        s.plots = [
            Plot("cd", cd, f"Critical-difference diagram at {s.budget_s:g} s: average rank over tasks."),
            Plot("winrate", wr, f"Win rate of each adapter against each other at {s.budget_s:g} s."),
        ]
        out += s.plots
    keep = {p.path.name for p in out}
    for old in folder.glob("*.png"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    if redraw and key is not None and todo:
        _write_text(folder / KEY_FILE, key + "\n")
    return out


def across_tasks_text(store: Store, impute: str = DEFAULT_POLICY) -> str:
    """The statistics across tasks of every budget as plain text (for ``python -m harness report``)."""
    by_budget: dict[float, list[Board]] = {}
    for b in build_boards(store.runs()):
        by_budget.setdefault(b.budget_s, []).append(b)
    return plain([(cross_task(t, bs, impute), tops(t, bs)) for t, bs in sorted(by_budget.items())])


def warm_up() -> None:
    """Load what writing reports needs and draw an empty plot (matplotlib, its font cache, optuna's
    fANOVA), so that reports written later start at once: the runner calls it in a thread while the
    jobs run."""
    from harness.report import importance, plots

    importance.warm_up()
    plots.warm_up()


def write_reports(store: Store, out: Path, force: bool = False, impute: str = DEFAULT_POLICY) -> list[Path]:
    """Write runs.csv, every task's leaderboard.md, plots and report.html, summary.md and index.html.

    Everything is read from the store. A task whose runs (and the rendering code) did not change
    since its files were written is not re-rendered unless ``force``. ``impute`` is the policy that
    scores failed runs across tasks (:mod:`harness.report.impute`). Returns the leaderboards, then
    summary.md and index.html.
    """
    t0 = time.perf_counter()
    with phase("reports.read"):
        runs = store.runs(with_trials=True)
    out.mkdir(parents=True, exist_ok=True)
    with phase("reports.csv"):
        write_runs_csv(runs, out / "runs.csv")
    paths: list[Path] = []
    analyses: list[TaskAnalysis] = []
    rendered = 0
    keys = hashlib.sha256(impute.encode())  # what the summary's plots are drawn from: every task's key
    for task in store.tasks():
        task_runs = [r for r in runs if r.task == task]
        d = out / task_dir_name(task)
        d.mkdir(parents=True, exist_ok=True)
        key = task_key(task_runs)
        keys.update(key.encode())
        if not force and _up_to_date(d, key, [d / "leaderboard.md", d / "report.html"]):
            analyses.append(analyse(task, task_runs, deep=False))
            paths.append(d / "leaderboard.md")
            continue
        with phase("reports.analyse"):
            a = analyse(task, task_runs)
        with phase("reports.plots"):
            render_plots(a, d / PLOTS_DIR)
        with phase("reports.markdown"):
            paths.append(_write_text(d / "leaderboard.md", task_markdown(task, task_runs, a, d)))
        with phase("reports.html"):
            _write_text(d / "report.html", task_page(a))
        _write_text(d / KEY_FILE, key + "\n")
        analyses.append(a)
        rendered += 1
    with phase("reports.summary"):
        summaries = summarise([b for a in analyses for b in a.boards], impute)
    with phase("reports.plots"):
        render_summary_plots(summaries, out / SUMMARY_PLOTS_DIR, None if force else keys.hexdigest())
    links = {a.task: f"{task_dir_name(a.task)}/leaderboard.md" for a in analyses}
    leaks = "\n".join(leakage.summary_lines(runs))  # runs whose test beats their valid by more than noise
    machines = machine.sentence(r.task_info for r in runs)
    paths.append(_write_text(out / "summary.md", summary_markdown(summaries, links, out, machines) + leaks))
    index = [
        (a.task, f"{task_dir_name(a.task)}/report.html", a.insights[0] if a.insights else "")
        for a in analyses
    ]
    paths.append(_write_text(out / "index.html", index_page(summaries, index)))
    log.info(
        "reports written in %.1f s (%d of %d tasks re-rendered)",
        time.perf_counter() - t0,
        rendered,
        len(analyses),
    )
    return paths
