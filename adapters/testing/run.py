"""One adapter life cycle in this process, in the harness child's order, recorded for the checks.

``run_adapter`` calls what ``harness.execution.child`` calls, in its order: ``check_task``, ``start``
(not timed as fit), ``fit`` with a ``FitContext`` whose ``fit_start`` is set, ``predict``,
``predict_proba`` (classification only), ``best_config``, and ``close`` (always). It leaves out
``versions`` (the H2O adapter's runs ``java -version``, a process the engine tests would count as a
second JVM). It checks nothing itself; ``adapters.testing.checks`` judges the ``ContractResult``.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from adapters.base import Adapter, FitContext, FitData, TaskInfo, TaskNotSupported, Trial
from adapters.testing.data import load_task

log = logging.getLogger(__name__)

AdapterFactory = Callable[[], Adapter]


def budget_slack(budget_s: float) -> float:
    """Seconds past the budget that ``fit`` (and a trial's end) may take: 1 s plus 10 %.

    Tighter than the harness's hard deadline (``budget + max(5 s, 0.1 x budget)``), so an adapter
    that passes here is not killed there.
    """
    return 1.0 + 0.1 * budget_s


@dataclass
class ContractResult:
    """What one run of an adapter on one task did; ``skipped`` holds the reason when it refused the task."""

    adapter: Adapter | None
    task: TaskInfo
    fit_s: float = 0.0
    trials: list[Trial] = field(default_factory=list)
    predictions: Any = None  # what predict returned, unchanged
    proba: Any = None  # what predict_proba returned (classification), unchanged
    best_config: Any = None
    y_test: np.ndarray = field(default_factory=lambda: np.zeros(0))
    second_trials: list[Trial] = field(default_factory=list)  # the trials of a second run (check_seed)
    y_fit: np.ndarray = field(default_factory=lambda: np.zeros(0))  # train+valid labels: the baseline
    logged_at: list[float] = field(default_factory=list)  # seconds since fit_start when each trial came
    logged_after_fit: int = 0  # trials logged once fit had returned
    startup_s: float = 0.0
    skipped: str | None = None
    error: str | None = None  # the exception, when ``run_adapter(..., raise_errors=False)`` caught one
    exception: Exception | None = field(default=None, repr=False)
    phase: str = "start-up"  # the life-cycle phase reached (start-up, fit, predict, done)
    # filled by the valid-score check: the task's metric on the test rows, of a constant, best valid
    test_score: float | None = None
    baseline_score: float | None = None
    valid_score: float | None = None

    @property
    def adapter_name(self) -> str:
        return type(self.adapter).__name__ if self.adapter is not None else "adapter"


def run_adapter(
    adapter_factory: AdapterFactory,
    task_name: str | TaskInfo,
    budget_s: float,
    seed: int = 0,
    cores: int = 1,
    *,
    memory_gb: float = 2.0,
    tmp_dir: str | None = None,
    on_started: Callable[[Adapter], None] | None = None,
    raise_errors: bool = True,
) -> ContractResult:
    """One run through the whole life cycle on ``load_task(task_name, seed)``; no checks.

    A ``TaskNotSupported`` from ``check_task`` or ``start`` gives a result with ``skipped`` set (the
    harness records such a run as skipped). Other exceptions propagate after ``close``, unless
    ``raise_errors`` is false: then the result carries ``error`` and the ``phase`` it happened in.
    ``on_started`` is called after ``start`` (a test may record the adapter's processes there).
    """
    data, X_test, y_test = load_task(task_name, seed)
    _, y_fit = data.train_valid()
    adapter = adapter_factory()
    res = ContractResult(adapter, data.task, y_test=np.asarray(y_test), y_fit=y_fit)
    try:
        # the workdir outlives close, as the harness's run directory does
        with tempfile.TemporaryDirectory(
            prefix="adapter-check-", dir=tmp_dir, ignore_cleanup_errors=True
        ) as wd:
            ctx = FitContext(budget_s=budget_s, seed=seed, cores=cores, memory_gb=memory_gb, workdir=wd)
            try:
                _life_cycle(adapter, res, data, X_test, ctx, on_started)
            finally:
                adapter.close()
    except Exception as exc:
        if raise_errors:
            raise
        res.error, res.exception = f"{type(exc).__name__}: {exc}", exc
        log.info("%s failed in %s: %s", res.adapter_name, res.phase, res.error)
    return res


def _life_cycle(
    adapter: Adapter,
    res: ContractResult,
    data: FitData,
    X_test: pd.DataFrame,
    ctx: FitContext,
    on_started: Callable[[Adapter], None] | None,
) -> None:
    """check_task .. best_config, recorded into ``res``; ``close`` is the caller's."""
    t0 = time.monotonic()
    try:
        adapter.check_task(data.task)
        adapter.start(ctx)
    except TaskNotSupported as exc:
        res.skipped = str(exc) or type(exc).__name__
        return
    res.startup_s = time.monotonic() - t0
    if on_started is not None:
        on_started(adapter)
    res.phase = "fit"
    ctx = dataclasses.replace(ctx, fit_start=time.monotonic())
    fit_returned = threading.Event()

    def log_trial(trial: Trial) -> None:
        # the harness child's logger: elapsed_s is set here unless the adapter set it
        now = time.monotonic() - ctx.fit_start
        if isinstance(trial, Trial) and not trial.elapsed_s:
            trial.elapsed_s = now
        res.trials.append(trial)
        res.logged_at.append(now)
        if fit_returned.is_set():
            res.logged_after_fit += 1

    try:
        adapter.fit(data, ctx, log_trial)
    finally:
        res.fit_s = time.monotonic() - ctx.fit_start
        fit_returned.set()
    res.phase = "predict"
    res.predictions = adapter.predict(X_test)
    if data.task.is_classification:
        res.proba = adapter.predict_proba(X_test)
    res.best_config = adapter.best_config()
    res.phase = "done"
