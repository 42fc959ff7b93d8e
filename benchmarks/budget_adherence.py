"""Budget adherence: how far each adapter's fit goes past its budget, through the real harness.

    python benchmarks/budget_adherence.py [--tasks titanic,digits] [--budgets 30,60,120] [--seeds 3]
        [--adapters flaml,tpot,h2o,autokeras,autogluon,random,optuna] [--parallel 1] [--out benchmarks/out/adherence]

Runs the harness CLI (resumable: run it again to finish an interrupted benchmark), then prints one row
per adapter and budget of the runs asked for (``--also DIR`` adds the same runs from another store,
e.g. ``--also results/published`` for those the published benchmark made with the same settings):
fit / budget (median, lowest, worst), CPU use during fit (median), start-up seconds (median), runs
killed at the hard deadline, failures, and the mean test score per task (up to
``MAX_SCORED_TASKS`` tasks; the leaderboards have the rest). ``--tasks all`` with ``--no-run`` takes
every task of the stores, e.g. ``--no-run --out results/published --tasks all --budgets 30``. Targets (issue 19): median >= 0.97, worst <= 1.02, no kill.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.store import STORE_FILE, Store  # noqa: E402

ENGINES = "flaml,tpot,h2o,autokeras,autogluon"
TUNERS = "default,manual,grid,random,halving,optuna,hyperopt,skopt"
ALL_TASKS = "all"  # --tasks all: every task the stores hold (only with --no-run)
MAX_SCORED_TASKS = 4  # more tasks than this: no per-task score column (it would not fit a line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="titanic,digits")
    ap.add_argument("--budgets", default="30,60,120")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--adapters", default=f"{ENGINES},{TUNERS}")
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "adherence"))
    ap.add_argument("--no-run", action="store_true", help="only print the table from an existing store")
    ap.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="DIR",
        help="also count matching runs of the store in DIR (a run in --out wins over the same one here)",
    )
    args = ap.parse_args()
    if args.tasks == ALL_TASKS and not args.no_run:
        ap.error(
            "--tasks all reads every task of existing stores: use it with --no-run, or name the tasks to run"
        )

    if not args.no_run:
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "--task",
            args.tasks,
            "--budget",
            args.budgets,
            "--adapters",
            args.adapters,
            "--seeds",
            str(args.seeds),
            "--parallel",
            str(args.parallel),
            "--out",
            args.out,
            "--quiet",
        ]
        print("running:", " ".join(cmd[1:]), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
    stores = [Path(args.out), *(Path(d) for d in args.also)]
    wanted = (
        None if args.tasks == ALL_TASKS else set(args.tasks.split(",")),
        {float(b) for b in args.budgets.split(",")},
        set(args.adapters.split(",")),
    )
    print_table([d / STORE_FILE for d in stores if (d / STORE_FILE).exists()], wanted)


def print_table(dbs: list[Path], wanted: tuple[set[str] | None, set[float], set[str]]) -> None:
    """``wanted``: (tasks, or None for every task; budgets; adapters)."""
    tasks, budgets, adapters = wanted
    seen: dict[tuple, object] = {}
    for db in dbs:
        with Store(db) as store:
            for r in store.runs():
                key = (r.task, r.adapter, r.budget_s, r.seed, r.cores)
                if (tasks is None or r.task in tasks) and r.budget_s in budgets and r.adapter in adapters:
                    seen.setdefault(key, r)
    groups = defaultdict(list)
    for r in seen.values():
        groups[(r.adapter, r.budget_s)].append(r)
    rows = []
    for (adapter, budget), rs in sorted(groups.items()):
        ratios = [r.overrun for r in rs if r.overrun is not None]
        starts = [r.startup_s for r in rs if r.startup_s is not None]
        uses = [r.cpu_use for r in rs if r.cpu_use is not None]
        scores = defaultdict(list)
        for r in rs:
            if r.test_score is not None:
                scores[r.task].append(r.test_score)
        rows.append(
            [
                adapter,
                f"{budget:g}",
                len(rs),
                f"{statistics.median(ratios):.3f}" if ratios else "-",
                f"{min(ratios):.3f}" if ratios else "-",
                f"{max(ratios):.3f}" if ratios else "-",
                f"{statistics.median(uses):.2f}" if uses else "-",
                f"{statistics.median(starts):.1f}" if starts else "-",
                sum(r.status == "timeout" for r in rs),
                sum(r.status in ("failed", "memory") for r in rs),
                "; ".join(f"{t} {statistics.fmean(v):.4f}" for t, v in sorted(scores.items()))
                if len(scores) <= MAX_SCORED_TASKS
                else f"{len(scores)} tasks: see the leaderboards",
            ]
        )
    print(
        tabulate(
            rows,
            headers=[
                "adapter",
                "budget s",
                "runs",
                "fit/budget median",
                "lowest",
                "worst",
                "CPU use",
                "start-up s",
                "killed",
                "failed",
                "test score (mean)",
            ],
            disable_numparse=True,  # as formatted: 0.970 stays 0.970
        )
    )


if __name__ == "__main__":
    main()
