"""MNIST from a CSV of pixel columns: can a tuned cnn reach 0.975 test accuracy in 120 s on one core?

    python benchmarks/mnist_csv.py                      # 4 runs of 120 s, one at a time (~10 min)
    python benchmarks/mnist_csv.py --parallel 2         # two at a time (each run then shares the machine)
    python benchmarks/mnist_csv.py --no-run             # only print the table of an existing store

Runs the harness CLI on ``csv:<project>/../shared/data/mnist10k.csv.gz`` (the MNIST test set, 10,000
rows of ``px0..px783`` and ``label``; seed 0 of the harness's 60/20/20 split gives 6,000 train, 2,000
valid and 2,000 test rows) with ``--target label --image-shape 28,28,1 --budget 120 --cores 1 --seeds 1``
and the adapters ``default:cnn``, ``random:cnn``, ``optuna:cnn`` and ``default:gbm`` (LightGBM with its
defaults on the flat pixels, the tabular reference). The harness resumes: run the same command again
to finish an interrupted benchmark. Then it prints one row per adapter: test accuracy, fit / budget,
trials, and whether the goal (a tuned cnn at >= 0.975 test accuracy) is met, with the load average.
Exit status: 0 when the goal is met, 3 when it is not, 2 when the data file is missing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # harness.store, also without an installed copy

from harness.store import STORE_FILE, Store  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mnist10k.csv.gz"  # shared read-only data, not copied in
ADAPTERS = "default:cnn,random:cnn,optuna:cnn,default:gbm"
TUNED = ("random:cnn", "optuna:cnn")  # the adapters the goal is about
GOAL = 0.975


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data", default=str(DATA), help="the MNIST CSV (default: ../shared/data beside the project)"
    )
    p.add_argument("--adapters", default=ADAPTERS)
    p.add_argument("--budget", type=float, default=120.0)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--cores", type=int, default=1)
    p.add_argument(
        "--parallel", type=int, default=1, choices=(1, 2), help="runs at once; 1 gives each run a quiet core"
    )
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "mnist_csv"))
    p.add_argument("--no-run", action="store_true", help="only print the table from an existing store")
    return p.parse_args(argv)


def run_harness(data: Path, args: argparse.Namespace) -> None:
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "--task",
        f"csv:{data}",
        "--target",
        "label",
        "--image-shape",
        "28,28,1",
        "--budget",
        f"{args.budget:g}",
        "--adapters",
        args.adapters,
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
    print("running:", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=False, cwd=ROOT)  # a failed run is a row in the store: still print the table


def table(db: Path, data: Path, args: argparse.Namespace) -> tuple[str, bool]:
    """One row per run of the adapters asked for, and whether a tuned cnn met the goal."""
    adapters = args.adapters.split(",")
    rows, met = [], False
    with Store(db) as store:
        runs = [
            r
            for r in store.runs()
            if r.adapter in adapters
            and r.budget_s == args.budget
            and str(data) in r.task
            and r.seed < args.seeds
        ]
    for r in sorted(runs, key=lambda r: (adapters.index(r.adapter), r.seed)):
        acc = r.metrics.get("accuracy")
        reached = acc is not None and acc >= GOAL
        met |= reached and r.adapter in TUNED
        rows.append(
            [
                r.adapter,
                r.seed,
                r.status,
                f"{acc:.4f}" if acc is not None else "-",
                f"{r.overrun:.3f}" if r.overrun is not None else "-",
                r.n_trials,
                ("yes" if reached else "no") + ("" if r.adapter in TUNED else " (reference)"),
            ]
        )
    text = tabulate(
        rows, headers=["adapter", "seed", "status", "test accuracy", "fit/budget", "trials", f">= {GOAL}"]
    )
    return text, met


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = Path(args.data).resolve()
    if not data.is_file():
        print(f"mnist_csv: {data} is missing (the shared MNIST CSV beside the project); nothing run")
        return 2
    out = Path(args.out)
    if not args.no_run:
        # the machine's load decides how much of its core a run gets: print it with the figures
        print("load average before (1, 5, 15 min):", ", ".join(f"{x:.2f}" for x in os.getloadavg()))
        run_harness(data, args)
    db = out / STORE_FILE
    if not db.exists():
        print(f"mnist_csv: no store at {db}: did the harness run?")
        return 1
    text, met = table(db, data, args)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nbudget {args.budget:g} s, {args.cores} core(s) per run, {args.parallel} run(s) at once")
    print(text)
    print(f"\nload average now (1, 5, 15 min): {load}")
    print(f"goal (a tuned cnn at >= {GOAL} test accuracy): {'met' if met else 'NOT met'}")
    return 0 if met else 3


if __name__ == "__main__":
    raise SystemExit(main())
