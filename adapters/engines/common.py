"""The base and the helpers shared by the AutoML engine adapters (flaml, tpot, h2o, autokeras).

* ``EngineAdapter``: the base every engine subclasses. Its ``fit`` checks and keeps the task, then
  runs the engine's ``_fit``; its ``predict`` and ``predict_proba`` cast what the engine's
  ``_predict_raw`` / ``_predict_proba_raw`` return into the contract's types (class codes 0..K-1,
  floats, probabilities as an (n, K) array in the task's class order);
* ``BudgetKnob``: the seconds an engine is asked for, from our budget, as calibrated per engine
  (each engine's constants and their measurements: ``benchmarks/README.md``);
* ``require_problem_type`` / ``require_our_metric``: the shared checks of ``check_task``;
* ``JsonLinesFollower``: follow a JSON-lines log an engine writes while it searches, so its
  trials reach our trial log as they finish (and survive a kill of the run);
* ``child_processes`` / ``stop_processes``: find and end the processes an engine left behind;
* ``align_proba``: class probabilities as an (n, K) array in the task's class order.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, final

import numpy as np
import pandas as pd
import psutil

from adapters.base import Adapter, FitContext, FitData, TaskInfo, TaskNotSupported, TrialLogger

logger = logging.getLogger(__name__)


PROBLEM_TYPES = ("binary", "multiclass", "regression")


def require_problem_type(task: Any, engine: str, supported: tuple[str, ...] = PROBLEM_TYPES) -> None:
    """Raise ``TaskNotSupported`` (the run is recorded ``skipped``) for a problem type the engine lacks."""
    if task.problem_type not in supported:
        raise TaskNotSupported(f"{engine} handles {', '.join(supported)}, not {task.problem_type}")


def require_our_metric(task: Any) -> None:
    """Raise ``TaskNotSupported`` unless tasks.metrics defines the task's metric for its problem type."""
    from tasks.metrics import METRICS

    metric = METRICS.get(task.metric)
    if metric is None or task.problem_type not in metric.problem_types:
        raise TaskNotSupported(f"no metric {task.metric!r} for {task.problem_type} tasks in tasks.metrics")


@dataclasses.dataclass(frozen=True)
class BudgetKnob:
    """How many seconds of our budget an engine is asked for, so that its whole fit ends inside it.

    ``seconds(budget_s) = max(floor_s, fraction * budget_s - reserve_s)``: the fraction covers
    overruns that grow with the budget (the trial in flight when the engine's clock runs out), the
    reserve covers fixed costs (data conversion, the final refit). Never less than ``floor_s``: an
    engine asked for nothing fails. Each engine's values were measured: ``benchmarks/README.md``.
    """

    fraction: float  # share of the budget
    reserve_s: float  # fixed seconds kept back
    floor_s: float  # never ask for less than this

    def seconds(self, budget_s: float) -> float:
        return max(self.floor_s, self.fraction * budget_s - self.reserve_s)


def as_class_codes(labels: Any) -> np.ndarray:
    """Predicted labels as integer class codes: ``1``, ``1.0`` and ``"1"`` all become ``1``.

    Engines hand back the codes they were trained on in their own dtype (FLAML keeps y's dtype,
    some models return floats, a label encoder may return strings); the contract wants integers.
    """
    arr = np.asarray(labels)
    if arr.dtype.kind in "biuf":
        return arr.astype(int)
    try:  # strings or objects: through float, so that "1.0" is a code too
        return arr.astype(float).astype(int)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"predicted labels are not class codes 0..K-1: {arr[:5].tolist()!r}") from exc


class EngineAdapter(Adapter):
    """Base of the AutoML engine adapters: keeps the task of the fit and casts the predictions.

    A subclass implements:

    * ``_fit(data, ctx, log)``: the engine's search. ``fit`` calls it after ``check_task``, with
      ``self.task`` set and ``ctx.fit_start`` set (also when called outside the harness);
    * ``_predict_raw(X)``: for regression, the predicted values; for classification, the class
      codes in any dtype that casts to int. The default, for classification, is the most probable
      class of ``_predict_proba_raw``, so an engine whose labels come from its scores needs only that;
    * ``_predict_proba_raw(X)``: ``(scores, model_classes)``, the scores with one column per class
      the model saw (or P(class 1) alone for binary) and those classes' codes; None when the model
      has no probabilities (the default).

    ``predict`` and ``predict_proba`` are the same for every engine and raise ``RuntimeError``
    before a successful fit; ``predict_proba`` returns None for regression.
    """

    def __init__(self, family: str | None = None) -> None:
        super().__init__(family)
        self.task: TaskInfo | None = None  # the task of the current (or last) fit
        self._fitted = False  # the last fit ended without an error

    # --- fit: the template around the engine's own search ---
    @final
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        self.check_task(data.task)
        self.task, self._fitted = data.task, False
        if not ctx.fit_start:  # called outside the harness: the budget starts now
            ctx = dataclasses.replace(ctx, fit_start=time.monotonic())
        self._fit(data, ctx, log)
        self._fitted = True

    def _fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        raise NotImplementedError

    # --- predictions: cast once, here ---
    @final
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        task = self._fitted_task("predict")
        raw = self._predict_raw(X)
        return as_class_codes(raw) if task.is_classification else np.asarray(raw).astype(float)

    @final
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        task = self._fitted_task("predict_proba")
        return self._aligned_proba(X, task) if task.is_classification else None

    def _predict_raw(self, X: pd.DataFrame) -> Any:
        task = self._fitted_task("predict")
        if task.is_classification:
            proba = self._aligned_proba(X, task)
            if proba is not None:
                return proba.argmax(axis=1)
        raise NotImplementedError(f"{type(self).__name__} implements no predictions (_predict_raw)")

    def _predict_proba_raw(self, X: pd.DataFrame) -> tuple[Any, Iterable[Any]] | None:
        return None

    def _fitted_task(self, call: str = "predict") -> TaskInfo:
        """The task of the last fit; ``RuntimeError`` unless that fit ended without an error."""
        if self.task is None or not self._fitted:
            raise RuntimeError(f"{type(self).__name__}.{call} called before a successful fit")
        return self.task

    def _aligned_proba(self, X: pd.DataFrame, task: TaskInfo) -> np.ndarray | None:
        raw = self._predict_proba_raw(X)
        if raw is None:
            return None
        proba, model_classes = raw
        codes = as_class_codes(list(model_classes))
        n_classes = len(task.classes) or max(len(codes), int(codes.max(initial=-1)) + 1)
        return align_proba(proba, codes, n_classes)


class JsonLinesFollower:
    """Follows a JSON-lines file in a thread and calls ``on_record`` for each complete line.

    ``stop()`` reads what is left and joins the thread; records are delivered in file order,
    from the follower thread only (so ``on_record`` needs no lock of its own).
    """

    def __init__(self, path: str, on_record: Callable[[dict[str, Any]], None], poll_s: float = 0.25) -> None:
        self.path = path
        self.on_record = on_record
        self.poll_s = poll_s
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jsonl-follower", daemon=True)

    def start(self) -> JsonLinesFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._read_new()  # lines written between the thread's last poll and now

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._read_new()

    def _read_new(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return  # no complete line yet
        self._offset += end + 1
        for line in chunk[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                logger.warning("skipping a line that is not JSON in %s", self.path)
                continue
            try:
                self.on_record(record)
            except Exception:  # a bad record must not stop the follower
                logger.exception("could not handle a record of %s", self.path)


def child_processes(pid: int | None = None) -> list[psutil.Process]:
    """All living descendants of ``pid`` (default: this process)."""
    try:
        return psutil.Process(pid or os.getpid()).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop_processes(procs: Iterable[psutil.Process], timeout_s: float = 5.0) -> list[int]:
    """Terminate, wait up to ``timeout_s``, then kill what is left. Returns the pids that were alive."""
    alive = []
    for p in procs:
        try:
            p.terminate()
            alive.append(p)
        except psutil.NoSuchProcess:
            pass
    _, still = psutil.wait_procs(alive, timeout=timeout_s)
    for p in still:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(still, timeout=timeout_s)
    return [p.pid for p in alive]


def align_proba(proba: np.ndarray, model_classes: Iterable[Any], n_classes: int) -> np.ndarray:
    """Put the columns of ``proba`` (one per class the model saw) into an (n, n_classes) array.

    Classes are the integer codes 0..K-1; a class absent from the training rows gets probability 0.
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:  # some binary models return P(class 1) only
        proba = np.column_stack([1.0 - proba, proba])
    codes = [int(c) for c in model_classes]
    if codes == list(range(n_classes)) and proba.shape[1] == n_classes:
        return proba
    out = np.zeros((proba.shape[0], n_classes), dtype=float)
    for j, code in enumerate(codes):
        out[:, code] = proba[:, j]
    return out
