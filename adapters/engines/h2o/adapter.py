"""H2O AutoML as an adapter: a private JVM per run, its leaderboard as the trial log.

The JVM (``adapters.engines.h2o.server``) is our plain child, bound to 127.0.0.1, and dies with the run.
Start-up (JVM launch and connection) happens in ``start`` and is not charged to the budget.
``fit`` uploads train+valid, runs AutoML with a calibrated ``max_runtime_secs``, logs each model
of the leaderboard as it appears (a watcher thread polls it), and cancels the AutoML job if it is
still running close to the deadline (a safety net; the calibration should make it rare).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from adapters.base import FitContext, FitData, TaskInfo, Trial, TrialLogger
from adapters.engines.common import (
    BudgetKnob,
    EngineAdapter,
    align_proba,
    require_our_metric,
    require_problem_type,
)
from adapters.engines.h2o.server import JAVA_HINT, H2OServer

logger = logging.getLogger(__name__)

# --- Budget knobs: values, measurements and how to re-measure them in benchmarks/README.md (H2O) ----
# AutoML keeps its stacked ensembles inside max_runtime_secs (H2O >= 3.34) but the fit goes on past
# it: the model in flight, the client's own fetch of the results (``overrun_s``), then our
# leaderboard and leader calls (``final_s``). Together they grow with the number of models, so with
# the budget: measured 1.6-2.9 s at 30 s and 3.0-4.3 s at 120 s, about 1.3 s + 2.3 % of B. The CSV
# upload comes before and is subtracted. max_runtime_secs is an int: it is rounded. A watcher
# cancels AutoML when it is still running near the deadline, and fit stops waiting for it shortly
# after (a safety net). The floor: H2O asked for less builds nothing.
OVERRUN_SHARE = 0.023  # what AutoML and the final calls take past max_runtime_secs: this share of B ...
OVERRUN_RESERVE_S = 1.6  # ... plus these seconds (the measured 1.3 s and 0.3 s to spare)
CANCEL_MARGIN_S = 1.5  # the watcher cancels AutoML this long before the deadline (measured: cancel_s)
FINISH_MARGIN_S = 1.0  # fit stops waiting for AutoML this long before the deadline: leaderboard, leader
KNOB = BudgetKnob(fraction=1.0 - OVERRUN_SHARE, reserve_s=OVERRUN_RESERVE_S, floor_s=2.0)
POLL_S = 1.0  # leaderboard polling period of the watcher thread
FINAL_CALL_TIMEOUT_S = 5.0  # REST timeout of the calls after AutoML (a stuck JVM: fit fails)
EXCLUDE_ALGOS: list[str] = ["DeepLearning"]  # not reproducible and slow to stop on 2 cores
# ------------------------------------------------------------------------------------------------

TARGET = "__target__"

# our metric -> (AutoML sort_metric, leaderboard column that gives our metric exactly, or None)
_SORT = {
    "roc_auc": ("AUC", "auc"),
    "log_loss": ("logloss", "logloss"),
    "rmse": ("RMSE", "rmse"),
    "mae": ("MAE", "mae"),
    "r2": ("MSE", "mse"),  # r2 = 1 - mse / var(y)
}
_LB_METRICS = ("auc", "logloss", "aucpr", "mean_per_class_error", "rmse", "mse", "mae", "rmsle",
               "mean_residual_deviance")  # fmt: skip


class _TrialLog:
    """Turns new leaderboard rows into trials, scored with our metric on H2O's own CV holdout.

    AutoML keeps each model's cross-validation holdout predictions (for a stacked ensemble, its
    metalearner's); the task's metric on them is the trial's ``valid_score``. Where there are none
    (no CV on large data), the leaderboard column that equals our metric is used, if any.
    """

    def __init__(self, aml_key: str, task: TaskInfo, y: np.ndarray, fit_start: float, log: TrialLogger):
        from tasks.metrics import METRICS

        self.aml_key = aml_key
        self.task = task
        self.y = y
        self.fit_start = fit_start
        self.log = log
        self.metric = METRICS[task.metric]
        self.seen: set[str] = set()
        self.lock = threading.Lock()  # the watcher's polls and the final one never interleave

    def poll(self, final: bool = False) -> None:
        """Log the models that appeared since the last poll (``final``: also those without holdout)."""
        with self.lock:
            self._poll(final)

    def _poll(self, final: bool) -> None:
        import h2o

        table = h2o.api(f"GET /99/Leaderboards/{self.aml_key}", data={"extensions": ["ALL"]})["table"]
        header = list(table.col_header)
        rows = [dict(zip(header, row, strict=False)) for row in table.cell_values]
        new = [r for r in rows if str(r.get("model_id")) not in self.seen]
        if not new:
            return
        with warnings.catch_warnings():  # "install polars for a faster conversion"
            warnings.simplefilter("ignore")
            keys = h2o.ls()["key"]
        holdouts = [str(k) for k in keys if str(k).startswith("cv_holdout_prediction_")]
        for rec in new:
            model_id = str(rec.get("model_id"))
            lb = {k: _num(rec[k]) for k in _LB_METRICS if k in rec}
            key = next((k for k in holdouts if k.endswith(model_id)), None)
            try:
                score = self._holdout_score(key) if key else None
            except ValueError:  # our metric is undefined on these predictions (one class only)
                score = None
            if score is None and not final:
                continue  # its holdout predictions may not be stored yet: next poll
            if score is None:
                score = self._leaderboard_score(lb)
            self.seen.add(model_id)
            self.log(
                Trial(
                    config={"model_id": model_id, "leaderboard": lb},
                    valid_score=score,
                    fit_s=(_num(rec.get("training_time_ms")) or 0.0) / 1000.0,
                    elapsed_s=time.monotonic() - self.fit_start,
                    status="ok" if score is not None else "failed",
                    error=None if score is not None else f"no CV holdout and no {self.task.metric} in H2O",
                    family=str(rec.get("algo") or model_id.split("_")[0]).lower(),
                )
            )

    def _holdout_score(self, key: str) -> float | None:
        import h2o

        frame = h2o.get_frame(key)
        if frame is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = frame.as_data_frame(use_multi_thread=False)
        if len(pred) != len(self.y):
            return None
        k = len(self.task.classes)
        if self.task.is_classification:
            levels = [c for c in pred.columns if c != "predict"]
            proba = align_proba(pred[levels].to_numpy(float), [int(c[1:]) for c in levels], k)
            return self.metric.score(self.y, proba.argmax(axis=1), proba, n_classes=k)
        return self.metric.score(self.y, pred["predict"].to_numpy(float))

    def _leaderboard_score(self, lb: dict[str, float | None]) -> float | None:
        column = _SORT.get(self.task.metric, (None, None))[1]
        value = lb.get(column) if column else None
        if value is None or self.task.metric != "r2":
            return value
        var = float(np.var(self.y))
        return 1.0 - value / var if var > 0 else None


class _Watcher(threading.Thread):
    """Polls the leaderboard into the trial log; cancels every running job at ``cancel_at``."""

    def __init__(self, trials: _TrialLog, cancel_at: float) -> None:
        super().__init__(name="h2o-watcher", daemon=True)
        self.trials = trials
        self.cancel_at = cancel_at
        # both flags are read by fit's thread while this one may still be cancelling other jobs
        self.cancel_sent = False  # a cancel request went out: AutoML's polling may end in any state
        self.cancelled = False  # the JVM accepted a cancel
        self.cancelled_at: float | None = None  # time.monotonic() of the first cancel that found a job
        self.done = threading.Event()

    def run(self) -> None:
        # wakes at the next poll or at cancel_at, whichever comes first: a poll period late would
        # need a cancel margin that much larger
        cancel_due = True
        while not self.done.wait(
            min(POLL_S, max(0.0, self.cancel_at - time.monotonic())) if cancel_due else POLL_S
        ):
            if time.monotonic() >= self.cancel_at:
                self.cancel()  # and again each poll period: AutoML may have started another job
                cancel_due = False
                continue
            try:
                self.trials.poll()
            except Exception:
                logger.debug("leaderboard poll failed", exc_info=True)

    def cancel(self) -> None:
        """Cancel every unfinished job (the JVM is private to this run: they are all ours)."""
        import h2o

        try:
            jobs = h2o.api("GET /3/Jobs")["jobs"]
        except Exception:
            logger.warning("listing H2O's jobs to cancel them failed", exc_info=True)
            return
        running = [j["key"]["name"] for j in jobs if j.get("status") in ("CREATED", "RUNNING")]
        for key in running:
            # one job at a time: cancelling AutoML ends and removes its model jobs, so a later
            # cancel of one of them may find no job (seen in CI), and AutoML is cancelled all the same.
            # The flags are set at once, not after the loop: AutoML's polling may end (even with
            # "Polling finished while the job has status CANCEL_PENDING") and fit read them while
            # the other cancels are still going out (seen in CI)
            self.cancel_sent = True
            try:
                h2o.api(f"POST /3/Jobs/{key}/cancel")
            except Exception as exc:  # noqa: BLE001 - the others are still cancelled
                logger.info("cancelling H2O job %s failed: %s", key, exc)
                continue
            if not self.cancelled:
                self.cancelled_at = time.monotonic()
                self.cancelled = True
                logger.warning("H2O AutoML still running near the deadline: cancelled it")


class H2OAdapter(EngineAdapter):
    """H2O AutoML (GLM, GBM, XGBoost, DRF, stacked ensembles) in a private local JVM."""

    requires: ClassVar[tuple[str, ...]] = ("h2o",)
    extra: ClassVar[str | None] = "h2o"
    description: ClassVar[str] = "H2O AutoML in a private JVM bound to 127.0.0.1"

    def __init__(self, family: str | None = None) -> None:
        super().__init__(family)
        self._server: H2OServer | None = None
        self._leader: Any = None
        self._column_types: dict[str, str] = {}
        self._columns: list[str] = []
        self._cache: tuple[int, pd.DataFrame] | None = None  # the last prediction, by id(X)
        self._config: dict[str, Any] = {}

    @classmethod
    def missing(cls) -> list[str]:
        out = super().missing()
        if shutil.which("java") is None:
            out.append(JAVA_HINT)
        return out

    def versions(self) -> dict[str, str]:
        out = super().versions()
        java = shutil.which("java")
        if java:
            try:
                text = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20).stderr
                out["java"] = text.splitlines()[0].strip() if text else "unknown"
            except (OSError, subprocess.SubprocessError):
                pass
        return out

    # --- life cycle ---
    def start(self, ctx: FitContext) -> None:
        os.environ["DO_NOT_TRACK"] = "1"  # h2o-py telemetry off (it is opt-in; this makes sure)
        import h2o  # noqa: F401 - the import is start-up, not budget

        self._server = H2OServer(ctx.workdir, ctx.cores, ctx.memory_gb)
        try:
            self._server.launch()
            self._server.connect()
        except BaseException:
            self._server.stop()
            raise

    def check_task(self, task: TaskInfo) -> None:
        require_problem_type(task, "H2O AutoML")
        require_our_metric(task)

    def _fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        import h2o
        from h2o.automl import H2OAutoML
        from h2o.exceptions import H2OJobCancelled, H2OResponseError

        if self._server is None:
            raise RuntimeError("H2OAdapter.fit called before start")
        task = data.task
        X, y = data.train_valid()
        frame = self._upload(X, y, task.is_classification)
        knob = KNOB.seconds(ctx.budget_s)
        sort_metric = _SORT.get(task.metric, ("AUTO", None))[0]
        project = f"p_{uuid.uuid4().hex[:10]}"
        aml = H2OAutoML(
            max_runtime_secs=max(1, round(knob - ctx.elapsed())),  # upload time is spent already
            seed=ctx.seed,
            sort_metric=sort_metric,
            exclude_algos=EXCLUDE_ALGOS or None,
            keep_cross_validation_predictions=True,  # our metric on H2O's CV holdout, per model
            project_name=project,
            verbosity=None,
        )
        self._config = {
            "max_runtime_secs": aml.max_runtime_secs,
            "sort_metric": sort_metric,
            "exclude_algos": EXCLUDE_ALGOS,
            "upload_s": round(ctx.elapsed(), 2),
        }
        trials = _TrialLog(f"{project}@@{TARGET}", task, y, ctx.fit_start, log)
        watcher = _Watcher(trials, cancel_at=ctx.deadline - CANCEL_MARGIN_S)
        errors: list[BaseException] = []

        def train() -> None:
            try:
                aml.train(y=TARGET, training_frame=frame)
            except H2OJobCancelled:
                logger.info("H2O AutoML was cancelled at the deadline; keeping the models built so far")
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        # AutoML trains in a thread: fit stops waiting for it FINISH_MARGIN_S before the deadline, whatever
        # the JVM does (a cancelled job can take seconds to stop; a stuck JVM never would)
        trainer = threading.Thread(target=train, name="h2o-automl", daemon=True)
        watcher.start()
        trainer.start()
        trainer.join(timeout=max(0.0, ctx.remaining() - FINISH_MARGIN_S))
        if trainer.is_alive():
            watcher.cancel()
            trainer.join(timeout=0.2)
        watcher.done.set()
        watcher.join(timeout=0.5)  # if it is inside a slow REST call, the final poll waits on its lock
        if errors and not watcher.cancel_sent:
            raise errors[0]
        if errors:  # a cancelled job may end its polling with other errors (status CANCEL_PENDING)
            logger.info("H2O AutoML after the cancel: %s: %s", type(errors[0]).__name__, errors[0])
        train_end = ctx.elapsed()
        self._config["train_end_s"] = round(train_end, 2)
        # for the calibration: AutoML's seconds past its own clock, and how long a cancel took
        self._config["overrun_s"] = round(train_end - self._config["upload_s"] - aml.max_runtime_secs, 2)
        if watcher.cancelled_at is not None:
            self._config["cancel_s"] = round(time.monotonic() - watcher.cancelled_at, 2)
        conn = h2o.connection()
        conn.timeout_interval = FINAL_CALL_TIMEOUT_S  # a JVM that stopped answering fails fit, no hang
        try:
            try:
                trials.poll(final=True)  # the models the last poll missed (the ensembles come last)
                lb = h2o.api(f"GET /99/Leaderboards/{trials.aml_key}")["table"]
            except H2OResponseError as exc:
                if "KeyNotFound" not in str(exc):
                    raise
                lb = None  # stopped before AutoML made its leaderboard: no model either
            if lb is None or not lb.cell_values:
                raise RuntimeError(
                    f"H2O AutoML built no model in {ctx.budget_s:.0f} s "
                    f"(max_runtime_secs={aml.max_runtime_secs}); give it a larger budget"
                )
            self._leader = h2o.get_model(lb.cell_values[0][list(lb.col_header).index("model_id")])
        finally:
            conn.timeout_interval = None
        self._config.update(self._leader_config(), cancelled=watcher.cancelled)
        self._config["final_s"] = round(ctx.elapsed() - train_end, 2)

    def _upload(self, X: pd.DataFrame, y: np.ndarray, classification: bool) -> Any:
        df = pd.DataFrame({str(c): X[c] for c in X.columns})
        self._columns = list(df.columns)
        self._column_types = {c: _h2o_type(df[c]) for c in df.columns}
        df[TARGET] = [f"c{int(v)}" for v in y] if classification else y.astype(float)
        types = dict(self._column_types, **{TARGET: "enum" if classification else "real"})
        assert self._server is not None
        return _import_frame(df, types, self._server.dir / "train.csv")

    def _leader_config(self) -> dict[str, Any]:
        params = getattr(self._leader, "params", {}) or {}
        changed = {}
        for name, p in params.items():
            actual = p.get("actual") if isinstance(p, dict) else None
            if actual != p.get("default") and _jsonable(actual) and name not in ("model_id", "seed"):
                changed[name] = actual
        return {"leader": self._leader.model_id, "algo": self._leader.algo, "params": changed}

    # --- prediction ---
    def _prediction(self, X: pd.DataFrame) -> pd.DataFrame:
        """The leader's prediction frame (``predict`` and, for classes, ``c0``, ``c1``, ...) for ``X``.

        Cached by ``id(X)``: ``predict`` and ``predict_proba`` on the same rows upload them once.
        """
        if self._cache is not None and self._cache[0] == id(X):
            return self._cache[1]
        df = pd.DataFrame({str(c): X[c] for c in X.columns})[self._columns]
        assert self._server is not None
        csv = self._server.dir / f"predict_{uuid.uuid4().hex[:8]}.csv"
        frame = _import_frame(df, self._column_types, csv)
        with warnings.catch_warnings():  # "install polars for a faster conversion"
            warnings.simplefilter("ignore")
            pred = self._leader.predict(frame).as_data_frame(use_multi_thread=False)
        self._cache = (id(X), pred)
        return pred

    def _predict_raw(self, X: pd.DataFrame) -> Any:
        if self._fitted_task().is_classification:
            # the most probable class; H2O's own "predict" column uses its max-F1 threshold for binary
            return super()._predict_raw(X)
        return self._prediction(X)["predict"].to_numpy(float)

    def _predict_proba_raw(self, X: pd.DataFrame) -> tuple[Any, Any] | None:
        pred = self._prediction(X)
        levels = [c for c in pred.columns if c != "predict"]  # "c<code>", as uploaded
        return pred[levels].to_numpy(float), [int(c[1:]) for c in levels]

    def best_config(self) -> dict[str, Any]:
        return dict(self._config)

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def _import_frame(df: pd.DataFrame, types: dict[str, str], path: Path) -> Any:
    """An H2OFrame of ``df`` via a CSV the local JVM reads itself (fast; missing -> empty -> NA)."""
    import h2o

    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    try:
        return h2o.import_file(str(path), header=1, col_types=types, sep=",")
    finally:
        path.unlink(missing_ok=True)


def _h2o_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return "enum"
    return "real"


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return not isinstance(v, dict)
