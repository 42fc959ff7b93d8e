"""The harness's own cost outside the adapters' fit: per run (in-process), or of a whole CLI command.

    python benchmarks/overhead.py [--runs 10] [--task breast_cancer] [--adapter default]
    python benchmarks/overhead.py --cli [--repeats 3] [-- --task titanic --budget 5 --adapters default,random]

Per run (the default): the runner is called in-process, once per run; prints the wall seconds of
each job, its fit and start-up seconds, and the overhead outside fit, and times a bare
``python -c "import <libs>"`` so the import share of start-up is visible.

``--cli``: runs the whole command ``python -m harness ARGS --out <fresh dir> --debug`` (both commands
of the issue unless ARGS are given), subtracts the jobs' fit, start-up and predict seconds and any
wait for cores other commands held (from the store it wrote) from its wall time, and breaks the rest down by the driver's phases
(:mod:`harness.timing`): the interpreter and the driver's imports, data loading, planning, the
split files, SQLite, scoring, the child processes' own start outside their start-up seconds, the
reports, and printing. Prints the load average next to every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.timing import MARK  # noqa: E402

# The commands of issue 19, with what they cost outside their jobs before the lean driver as the issue
# measured it (seconds, on this machine half loaded); benchmarks/README.md has old and new run in turns.
COMMANDS = {
    "titanic, default + random, 5 s": ("--task titanic --budget 5 --adapters default,random", "3.1 to 3.3"),
    "wine, default, 1 s": ("--task wine --budget 1 --adapters default", "2.0 to 2.2"),
}
GOAL_S = 1.5  # the driver's cost beyond the jobs' fit and start-up, on a quiet machine
# Where the time outside the jobs goes: (label, phases of harness.timing summed), in command order.
BREAKDOWN = [
    ("interpreter + imports before main", ()),  # from the spawn to the first phase
    ("imports of the driver", ("imports",)),
    ("sweep of dead commands' temp dirs", ("sweep",)),
    ("adapters (entry points, checks)", ("adapters",)),
    ("data loading + cleaning", ("data",)),
    ("planning (fingerprints, resume)", ("plan",)),
    ("split files for the children", ("prepare",)),
    ("SQLite (check, open, one commit per run)", ("store", "commit")),
    ("scoring", ("score",)),
    ("children: boot + hand-off outside start-up", ()),  # jobs less their timed parts
    ("reports: read the store, runs.csv", ("reports.read", "reports.csv")),
    ("reports: analysis, leaderboard.md", ("reports.analyse", "reports.markdown", "reports.summary")),
    ("reports: plots (PNG)", ("reports.plots",)),
    ("reports: HTML", ("reports.html",)),
    ("reports: imports + the rest", ()),  # reports less its sub-phases
    ("print the leaderboards", ("print",)),
]


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def import_seconds(mods: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", f"import {mods}"], check=True)
        times.append(time.monotonic() - t)
    return statistics.median(times)


def per_run(args: argparse.Namespace) -> None:
    from harness.config import Job, RunConfig
    from harness.prepare import cleanup, prepare
    from harness.runner import run_job
    from harness.store import STORE_FILE, Store
    from tasks.loading import load_dataset
    from tasks.registry import get_task

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        cfg = RunConfig(tasks=(args.task,), budgets=(10.0,), adapters=(args.adapter,), out=out)
        ds = load_dataset(get_task(args.task))
        prep = prepare(ds, 0, out)
        store = Store(out / STORE_FILE)
        rows = []
        try:
            for i in range(args.runs):
                job = Job(args.task, args.adapter, 0, 10.0 + i * 1e-6, 1, cfg.memory_gb, ds.fingerprint)
                t = time.monotonic()
                rec = run_job(job, prep, cfg, out)
                store.add_run(rec)
                total = time.monotonic() - t
                assert rec.status == "ok", rec.reason
                fit = rec.fit_s or 0.0
                rows.append((total, fit, rec.startup_s or 0.0, rec.predict_s or 0.0, total - fit))
                print(
                    f"run {i + 1:2d}: wall {total:6.3f} s  fit {fit:6.3f} s  start-up {rows[-1][2]:6.3f} s  "
                    f"predict {rows[-1][3]:6.3f} s  outside fit {rows[-1][4]:6.3f} s  ({load()})"
                )
        finally:
            store.close()
            cleanup(prep)
    med = [statistics.median(c) for c in zip(*rows, strict=True)]
    imp = import_seconds("numpy, pandas, pyarrow, lightgbm, sklearn.ensemble, sklearn.compose")
    bare = import_seconds("sys")
    print()
    print(f"median over {args.runs} runs of '{args.adapter}' on {args.task} ({load()}):")
    print(f"  wall per run            {med[0]:.3f} s")
    print(f"  fit                     {med[1]:.3f} s")
    print(f"  start-up in the child   {med[2]:.3f} s   (interpreter + imports + data load)")
    print(f"  outside fit (overhead)  {med[4]:.3f} s")
    print(f"  import of the adapter's libraries in a bare process: {imp:.3f} s (python itself: {bare:.3f} s)")
    print(f"  overhead minus library imports: {med[4] - imp:.3f} s   (target: under 1 s)")


def job_seconds(db: Path) -> tuple[float, float, int]:
    """Over the runs in the store: the jobs' fit + start-up + predict seconds, the seconds they waited
    for cores other commands held (not the driver's cost either), and the number of runs."""
    jobs = waited = 0.0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT fit_s, startup_s, predict_s, task_info FROM runs").fetchall()
    for fit, startup, predict, info in rows:
        jobs += (fit or 0.0) + (startup or 0.0) + (predict or 0.0)
        waited += float(json.loads(info or "{}").get("exec", {}).get("waited_for_cores_s") or 0.0)
    return jobs, waited, len(rows)


def phases(stderr: str) -> tuple[dict[str, float], float]:
    """Seconds per phase name (summed) and the start of the first phase, from the command's log."""
    spent: dict[str, float] = defaultdict(float)
    first = float("inf")
    for line in stderr.splitlines():
        words = line.split()
        if len(words) == 6 and words[2] == MARK:  # "D harness.timing: phase NAME START END"
            start, end = float(words[4]), float(words[5])
            spent[words[3]] += end - start
            first = min(first, start)
    return spent, first


def time_command(cli_args: list[str]) -> tuple[float, float, dict[str, float], str]:
    """One run of the command in a fresh output directory: its wall, the jobs' seconds, its breakdown."""
    from harness.store import STORE_FILE

    with tempfile.TemporaryDirectory(prefix="overhead-cli-") as tmp:
        cmd = [sys.executable, "-m", "harness", *cli_args, "--out", tmp, "--debug"]
        before = load()
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.time() - t0
        if proc.returncode != 0:
            sys.exit(f"overhead: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
        jobs, waited, n_runs = job_seconds(Path(tmp) / STORE_FILE)
    spent, first = phases(proc.stderr)
    parts = {label: sum(spent.get(p, 0.0) for p in names) for label, names in BREAKDOWN}
    parts["interpreter + imports before main"] = first - t0
    parts["children: boot + hand-off outside start-up"] = (
        spent["jobs"] - spent["score"] - spent["commit"] - jobs - waited
    )
    inner = sum(spent.get(p, 0.0) for p in spent if p.startswith("reports."))
    parts["reports: imports + the rest"] = spent["reports"] - inner
    parts["unaccounted"] = wall - jobs - waited - sum(parts.values())
    return wall, jobs + waited, parts, f"{before} -> {load()}, {n_runs} runs, {waited:.1f} s waited for cores"


def whole_command(args: argparse.Namespace) -> None:
    commands = {"given": (" ".join(args.args), "-")} if args.args else dict(COMMANDS)
    for name, (cli, old) in commands.items():
        results = []
        print(f"python -m harness {cli} --out <fresh dir> --debug  ({name})")
        for i in range(args.repeats):
            wall, jobs, parts, where = time_command(cli.split())
            results.append((wall, jobs, parts))
            print(
                f"  run {i + 1}: wall {wall:6.2f} s, jobs {jobs:6.2f} s, outside them {wall - jobs:5.2f} s ({where})"
            )
        outside = [w - j for w, j, _ in results]
        print(
            f"  outside the jobs' fit + start-up + predict: median {statistics.median(outside):.2f} s, "
            f"{min(outside):.2f} to {max(outside):.2f} s; before: {old} s; goal <= {GOAL_S:g} s"
        )
        print("  where it goes (median over runs):")
        for label in [lbl for lbl, _ in BREAKDOWN] + ["unaccounted"]:
            print(f"    {label:45s} {statistics.median(p[label] for _, _, p in results):6.3f} s")
        print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--task", default="breast_cancer")
    ap.add_argument("--adapter", default="default")
    ap.add_argument("--cli", action="store_true", help="time whole `python -m harness` commands")
    ap.add_argument("--repeats", type=int, default=3, help="with --cli: runs of each command")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="with --cli: the command's arguments, after --")
    args = ap.parse_args()
    args.args = [a for a in args.args if a != "--"]
    if args.cli:
        whole_command(args)
    else:
        per_run(args)


if __name__ == "__main__":
    main()
