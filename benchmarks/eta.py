"""How true the progress bar's ETA is: predicted against actual wall time of a run of equal-budget jobs.

    python benchmarks/eta.py [--task wine] [--budget 10] [--adapters random,optuna,hyperopt] [--seeds 2]
                             [--parallel 1] [--out DIR]

Runs the jobs through the harness's own path (``harness.api.execute``, as ``python -m harness``
does) into a temporary output directory (or ``--out``, fresh), and prints the ETA the progress object
showed when the plan was made and after the first run finished, each as the predicted wall time of
the runs (seconds since the plan + the ETA then), against the actual: from the plan to the last
run's record (loading the data before and writing the reports after are not part of an ETA).
Target: within 10 % of the actual. The default adapters work until their budget is spent; an adapter
that returns early (``default`` fits one model, ``grid`` may run out of grid) is expected to take its
whole budget until its first run shows otherwise, so with one of them the ETA at the plan is high.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.api import execute  # noqa: E402
from harness.config import make_config  # noqa: E402
from harness.progress import Forecast, Progress  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="wine")
    ap.add_argument("--budget", default="10")
    ap.add_argument("--adapters", default="random,optuna,hyperopt")
    ap.add_argument("--seeds", default="2")
    ap.add_argument("--parallel", default="1")
    ap.add_argument("--out", help="output directory (default: a temporary one); started fresh")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="harness-eta-") as tmp:
        cfg = make_config(
            task=args.task,
            budget=args.budget,
            adapters=args.adapters,
            seeds=args.seeds,
            parallel=args.parallel,
            out=args.out or tmp,
            fresh=True,
        )
        progress = Progress(cfg)
        t0 = time.monotonic()
        plan = execute(cfg, progress)
        command_s = time.monotonic() - t0
    forecasts = progress.forecasts
    if not forecasts or len(plan.jobs) < 2:
        sys.exit("nothing ran: give a task and adapters with at least 2 jobs")
    actual = forecasts[-1].at_s  # the last run's record, counted from the plan
    rows = [("at the plan", forecasts[0])]
    rows += [("after run 1", next(f for f in forecasts if f.finished == 1))]
    print(
        f"\n{len(plan.jobs)} jobs of {args.budget} s ({args.task}; {args.adapters}; {args.seeds} seeds; "
        f"--parallel {args.parallel})"
    )
    print(f"{'ETA shown':<14}{'predicted s':>12}{'actual s':>10}{'ratio':>8}")
    for name, f in rows:
        predicted = _predicted(f)
        print(f"{name:<14}{predicted:>12.1f}{actual:>10.1f}{predicted / actual:>8.3f}")
    est = progress.estimator
    shares = ", ".join(f"{a} {sum(v) / len(v):.2f}" for a, v in est.shares.items())
    print(
        f"measured: overhead {est.overhead_s:.2f} s per run (start-up, predict, scoring, store); fit / budget: {shares}"
    )
    print(f"(the whole command, with data loading and reports: {command_s:.1f} s)")


def _predicted(f: Forecast) -> float:
    """The wall time of the runs as this forecast saw it: the seconds gone plus the ETA."""
    return f.at_s + f.eta_s


if __name__ == "__main__":
    main()
