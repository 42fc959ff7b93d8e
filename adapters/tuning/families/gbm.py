"""Gradient boosting with LightGBM."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import pandas as pd

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family, Model, Resource, SklearnModel
from adapters.tuning.spaces import Float, Int, Space

PROBE_ROWS = 256  # valid rows whose prediction is timed to foresee the scoring of them all
FIRST_PROBE_ROUND = 8  # then each time the rounds double: prediction costs trees x rows


class ScoringClock:
    """Foresees the seconds that scoring the valid rows will take with the trees built so far.

    A trial's scoring comes after its fit and grows with its trees: 2,000 trees of 128 leaves took
    over 6 s to score 10,800 rows on one core, after a fit cut at its deadline (a run killed past
    its budget). So fit stops adding trees when the time left would not score them.
    """

    def __init__(self, prep: Any, X_valid: pd.DataFrame, passes: int) -> None:
        self.prep, self.X_valid, self.passes = prep, X_valid, passes
        self.sample: Any = None
        self.per_round_row: float | None = None
        self.next_probe = FIRST_PROBE_ROUND

    def seconds(self, booster: Any, rounds: int) -> float:
        if rounds >= self.next_probe:
            if self.sample is None:
                # the pipeline's preprocessing is fitted before its estimator: it transforms here
                self.sample = self.prep.transform(self.X_valid.iloc[:PROBE_ROWS])
            t0 = time.monotonic()
            booster.predict(self.sample)
            self.per_round_row = (time.monotonic() - t0) / (rounds * self.sample.shape[0])
            self.next_probe = 2 * rounds
        if self.per_round_row is None:
            return 0.0
        return self.passes * self.per_round_row * rounds * len(self.X_valid)


class GbmModel(SklearnModel):
    """LightGBM stops adding trees at the deadline and keeps those it has: a usable, smaller model.

    With valid rows to score, it stops earlier by the time their scoring will take."""

    _scoring: ScoringClock | None = None

    def fit_params(self, deadline: float | None) -> dict[str, Any]:
        if deadline is None:
            return {}
        import lightgbm as lgb

        scoring = self._scoring

        def stop_at_deadline(env: Any) -> None:
            left = deadline - time.monotonic()
            if left < 0 or (scoring is not None and scoring.seconds(env.model, env.iteration + 1) > left):
                # LightGBM then keeps best_iteration + 1 trees: every tree built so far
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

        return {"model__callbacks": [stop_at_deadline]}

    def fit(self, X, y, valid=None, deadline=None, on_epoch=None) -> GbmModel:
        if valid is not None and deadline is not None:
            # the tuning loop scores labels and then probabilities (Evaluator.score): for a
            # classifier, two passes over the trees
            passes = 2 if hasattr(self.pipeline[-1], "predict_proba") else 1
            self._scoring = ScoringClock(self.pipeline[:-1], valid[0], passes)
        try:
            super().fit(X, y, deadline=deadline)
        finally:
            self._scoring = None
        estimator = self.pipeline[-1]
        self.trained_share = estimator.booster_.current_iteration() / max(1, estimator.n_estimators)
        return self


class GbmFamily(Family):
    name = "gbm"
    warm_up_config: ClassVar[dict[str, Any]] = {"n_estimators": 5}
    stops_at_deadline = True  # tree by tree (GbmModel)
    description = "gradient-boosted trees (LightGBM)"

    def space(self, task: TaskInfo) -> Space:
        return Space(
            {
                "n_estimators": Int(25, 1000, log=True),
                "learning_rate": Float(0.01, 0.3, log=True),
                "num_leaves": Int(4, 128, log=True),
                "min_child_samples": Int(2, 100, log=True),
                "subsample": Float(0.5, 1.0),
                "colsample_bytree": Float(0.3, 1.0),
                "reg_alpha": Float(1e-8, 10.0, log=True),
                "reg_lambda": Float(1e-8, 10.0, log=True),
            }
        )

    def manual(self, task: TaskInfo) -> list[dict[str, Any]]:
        return [
            {},
            {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31},
            {
                "n_estimators": 500,
                "learning_rate": 0.03,
                "num_leaves": 15,
                "min_child_samples": 10,
                "subsample": 0.8,
                "colsample_bytree": 0.8,
            },
            {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 63, "reg_lambda": 1.0},
            {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 5},
        ]

    def resource(self, task: TaskInfo) -> Resource:
        return Resource("n_estimators", 25, 1000, integer=True)

    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        import lightgbm as lgb

        params: dict[str, Any] = {"random_state": seed, "n_jobs": cores, "verbosity": -1, **config}
        if "subsample" in config:
            params["subsample_freq"] = 1
        cls = lgb.LGBMClassifier if task.is_classification else lgb.LGBMRegressor
        return GbmModel(cls(**params), scale=False)

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        trees = config.get("n_estimators", 100) * max(1, len(task.classes) if len(task.classes) > 2 else 1)
        return trees * (config.get("num_leaves", 31) / 31) ** 0.5 * (n_rows / 1000 + 0.2)
