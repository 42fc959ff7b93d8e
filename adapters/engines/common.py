"""Small helpers shared by the AutoML engine adapters (flaml, tpot, h2o, autokeras).

* ``engine_knob_seconds``: turn our budget into the seconds an engine is asked for, from a
  calibration measured per engine (each adapter keeps its constants in one visible block);
* ``JsonLinesFollower``: follow a JSON-lines log an engine writes while it searches, so its
  trials reach our trial log as they finish (and survive a kill of the run);
* ``child_processes`` / ``stop_processes``: find and end the processes an engine left behind;
* ``align_proba``: class probabilities as an (n, K) array in the task's class order.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import psutil

logger = logging.getLogger(__name__)


PROBLEM_TYPES = ("binary", "multiclass", "regression")


def require_problem_type(task: Any, engine: str, supported: tuple[str, ...] = PROBLEM_TYPES) -> None:
    """Raise ``TaskNotSupported`` (the run is recorded ``skipped``) for a problem type the engine lacks."""
    from adapters.base import TaskNotSupported

    if task.problem_type not in supported:
        raise TaskNotSupported(f"{engine} handles {', '.join(supported)}, not {task.problem_type}")


def require_our_metric(task: Any) -> None:
    """Raise ``TaskNotSupported`` unless tasks.metrics defines the task's metric for its problem type."""
    from adapters.base import TaskNotSupported
    from tasks.metrics import METRICS

    metric = METRICS.get(task.metric)
    if metric is None or task.problem_type not in metric.problem_types:
        raise TaskNotSupported(f"no metric {task.metric!r} for {task.problem_type} tasks in tasks.metrics")


def engine_knob_seconds(budget_s: float, fraction: float, reserve_s: float, floor_s: float) -> float:
    """Seconds to ask an engine for so that its whole fit ends inside ``budget_s``.

    ``fraction * budget_s - reserve_s``: the fraction covers overruns that grow with the budget
    (the trial in flight when the engine's clock runs out), the reserve covers fixed costs (data
    conversion, the final refit). Never less than ``floor_s``: an engine asked for nothing fails.
    """
    return max(floor_s, fraction * budget_s - reserve_s)


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
