"""Benchmark of the tuning strategies: every strategy on gbm and mlp for breast_cancer, titanic and
digits, 60 s budget, 3 seeds, through the harness CLI.

    python benchmarks/tuners.py                 # the full benchmark (8 x 2 x 3 x 3 runs of 60 s: hours)
    python benchmarks/tuners.py --quick         # a few minutes: 10 s budget, 1 seed, breast_cancer only

It runs ``python -m harness --task T --budget B --adapters ... --seeds S --out DIR`` per task, then
reads ``DIR/runs.csv`` (run level) and the trials in ``DIR/harness.db`` and writes
``DIR/tuners.md``: per adapter the mean test score, the number of trials, and how the budget was
used (fit seconds over budget, the share of the budget spent inside trials, runs killed, runs whose
search was exhausted); then per family the fit / budget against the goals of ``GOALS``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path

import pandas as pd
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # harness.store, also without an installed copy

log = logging.getLogger("benchmarks.tuners")

STRATEGIES = ("default", "manual", "grid", "random", "halving", "optuna", "hyperopt", "skopt")
# fit / budget: the median per family at least, no run whose search was not exhausted below, none above
GOAL_MEDIAN, GOAL_LOWEST, GOAL_WORST = 0.97, 0.90, 1.02
GOALS = (
    f"median fit / budget >= {GOAL_MEDIAN}, no run below {GOAL_LOWEST} unless its search was exhausted, "
    f"worst <= {GOAL_WORST}, none killed"
)
FAMILIES = ("gbm", "mlp")
TASKS = ("breast_cancer", "titanic", "digits")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="benchmarks/out/tuners", help="output directory of the harness run")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--cores", type=int, default=1)
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="10 s budget, 1 seed, breast_cancer only")
    p.add_argument("--summary-only", action="store_true", help="do not run; summarise what DIR holds")
    args = p.parse_args(argv)
    if args.quick:
        args.budget, args.seeds, args.tasks = 10.0, 1, "breast_cancer"
    return args


def adapter_names(strategies: list[str], families: list[str]) -> list[str]:
    return [f"{s}:{f}" for s in strategies for f in families]


def run_harness(task: str, adapters: list[str], args: argparse.Namespace) -> None:
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "--task",
        task,
        "--budget",
        f"{args.budget:g}",
        "--adapters",
        ",".join(adapters),
        "--seeds",
        str(args.seeds),
        "--cores",
        str(args.cores),
        "--parallel",
        str(args.parallel),
        "--out",
        args.out,
        "--quiet",
    ]
    log.info("running: %s", " ".join(cmd))
    subprocess.run(cmd, check=False)  # a failed run is a row in the store; keep going with the next task


def trial_stats(db: Path) -> pd.DataFrame:
    """Per run: trials ok/failed/pruned, seconds spent inside trials, elapsed at the last trial."""
    from adapters.base import SEARCH_EXHAUSTED
    from harness.store import Store
    from tasks.metrics import METRICS

    rows = []
    with Store(db) as store:
        for run in store.runs(with_trials=True):
            trials = run.trials
            better = METRICS[run.metric].greater_is_better if run.metric in METRICS else True
            anytime = {
                f"valid@{int(q * 100)}%": best_by(trials, q * run.budget_s, better) for q in (0.25, 0.5, 1.0)
            }
            rows.append(
                {
                    "task": run.task,
                    "adapter": run.adapter,
                    "seed": run.seed,
                    "trials_ok": sum(t["status"] == "ok" for t in trials),
                    "trials_failed": sum(t["status"] == "failed" for t in trials),
                    "trials_pruned": sum(t["status"] == "pruned" for t in trials),
                    "trial_s": sum(t["fit_s"] or 0.0 for t in trials),
                    "last_trial_s": max((t["elapsed_s"] or 0.0 for t in trials), default=0.0),
                    "exhausted": bool(run.best_config.get(SEARCH_EXHAUSTED, False)),
                    **anytime,
                }
            )
    return pd.DataFrame(rows)


def best_by(trials: list[dict], seconds: float, better: bool) -> float | None:
    """The best valid score among trials that had ended ``seconds`` after the start of fit."""
    scores = [
        t["valid_score"]
        for t in trials
        if t["status"] == "ok" and t["valid_score"] is not None and (t["elapsed_s"] or 0.0) <= seconds
    ]
    if not scores:
        return None
    return max(scores) if better else min(scores)


def summarise(out: Path, budget: float) -> str:
    from harness.store import STORE_FILE

    runs = pd.read_csv(out / "runs.csv")
    trials = trial_stats(out / STORE_FILE)
    df = runs.merge(trials, on=["task", "adapter", "seed"], how="left")
    df["killed"] = df["status"].isin(["timeout", "memory"])
    df["in_trials"] = df["trial_s"] / df["budget_s"]
    table = (
        df.groupby(["task", "adapter"])
        .agg(
            runs=("seed", "size"),
            ok=("status", lambda s: int((s == "ok").sum())),
            killed=("killed", "sum"),
            test=("test_score", "mean"),
            test_sd=("test_score", "std"),
            valid=("valid_score", "mean"),
            trials=("trials_ok", "mean"),
            failed=("trials_failed", "mean"),
            pruned=("trials_pruned", "mean"),
            fit_budget=("overrun", "median"),
            overrun_max=("overrun", "max"),
            valid_25=("valid@25%", "mean"),
            valid_50=("valid@50%", "mean"),
            valid_100=("valid@100%", "mean"),
            in_trials=("in_trials", "mean"),
            exhausted=("exhausted", "sum"),
        )
        .reset_index()
        .sort_values(["task", "test"], ascending=[True, False])
    )
    metric = ", ".join(sorted(runs["metric"].dropna().unique()))
    text = (
        f"# Tuning strategies, budget {budget:g} s (test metric: {metric})\n\n"
        "`fit_budget` is the median fit seconds / budget, `overrun_max` the largest; `in_trials` the mean share of the budget spent "
        "inside trials; `killed` runs hit the hard deadline; `valid_25/50/100`: the best valid score found "
        "within 25 %, 50 % and 100 % of the budget (mean over seeds).\n\n"
        + tabulate(table, headers="keys", tablefmt="github", showindex=False, floatfmt=".3f")
        + "\n\n"
        + family_table(df)
    )
    (out / "tuners.md").write_text(text, encoding="utf-8")
    return text


def family_table(df: pd.DataFrame) -> str:
    """fit / budget per model family against ``GOALS``; ``exhausted`` runs (the strategy had nothing more
    to try: ``default``, a finished hand-picked list or grid) may end early by design."""
    rows = []
    for family, runs in df.groupby(df["adapter"].str.split(":").str[-1]):
        searching = runs[~runs["exhausted"].fillna(False).astype(bool)]
        lowest = searching.loc[searching["overrun"].idxmin()] if len(searching) else None
        below = searching[searching["overrun"] < GOAL_LOWEST]
        rows.append(
            {
                "family": family,
                "runs": len(runs),
                "exhausted": int(len(runs) - len(searching)),
                "median": runs["overrun"].median(),
                "median searching": searching["overrun"].median(),
                "lowest searching": "-"
                if lowest is None
                else f"{lowest['overrun']:.3f} ({lowest['task']} {lowest['adapter']} s{lowest['seed']})",
                f"searching < {GOAL_LOWEST}": len(below),
                "worst": runs["overrun"].max(),
                "killed": int(runs["killed"].sum()),
            }
        )
    return (
        f"Goals: {GOALS}. `median` is over every run, `median searching` over the runs whose search "
        "was not exhausted.\n\n"
        + tabulate(pd.DataFrame(rows), headers="keys", tablefmt="github", showindex=False, floatfmt=".3f")
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    out = Path(args.out)
    adapters = adapter_names(args.strategies.split(","), args.families.split(","))
    if not args.summary_only:
        for task in args.tasks.split(","):
            run_harness(task, adapters, args)
    if not (out / "runs.csv").exists():
        log.error("no %s: did the harness run?", out / "runs.csv")
        return 1
    print(summarise(out, args.budget))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
