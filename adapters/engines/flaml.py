"""FLAML's AutoML as an adapter: its own search over learners, shaped to end inside our budget.

Data: FLAML gets train+valid (``FitData.train_valid()``, what every engine gets) and holds out
its own validation rows (``eval_method="holdout"``, ``split_ratio`` = our valid fraction), then
retrains the best model on all rows when the budget allows (``retrain_full="budget"``). We do
not pass our valid split as ``X_val``: with an explicit ``X_val`` FLAML never retrains, so its
final model would not learn from the valid rows the other engines learn from.

Trials: FLAML writes every trial (``log_type="all"``) to a JSON-lines file in the run's workdir;
a follower thread turns each line into a Trial as it is written, so trials survive a kill.
FLAML's validation loss is converted to our metric's units (``1 - loss`` for metrics where
higher is better, the loss itself for rmse/mae/log_loss).

CatBoost: FLAML searches it when it is installed (the ``autogluon`` extra brings it). Since FLAML
2.x (microsoft/FLAML#1364, for reproducible catboost scores) its catboost trials no longer check
the time, so a trial on a large table ran past our hard deadline (diamonds_cut, 43,000 rows, 30 s:
three runs killed). The adapter puts that check back (``keep_catboost_in_budget``): the search
is FLAML's, and the budget is kept.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from adapters.base import FitContext, FitData, TaskInfo, TaskNotSupported, Trial, TrialLogger
from adapters.engines.common import BudgetKnob, EngineAdapter, JsonLinesFollower, require_problem_type

logger = logging.getLogger(__name__)

# --- Budget knob: values, measurements and how to re-measure them in benchmarks/README.md (FLAML) ---
# FLAML stops starting trials when its time_budget is spent, but the trial in flight runs to its end
# (rf, extra_tree, sgd, lrl1 cannot be stopped; lgbm/xgboost stop mid-trial). Its overrun with the raw
# knob (time_budget = budget) is seconds, not a share of the budget: median 0.05 s, worst 0.7 s
# (12 runs at 20 and 40 s), so the knob keeps back a fixed 0.8 s.
KNOB = BudgetKnob(fraction=1.0, reserve_s=0.8, floor_s=1.0)  # FLAML's time_budget, from our budget
# ---------------------------------------------------------------------------------------------------

# our metric name -> FLAML's built-in metric (per problem type); losses FLAML minimises
_FLAML_METRICS: dict[str, dict[str, str]] = {
    "accuracy": {"binary": "accuracy", "multiclass": "accuracy"},
    "roc_auc": {"binary": "roc_auc", "multiclass": "roc_auc_ovr"},
    "log_loss": {"binary": "log_loss", "multiclass": "log_loss"},
    "f1": {"binary": "f1", "multiclass": "macro_f1"},
    "rmse": {"regression": "rmse"},
    "mae": {"regression": "mae"},
    "r2": {"regression": "r2"},
}


def keep_catboost_in_budget() -> bool:
    """Puts the time check back into FLAML's catboost trials: a trial stops when its next iteration
    would pass the deadline FLAML gives it (FLAML's check before #1364). False without catboost.

    FLAML's ``CatBoostEstimator.fit`` takes its callbacks from ``CatBoostEstimator._callbacks`` by
    that name, not from the learner's class, so a learner registered with ``add_learner`` cannot
    change them: the method itself is replaced, in the run's own process.
    """
    try:
        import catboost  # noqa: F401 - FLAML searches catboost only when it imports
    except ImportError:
        return False
    from flaml.automl.model import CatBoostEstimator, CatBoostResourceLimit

    class CatBoostDeadline(CatBoostResourceLimit):
        def after_iteration(self, info: Any) -> bool:
            if not super().after_iteration(info):  # the memory check, as FLAML has it
                return False
            # the seconds to the second iteration, set up included, as FLAML measures them
            return time.time() + (self._time_per_iter or 0.0) <= self.deadline

    def callbacks(cls: type, start_time: float, deadline: float, free_mem_ratio: Any) -> list[Any]:
        return [CatBoostDeadline(start_time, deadline, free_mem_ratio)]

    CatBoostEstimator._callbacks = classmethod(callbacks)  # type: ignore[method-assign,assignment]
    return True


# FLAML losses that are ``1 - score``; the others are the score itself
_ONE_MINUS = {"accuracy", "roc_auc", "roc_auc_ovr", "f1", "macro_f1", "r2"}


def _our_metric(name: str) -> Any | None:
    """Our metric object from tasks.metrics, or None if that registry or metric is not there."""
    try:
        from tasks.metrics import METRICS
    except ImportError:
        return None
    return METRICS.get(name)


class FlamlAdapter(EngineAdapter):
    requires = ("flaml", "lightgbm", "xgboost", "sklearn")
    extra = "flaml"
    description = (
        "FLAML AutoML (cost-frugal search over lgbm, xgboost, rf, extra trees, linear; catboost if installed)"
    )

    supported: ClassVar[tuple[str, ...]] = ("binary", "multiclass", "regression")

    def __init__(self, family: str | None = None) -> None:
        super().__init__(family)
        self._automl: Any = None

    # --- checks in the parent ---
    def check_task(self, task: TaskInfo) -> None:
        require_problem_type(task, "FLAML adapter", self.supported)
        if task.problem_type not in _FLAML_METRICS.get(task.metric, {}) and _our_metric(task.metric) is None:
            raise TaskNotSupported(
                f"FLAML has no metric {task.metric!r} for {task.problem_type} tasks and "
                "tasks.metrics does not define it either"
            )

    # --- life cycle in the child ---
    def start(self, ctx: FitContext) -> None:
        from flaml import AutoML  # the import (lightgbm, xgboost, sklearn) is start-up, not budget

        self._automl_cls = AutoML
        keep_catboost_in_budget()

    def _fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        task = data.task
        X, y = data.train_valid()
        valid_ratio = len(data.y_valid) / max(1, len(y))
        metric, to_score = self._metric(task)
        time_budget = KNOB.seconds(ctx.budget_s)
        log_path = os.path.join(ctx.workdir, "flaml_trials.jsonl")
        automl = self._automl_cls()
        self._automl = automl
        flaml_start = time.monotonic()
        offset = flaml_start - ctx.fit_start

        def on_record(rec: dict[str, Any]) -> None:
            if "learner" not in rec:  # FLAML's checkpoint lines carry only the best record id
                return
            loss = float(rec["validation_loss"])
            ok = math.isfinite(loss)
            log(
                Trial(
                    config={
                        "learner": rec["learner"],
                        "sample_size": rec.get("sample_size"),
                        **rec["config"],
                    },
                    valid_score=to_score(loss) if ok else None,
                    fit_s=float(rec.get("trial_time", 0.0)),
                    elapsed_s=offset + float(rec.get("wall_clock_time", 0.0)),
                    status="ok" if ok else "failed",
                    error=None if ok else f"validation loss {loss}",
                    family=rec["learner"],
                )
            )

        follower = JsonLinesFollower(log_path, on_record).start()
        logger.info(
            "FLAML time_budget %.1f s of a %.1f s budget, metric %s", time_budget, ctx.budget_s, metric
        )
        try:
            automl.fit(
                X_train=X,
                y_train=y,
                task="regression" if task.problem_type == "regression" else "classification",
                metric=metric,
                time_budget=time_budget,
                eval_method="holdout",
                split_ratio=min(0.5, max(0.1, valid_ratio)),
                retrain_full="budget",
                n_jobs=ctx.cores,
                seed=ctx.seed,
                log_file_name=log_path,
                log_type="all",
                verbose=0,
            )
        finally:
            follower.stop()
        if automl.model is None or automl.best_estimator is None:
            raise RuntimeError(
                f"FLAML produced no model within its {time_budget:.1f} s time budget "
                f"({len(y)} rows, {X.shape[1]} columns): no trial finished"
            )

    def _metric(self, task: TaskInfo) -> tuple[Any, Any]:
        """FLAML's metric argument and the function from its loss to our metric's score."""
        name = _FLAML_METRICS.get(task.metric, {}).get(task.problem_type)
        if name is not None:
            if name in _ONE_MINUS:
                return name, lambda loss: 1.0 - loss
            return name, lambda loss: loss
        ours = _our_metric(task.metric)
        if ours is None:
            raise TaskNotSupported(f"no FLAML metric for {task.metric!r}")
        sign = -1.0 if ours.greater_is_better else 1.0

        def custom_metric(X_val, y_val, estimator, labels, X_train, y_train, *args, **kwargs):
            proba = estimator.predict_proba(X_val) if task.is_classification else None
            pred = np.asarray(estimator.predict(X_val))
            loss = sign * float(ours.score(np.asarray(y_val), pred, proba))
            return loss, {task.metric: sign * loss}

        return custom_metric, lambda loss: sign * loss

    def _predict_raw(self, X: pd.DataFrame) -> Any:
        pred = self._model().predict(X)
        if pred is None:
            raise RuntimeError("FLAML returned no predictions: it has no trained model")
        return pred

    def _predict_proba_raw(self, X: pd.DataFrame) -> tuple[Any, Any] | None:
        automl = self._model()
        proba = automl.predict_proba(X)
        return None if proba is None else (proba, automl.classes_)

    def best_config(self) -> dict[str, Any]:
        if self._automl is None or self._automl.best_estimator is None:
            return {}
        return {"learner": self._automl.best_estimator, **(self._automl.best_config or {})}

    def _model(self) -> Any:
        if self._automl is None or self._automl.model is None:
            raise RuntimeError("FLAML has no trained model: fit did not finish")
        return self._automl

    def close(self) -> None:
        self._automl = None
