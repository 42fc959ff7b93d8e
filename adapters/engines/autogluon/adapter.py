"""AutoGluon (``autogluon.tabular``) as an adapter: ``TabularPredictor.fit`` shaped to end inside our budget.

Data: AutoGluon gets train+valid (``FitData.train_valid()``, what every engine gets) and makes its
own validation: a holdout for ``medium_quality``, bagged folds for ``best_quality``.

Budget: ``fit``'s ``time_limit`` covers AutoGluon's preprocessing, models and final weighted
ensemble, and is what is left of our budget less the measured time AutoGluon spends outside its
own clock (``KNOB``). Its imports (torch for the GPU count, each model's library) are made in
``start``, not charged. A callback also stops AutoGluon from starting a model once our own
deadline is near, whatever its clock says, so the model in flight is the last.

Preset: chosen by budget (``PRESETS``); today ``best_quality`` (bagged and stacked) at every
budget: ``medium_quality`` ends early by design (0.14 of a 30 s budget on titanic), while
``best_quality`` kept budgets from 5 s up and used 0.92-0.97 of 10 s. DyStack is off
(``DYNAMIC_STACKING``). The measurements: ``benchmarks/README.md`` (AutoGluon).

Trials: one per model, logged by the callback as each model finishes (so they survive a kill),
with its validation score converted to our metric's units and its fit seconds; the final
``leaderboard()`` adds any model the callback did not see.

Processes: folds are fitted in the child, one after the other (``fold_fitting_strategy``), so no
Ray cluster starts even where Ray is installed; whatever else AutoGluon starts is a descendant of the
child and dies with the sandbox's process tree.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from typing import Any, ClassVar

import pandas as pd

from adapters.base import FitContext, FitData, TaskInfo, TaskNotSupported, Trial, TrialLogger
from adapters.engines.common import BudgetKnob, EngineAdapter, require_problem_type

logger = logging.getLogger(__name__)

# --- Budget knob and presets: values and measurements in benchmarks/README.md (AutoGluon) ----------
KNOB = BudgetKnob(fraction=1.0, reserve_s=0.6, floor_s=3.0)  # AutoGluon's time_limit, from our budget
STOP_MARGIN_S = 2.0  # no model starts when less than this is left of our budget
# (smallest budget in seconds, preset): the last row whose budget is <= ours applies
PRESETS: tuple[tuple[float, str], ...] = ((0.0, "best_quality"),)
# DyStack (best_quality's default) spends a quarter of time_limit on a holdout sub-fit whose models
# are thrown away, to decide whether to stack: too dear at budgets of minutes
DYNAMIC_STACKING = False
MIN_BUDGET_S = 5.0  # the smallest budget measured to be kept (fit / budget 0.73-0.89 at 5 s, 1-2 models)
# -----------------------------------------------------------------------------------------------------

LABEL = "__target__"
MODEL_LIBRARIES = ("lightgbm", "catboost", "xgboost", "torch")  # what AutoGluon's default models import

# our metric -> AutoGluon's eval_metric, per problem type
_AG_METRICS: dict[str, dict[str, str]] = {
    "accuracy": {"binary": "accuracy", "multiclass": "accuracy"},
    "f1": {"binary": "f1", "multiclass": "f1_macro"},
    "precision": {"binary": "precision", "multiclass": "precision_macro"},
    "recall": {"binary": "recall", "multiclass": "recall_macro"},
    "roc_auc": {"binary": "roc_auc", "multiclass": "roc_auc_ovr_macro"},
    "log_loss": {"binary": "log_loss", "multiclass": "log_loss"},
    "rmse": {"regression": "root_mean_squared_error"},
    "mae": {"regression": "mean_absolute_error"},
    "r2": {"regression": "r2"},
}


def preset_for(budget_s: float) -> str:
    """The preset AutoGluon runs with at ``budget_s`` (``PRESETS``)."""
    return [name for start, name in PRESETS if budget_s >= start][-1]


def ag_metric(task: TaskInfo) -> str:
    """AutoGluon's name of the task's metric; ``TaskNotSupported`` when it has none."""
    name = _AG_METRICS.get(task.metric, {}).get(task.problem_type)
    if name is None:
        raise TaskNotSupported(f"AutoGluon has no metric for {task.metric!r} on {task.problem_type} tasks")
    return name


class AutoGluonAdapter(EngineAdapter):
    """AutoGluon's TabularPredictor: bagged, stacked gradient boosting, forests, networks and more."""

    requires: ClassVar[tuple[str, ...]] = ("autogluon.tabular",)
    extra: ClassVar[str | None] = "autogluon"
    description: ClassVar[str] = "AutoGluon TabularPredictor (bagged and stacked ensembles; preset by budget)"
    min_budget_s: ClassVar[float] = MIN_BUDGET_S

    def __init__(self, family: str | None = None) -> None:
        super().__init__(family)
        self._predictor: Any = None
        self._preset = ""

    def check_task(self, task: TaskInfo) -> None:
        require_problem_type(task, "AutoGluon adapter")
        ag_metric(task)

    # --- life cycle in the child ---
    def start(self, ctx: FitContext) -> None:
        os.environ.setdefault("AUTOGLUON_TELEMETRY", "0")  # no calls home
        from autogluon.common.utils.resource_utils import ResourceManager
        from autogluon.tabular import TabularPredictor

        from adapters.engines.autogluon.callback import DeadlineCallback

        # Imports are start-up, not budget: fit would otherwise import torch to count GPUs (1.9 s
        # measured on the first fit of a process) and each model's library when it trains first.
        ResourceManager.get_gpu_count()
        for module in MODEL_LIBRARIES:
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)

        self._predictor_cls = TabularPredictor
        self._callback_cls = DeadlineCallback

    def _fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        task = data.task
        X, y = data.train_valid()
        if LABEL in X.columns:
            raise TaskNotSupported(f"a feature column is named {LABEL!r}, AutoGluon's label here")
        frame = X.assign(**{LABEL: y})
        self._preset = preset_for(ctx.budget_s)
        predictor = self._predictor_cls(
            label=LABEL,
            problem_type=task.problem_type,
            eval_metric=ag_metric(task),
            path=os.path.join(ctx.workdir, "autogluon"),
            verbosity=2,  # goes to our logger: the run's log file, never the terminal
            log_to_file=False,
        )
        self._predictor = predictor
        trials = _TrialLog(predictor, ctx, log)
        time_limit = KNOB.seconds(ctx.budget_s) - ctx.elapsed()
        logger.info(
            "AutoGluon %s, time_limit %.1f s of a %.1f s budget", self._preset, time_limit, ctx.budget_s
        )
        predictor.fit(
            frame,
            presets=self._preset,
            time_limit=max(1.0, time_limit),
            num_cpus=ctx.cores,
            num_gpus=0,
            dynamic_stacking=DYNAMIC_STACKING,
            # folds one after the other in this process, even where Ray is installed: a Ray cluster
            # starts in seconds of the budget, and on the 1 core of a run parallel folds gain nothing
            ag_args_ensemble={"fold_fitting_strategy": "sequential_local"},
            callbacks=[self._callback_cls(ctx.deadline - STOP_MARGIN_S, trials.model_finished)],
        )
        logger.info("AutoGluon's fit returned at %.2f s of the budget", ctx.elapsed())
        trials.log_leaderboard()
        logger.info("its leaderboard was read at %.2f s", ctx.elapsed())
        if not predictor.model_names():
            raise RuntimeError(f"AutoGluon trained no model in {time_limit:.1f} s ({len(y)} rows)")

    def _predict_raw(self, X: pd.DataFrame) -> Any:
        return self._model().predict(X).to_numpy()

    def _predict_proba_raw(self, X: pd.DataFrame) -> tuple[Any, Any] | None:
        proba = self._model().predict_proba(X)
        return proba.to_numpy(), list(proba.columns)

    def best_config(self) -> dict[str, Any]:
        if self._predictor is None:
            return {}
        try:
            best = self._predictor.model_best
        except (AssertionError, ValueError, AttributeError):
            return {"preset": self._preset}
        return {"model": best, "preset": self._preset}

    def _model(self) -> Any:
        if self._predictor is None:
            raise RuntimeError("AutoGluon has no trained model: fit did not finish")
        return self._predictor

    def close(self) -> None:
        self._predictor = None


class _TrialLog:
    """Turns AutoGluon's models into trials: each as it finishes, the rest from the leaderboard."""

    def __init__(self, predictor: Any, ctx: FitContext, log: TrialLogger) -> None:
        self.predictor = predictor
        self.ctx = ctx
        self.log = log
        self.seen: set[str] = set()

    def model_finished(self, trainer: Any, name: str) -> None:
        if name in self.seen:
            return
        score = trainer.get_model_attribute(name, "val_score")
        fit_s = trainer.get_model_attribute(name, "fit_time")
        self._log(name, score, fit_s, trainer.get_model_attribute(name, "type_inner").__name__)

    def log_leaderboard(self) -> None:
        board = self.predictor.leaderboard(silent=True)
        for row in board.itertuples(index=False):
            if row.model not in self.seen:
                self._log(str(row.model), row.score_val, row.fit_time, str(row.model).split("_")[0])

    def _log(self, name: str, score: Any, fit_s: Any, family: str) -> None:
        self.seen.add(name)
        ok = score is not None and pd.notna(score)
        # AutoGluon's scores are "higher is better" (an RMSE of 3 is -3): back to the metric's units
        value = float(self.predictor.eval_metric.convert_score_to_original(score)) if ok else None
        self.log(
            Trial(
                config={"model": name},
                valid_score=value,
                fit_s=float(fit_s) if fit_s is not None and pd.notna(fit_s) else 0.0,
                elapsed_s=self.ctx.elapsed(),
                status="ok" if ok else "failed",
                error=None if ok else "AutoGluon recorded no validation score",
                family=_family(family),
            )
        )


def _family(model_type: str) -> str:
    """A short family name from AutoGluon's model class (``LGBModel`` -> ``lgb``)."""
    name = model_type.removesuffix("Model").removesuffix("_BAG")
    return name.lower() or "unknown"
