"""The project's own published benchmark: every built-in adapter on suite:lite, into results/published/.

    python benchmarks/publish.py                  # run what is missing, then write every report
    python benchmarks/publish.py --report-only    # only regenerate the files from the store

The benchmark, as defined below: every tuning strategy on its default family, ``optuna:mlp`` and
the AutoML engines, on the 28 real tasks of ``suite:lite`` and boston at 30 s, and titanic at 120 s;
3 seeds, 1 core per run, 2 runs at a time (a 2-core machine). It runs the harness CLI once per part;
the store resumes, so an interrupted benchmark is finished by running the same command again. A
task that cannot be loaded here (a missing ``lite`` extra, an OpenML data set without network and
without a cached copy) is left out with one line saying why, and recorded in the provenance.

The store (``harness.db``) is kept next to the reports and, after each part, copied compressed to
``harness.db.gz`` there: the raw data readers ask for, committed with the reports, and what a fresh
clone resumes from (it is restored when the store itself is missing).

Afterwards it writes the harness reports (leaderboards, plots, summary.md, runs.csv, HTML) into
``results/published/`` (the rest of ``results/`` is the default output of your own runs), removes
the report folders of tasks the store no longer holds, writes ``provenance.md`` there (commands,
dates, machine, versions) and the headline of the summary into README.md between its ``results``
markers.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import importlib.metadata as md
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from harness.store import RunRecord

ADAPTERS = (
    "default,manual,grid,random,halving,optuna,hyperopt,skopt,optuna:mlp,flaml,tpot,h2o,autokeras,autogluon"
)
SUITE = "lite"  # the real tasks that load offline (tasks.lite)
EXTRA_TASKS = ("boston",)  # the former benchmark's regression task, also offline
LONG_TASK, LONG_BUDGET = "titanic", 120  # the budget the former benchmark also had


def parts() -> tuple[tuple[tuple[str, ...], int], ...]:
    """(tasks, budget) of each harness command, in the order they run."""
    from tasks.registry import SUITES

    return ((SUITES[SUITE] + EXTRA_TASKS, 30), ((LONG_TASK,), LONG_BUDGET))


SEEDS, CORES, PARALLEL = 3, 1, 2
OUT = ROOT / "results" / "published"
PACKAGES = (
    "numpy", "pandas", "scikit-learn", "lightgbm", "torch", "optuna", "hyperopt", "scikit-optimize",
    "flaml", "tpot", "h2o", "autokeras", "keras", "dask", "autogluon.tabular", "catboost", "xgboost",
)  # fmt: skip
START, END = "<!-- results:start -->", "<!-- results:end -->"
ARCHIVE_SUFFIX = ".gz"  # the store's compressed copy: <store file>.gz
ARCHIVE_WARN_MB = 20.0  # above this the copy is too large to commit: say so


def loadable(task: str) -> str | None:
    """Why ``task`` cannot be loaded here (None when it can); may download it into the cache."""
    from harness.errors import HarnessError
    from tasks.loading import load_dataset
    from tasks.registry import get_task

    try:
        load_dataset(get_task(task))
    except HarnessError as exc:
        return str(exc)
    return None


def harness_cmd(tasks: list[str], budget: int, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "harness", "--task", ",".join(tasks), "--budget", str(budget),
        "--adapters", ADAPTERS, "--seeds", str(SEEDS), "--cores", str(CORES),
        "--parallel", str(PARALLEL), "--out", str(out),
    ]  # fmt: skip


def shown(cmd: list[str]) -> str:
    return "python " + " ".join(cmd[1:]).replace(str(ROOT) + os.sep, "")


def machine() -> dict[str, str]:
    """The machine writing the report (the runs record their own: :func:`machines_lines`)."""
    from harness import machine as this

    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
        java = java.splitlines()[0] if java else "not found"
    except (OSError, subprocess.TimeoutExpired):
        java = "not found"
    return {
        "machine": this.label(this.describe()),
        "os": platform.platform(),
        "python": platform.python_version(),
        "java": java,
    }


def installed_versions() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "not installed"
    return out


def recorded_versions(runs: list[RunRecord]) -> dict[str, str]:
    """The library versions the runs recorded when they ran (several, if they changed between runs)."""
    seen: dict[str, set[str]] = {}
    for r in runs:
        for lib, v in r.versions.items():
            seen.setdefault(lib, set()).add(v)
    return {lib: " and ".join(sorted(vs)) for lib, vs in sorted(seen.items())}


def run_dates(runs: list[RunRecord]) -> tuple[str, str] | None:
    dates = sorted(r.started_at for r in runs if r.started_at)
    return (dates[0], dates[-1]) if dates else None


def git_commit() -> str:
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "harness", "adapters", "tasks"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()  # fmt: skip
        return r.stdout.strip() + (" (with local changes)" if dirty else "")
    except OSError:
        return "unknown"


def provenance(
    commands: list[str], left_out: dict[str, str], runs: list[RunRecord], m: dict[str, str]
) -> str:
    dates = run_dates(runs)
    recorded = recorded_versions(runs)
    others = {k: v for k, v in installed_versions().items() if k not in recorded}
    lines = ["# How these results were made", ""]
    lines += ["- regenerate: `python benchmarks/publish.py` (resumable; `--report-only` re-renders)"]
    lines += ["- the commands it runs:", ""] + [f"  - `{c}`" for c in commands] + [""]
    if dates:
        lines += [f"- runs from {dates[0][:16]} to {dates[1][:16]} (UTC), {len(runs)} runs"]
    lines += [f"- code: commit {git_commit()} (when the report was written)"]
    for task, why in left_out.items():
        lines += [f"- left out: {task} ({why})"]
    lines += ["", "## Machines", ""] + machines_lines(runs)
    lines += ["", "Where the report was written:", ""] + [f"- {k}: {v}" for k, v in m.items()]
    lines += [
        "",
        "## Versions",
        "",
        "Recorded by the runs themselves (each adapter records what it used):",
        "",
    ]
    lines += [f"- {k} {v}" for k, v in recorded.items()] or ["- (no runs)"]
    lines += ["", "Installed when the report was written (not recorded per run):", ""]
    lines += [f"- {k} {v}" for k, v in others.items()]
    return "\n".join(lines) + "\n"


def machines_lines(runs: list[RunRecord]) -> list[str]:
    """The machines the runs recorded, with their runs, and the tasks whose runs span more than one."""
    from harness import machine

    lines = [f"- {name}: {n} runs" for name, n in machine.tally(r.task_info for r in runs)]
    per_task: dict[str, set[str]] = {}
    for r in runs:
        per_task.setdefault(r.task, set()).add(machine.label(machine.of_run(r.task_info)))
    mixed = sorted(t for t, names in per_task.items() if len(names) > 1)
    if mixed:
        lines += [
            "",
            f"Tasks whose runs span more than one machine (a budget buys different work on each): "
            f"{', '.join(mixed)}",
        ]
    return lines or ["- (no runs)"]


def made_on(runs: list[RunRecord]) -> str:
    """The machine of the README's headline: the one the runs ran on, or how many there were."""
    from harness import machine

    machines = machine.tally(r.task_info for r in runs)
    return machines[0][0] if len(machines) == 1 else f"{len(machines)} machines"


def headline(summary: Path) -> str:
    """The README's headline, from summary.md: the answer, then for the first budget the ranking table,
    the critical-difference diagram (and the other plots across tasks), the ranking with Elo and its
    intervals, and the win-rate matrix."""
    from harness.report.crosstext import WINRATE_CAPTION

    text = summary.read_text()
    answer = re.search(r"## The answer\n\n(.*?)\n\n", text, re.S)
    table = re.search(r"(## Budget [^\n]+\n\n(?:\|[^\n]*\n)+)", text)
    parts = [answer.group(1)] if answer else []
    parts += [table.group(1).replace("## ", "#### ", 1).rstrip()] if table else []
    across = re.search(r"### (Across tasks at [^\n]+)\n(.*?)(?=\n## |\n### |\Z)", text, re.S)
    if across:
        body = across.group(2)
        parts.append(f"#### {across.group(1)}")
        parts += [f"{m.group(0)}" for m in re.finditer(r"!\[[^\]]*\]\([^)]+\)", body)]
        tables = re.findall(r"((?:^\|[^\n]*\n)+)", body, re.M)
        ranking = next((t for t in tables if "Elo" in t.splitlines()[0]), None)
        matrix = next((t for t in tables if "| vs " in t.splitlines()[0]), None)
        parts += [ranking.rstrip()] if ranking else []
        if matrix:
            parts += [
                WINRATE_CAPTION,
                matrix.rstrip(),
            ]
    return "\n\n".join(parts)


def archive_path(out: Path) -> Path:
    from harness.store import STORE_FILE

    return out / (STORE_FILE + ARCHIVE_SUFFIX)


def restore_store(out: Path) -> bool:
    """Unpack the committed copy of the store when the store itself is missing (a fresh clone)."""
    from harness.store import STORE_FILE

    db, archive = out / STORE_FILE, archive_path(out)
    if db.exists() or not archive.exists():
        return False
    out.mkdir(parents=True, exist_ok=True)
    part = db.with_name(db.name + ".restoring")
    with gzip.open(archive, "rb") as src, part.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    part.replace(db)
    print(f"publish: restored the store from {archive.name} ({db.stat().st_size / 2**20:.1f} MB)", flush=True)
    return True


def archive_store(out: Path) -> Path | None:
    """Copy the store, consistently (SQLite's backup), into its compressed archive next to it."""
    from harness.store import STORE_FILE

    db, archive = out / STORE_FILE, archive_path(out)
    if not db.exists():
        return None
    snapshot = out / (STORE_FILE + ".snapshot")
    snapshot.unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(db)) as src, contextlib.closing(sqlite3.connect(snapshot)) as dst:
        src.backup(dst)
    part = archive.with_name(archive.name + ".part")
    with snapshot.open("rb") as f, gzip.GzipFile(part, "wb", compresslevel=9, mtime=0) as z:
        shutil.copyfileobj(f, z)
    snapshot.unlink()
    part.replace(archive)
    mb = archive.stat().st_size / 2**20
    note = (
        f"; over {ARCHIVE_WARN_MB:g} MB: too large to commit, keep it elsewhere"
        if mb > ARCHIVE_WARN_MB
        else ""
    )
    print(f"publish: copied the store to {archive.relative_to(out.parent)} ({mb:.1f} MB){note}", flush=True)
    return archive


def remove_stale_reports(out: Path, tasks: set[str]) -> list[str]:
    """Remove the report folders (those with a leaderboard.md) of tasks the store does not hold."""
    from harness.report.files import task_dir_name

    keep = {task_dir_name(t) for t in tasks}
    removed = []
    for d in sorted(out.iterdir()):
        if d.is_dir() and d.name not in keep and (d / "leaderboard.md").is_file():
            shutil.rmtree(d)
            removed.append(d.name)
    return removed


def update_readme(readme: Path, block: str) -> None:
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"publish: {readme} has no {START} ... {END} block; add the two markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{block}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out", type=Path, default=OUT, help="where the store and the reports go (results/published/)"
    )
    ap.add_argument("--report-only", action="store_true", help="do not run; regenerate the files")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md", help="README to put the headline in")
    args = ap.parse_args(argv)
    out = args.out.resolve()

    left_out: dict[str, str] = {}
    commands: list[str] = []
    restore_store(out)  # a fresh clone has only the archive, for a run or a report alike
    for tasks, budget in parts():
        keep = []
        for t in tasks:
            why = left_out.get(t) if t in left_out else loadable(t)
            if why:
                left_out[t] = why
                print(f"publish: leaving out {t}: {why}", flush=True)
            else:
                keep.append(t)
        cmd = harness_cmd(keep, budget, out)
        commands.append(shown(cmd))
        if not args.report_only:
            print("publish: running", shown(cmd), flush=True)
            rc = subprocess.run(cmd, cwd=ROOT).returncode
            archive_store(out)
            if rc != 0:
                print(f"publish: the harness exited with {rc}; run the same command again to resume")
                return rc
    report = [sys.executable, "-m", "harness", "report", "--out", str(out)]
    if subprocess.run(report, cwd=ROOT).returncode != 0:
        return 1
    from harness.store import STORE_FILE, Store

    with Store(out / STORE_FILE) as store:
        runs = store.runs()
    stale = remove_stale_reports(out, {r.task for r in runs})
    if stale:
        print(f"publish: removed the reports of tasks no longer in the store: {', '.join(stale)}", flush=True)
    m = machine()  # once: it runs `java -version`
    (out / "provenance.md").write_text(provenance(commands, left_out, runs, m))
    dates = run_dates(runs)
    first, last = (dates[0][:10], dates[1][:10]) if dates else (dt.date.today().isoformat(),) * 2
    made = first if first == last else f"{first} to {last}"
    libs = ", ".join(f"{k} {v}" for k, v in recorded_versions(runs).items() if k != "java") or "no runs"
    block = "\n".join(
        [
            f"Run {made} with `python benchmarks/publish.py` on {made_on(runs)}, "
            f"Python {m['python']}, {libs} (all versions, the commands and the machines in "
            f"[provenance](results/published/provenance.md)); full tables in "
            f"[results/published/summary.md](results/published/summary.md).",
            "",
            headline(out / "summary.md").replace("](", "](results/published/"),
        ]
    )
    update_readme(args.readme, block)
    print(f"publish: wrote {out}/summary.md, provenance.md and the README headline", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
