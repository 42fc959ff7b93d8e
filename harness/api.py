"""The Python API: ``harness.run(...)`` and ``harness.load(out)``, for a notebook or a script.

``run`` takes the command line's options as Python values, checks them with the CLI's own
validation (:func:`harness.config.make_config`) and runs them down the CLI's own path
(:func:`execute`): the same store, resume and sandbox, the same progress (a ``tqdm.auto`` bar in a
notebook). It returns :class:`~harness.results.Results`, which ``load`` also reads from an existing
output directory. Nothing here reads stdin, installs a signal handler or needs an event loop, so it
runs inside Jupyter's.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harness.config import RunConfig, make_config
from harness.results import Results, load

if TYPE_CHECKING:
    from harness.progress import Progress
    from harness.runner import Plan

__all__ = ["Results", "execute", "load", "run"]

log = logging.getLogger("harness")


def execute(cfg: RunConfig, progress: Progress) -> Plan:
    """Run ``cfg`` showing ``progress``: the one path from a configuration to stored runs (CLI and API)."""
    from harness.execution import environment, forkserver
    from harness.timing import phase

    if cfg.executor == "local" and not cfg.isolate and "harness.runner" not in sys.modules:
        # the driver's imports are still to come: the fork server imports beside them, on another core
        forkserver.start_ahead(environment.child_env(1, None))
    try:
        with phase(
            "imports"
        ):  # the driver's libraries (pandas, scikit-learn): the largest share before a job
            from harness.runner import run as run_config

        with progress:
            return run_config(cfg, on_plan=progress.plan, on_start=progress.start, on_done=progress.done)
    finally:
        forkserver.stop_unused()  # started ahead, then no job ran (all done, or an error): not kept idle


def run(
    tasks: str | Sequence[str],
    budgets: float | Sequence[float] | str,
    adapters: str | Sequence[str] | None = None,
    seeds: int = 1,
    out: str | Path = "results",
    parallel: int = 1,
    cores: int = 1,
    memory_gb: float = 8.0,
    *,
    folds: int | None = None,
    metric: str | None = None,
    data_dir: str | Path | None = None,
    target: str | None = None,
    test_file: str | Path | None = None,
    test_column: str | None = None,
    image_shape: Sequence[int] | str | None = None,
    fresh: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
    isolate: bool = False,
    wait_for_cores_s: float | None = None,
    impute: str = "default",
    progress: bool = True,
) -> Results:
    """Run every adapter on every task at every budget, as ``python -m harness`` does; return the results.

    The arguments are the command line's options (``python -m harness --help``); ``adapters=None``
    runs every available one. A bad value raises :class:`~harness.errors.HarnessError` with the
    CLI's one-line message. Runs already in ``out``'s store are not run again. ``progress=False``
    shows nothing (the CLI's ``--quiet``). On an interrupt (``KeyboardInterrupt``) the runs that
    finished stay stored: ``load(out)`` reads them and the same call resumes.
    """
    cfg = make_config(
        task=tasks,
        budget=budgets,
        adapters=adapters,
        seeds=seeds,
        cores=cores,
        parallel=parallel,
        memory_gb=memory_gb,
        out=out,
        data_dir=data_dir,
        target=target,
        fresh=fresh,
        executor=executor,
        scheduler=scheduler,
        folds=folds,
        metric=metric,
        test_file=test_file,
        test_column=test_column,
        image_shape=image_shape,
        impute=impute,
        isolate=isolate,
        wait_for_cores=wait_for_cores_s,
    )
    from harness.progress import Progress

    try:
        with _console_logging(progress):
            execute(cfg, Progress(cfg, enabled=progress))
    except KeyboardInterrupt:
        log.warning(
            "interrupted; finished runs are stored: harness.load(%r) reads them, the same run resumes",
            str(cfg.out),
        )
        raise
    return load(cfg.out, impute=cfg.impute)


@contextlib.contextmanager
def _console_logging(show: bool) -> Iterator[None]:
    """The harness's INFO lines (the up-front estimate) on stderr, when the caller configured no logging.

    A program that set up logging keeps its own; in a notebook nothing is set up, and the estimate
    and the reasons an adapter was left out would otherwise go unseen.
    """
    logger = logging.getLogger("harness")
    if not show or logging.getLogger().handlers or logger.handlers:
        yield
        return
    from harness.progress import ChattyFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname).1s %(name)s: %(message)s"))
    handler.addFilter(ChattyFilter())
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
