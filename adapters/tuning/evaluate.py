"""How a trial is scored: fit on train, score on valid (or k-fold on train+valid for small tasks).

The choice of validation depends on the task's size only, so every strategy on a task
is scored the same way. Scores are in the metric's own units (not negated); the
``Scorer`` says which direction is better.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from adapters.base import FitData, TaskInfo
from adapters.tuning.families.base import DATA_FRACTION, EpochCallback, Family, Model

log = logging.getLogger(__name__)

CV_MAX_ROWS = 1000  # train+valid at most this many rows: k-fold cross-validation
CV_FOLDS = 5


@dataclass(frozen=True)
class Scorer:
    """The task's primary metric from ``tasks.metrics``: the same code that scores the test set."""

    name: str
    greater_is_better: bool
    n_classes: int | None

    def score(self, y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None) -> float:
        from tasks.metrics import METRICS

        return float(METRICS[self.name].score(y_true, y_pred, proba, n_classes=self.n_classes))

    def better(self, a: float, b: float) -> bool:
        return a > b if self.greater_is_better else a < b


def get_scorer(task: TaskInfo) -> Scorer:
    from tasks.metrics import METRICS

    n_classes = len(task.classes) if task.is_classification else None
    return Scorer(task.metric, bool(METRICS[task.metric].greater_is_better), n_classes)


def full_proba(model: Model, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class code, also when a fold lacked some class."""
    classes = getattr(model, "classes_", None)
    if proba.shape[1] == n_classes or classes is None:
        return proba
    out = np.zeros((proba.shape[0], n_classes))
    out[:, np.asarray(classes, dtype=int)] = proba
    return out


@dataclass
class Evaluation:
    score: float
    fit_s: float  # seconds spent fitting (all folds)
    units: float  # cost units fitted (the family's proxy; less when cut at a deadline), for seconds per unit
    model: Model  # the holdout model (or the first fold's)
    curve: dict[str, list[float]] | None = None


class Evaluator:
    """Fits and scores configurations of one family on one task's train/valid rows."""

    def __init__(self, data: FitData, family: Family, seed: int, cores: int) -> None:
        self.data, self.family, self.seed, self.cores = data, family, seed, cores
        self.task: TaskInfo = data.task
        self.scorer = get_scorer(data.task)
        self.X_full, self.y_full = data.train_valid()
        self.n_full = len(self.y_full)
        self.use_cv = self.n_full <= CV_MAX_ROWS
        if self.use_cv:
            splitter = (
                StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
                if self.task.is_classification and np.bincount(self.y_full).min() >= CV_FOLDS
                else KFold(CV_FOLDS, shuffle=True, random_state=seed)
            )
            self.folds = [
                (self.X_full.iloc[tr], self.y_full[tr], self.X_full.iloc[va], self.y_full[va])
                for tr, va in splitter.split(self.X_full, self.y_full)
            ]
        else:
            self.folds = [(data.X_train, data.y_train, data.X_valid, data.y_valid)]

    @property
    def scheme(self) -> str:
        return f"{CV_FOLDS}-fold" if self.use_cv else "holdout"

    def _subsample(self, X: pd.DataFrame, y: np.ndarray, fraction: float) -> tuple[pd.DataFrame, np.ndarray]:
        if fraction >= 1.0:
            return X, y
        n = max(round(fraction * len(y)), 2 * max(2, len(self.task.classes)))
        if n >= len(y):
            return X, y
        strat = y if self.task.is_classification and np.bincount(y).min() >= 2 else None
        try:
            Xs, _, ys, _ = train_test_split(X, y, train_size=n, random_state=self.seed, stratify=strat)
        except ValueError:
            Xs, _, ys, _ = train_test_split(X, y, train_size=n, random_state=self.seed)
        return Xs, ys

    def score(self, model: Model, X: pd.DataFrame, y: np.ndarray) -> float:
        pred = model.predict(X)
        proba = model.predict_proba(X) if self.task.is_classification else None
        if proba is not None:
            proba = full_proba(model, proba, len(self.task.classes))
        return self.scorer.score(y, pred, proba)

    def evaluate(
        self, config: dict[str, Any], deadline: float | None = None, on_epoch: EpochCallback | None = None
    ) -> Evaluation:
        """Fit ``config`` on each training fold and score it on the matching validation rows."""
        params = dict(config)
        fraction = float(params.pop(DATA_FRACTION, 1.0))
        scores: list[float] = []
        fit_s = units = 0.0
        first: Model | None = None
        for i, (Xtr, ytr, Xva, yva) in enumerate(self.folds):
            Xtr, ytr = self._subsample(Xtr, ytr, fraction)
            model = self.family.build(params, self.task, self.seed, self.cores)
            t0 = time.monotonic()
            # the time to the deadline is shared by the folds still to fit, so a fit cut at the
            # deadline leaves every fold the same share instead of the first fold all of it
            fold_deadline = None if deadline is None else t0 + (deadline - t0) / (len(self.folds) - i)
            model.fit(
                Xtr, ytr, valid=(Xva, yva), deadline=fold_deadline, on_epoch=on_epoch if i == 0 else None
            )
            fit_s += time.monotonic() - t0
            units += model.trained_share * self.family.cost_units(params, len(ytr), self.task)
            scores.append(self.score(model, Xva, yva))
            first = first or model
        assert first is not None
        return Evaluation(float(np.mean(scores)), fit_s, units, first, first.curve)

    def refit(self, config: dict[str, Any], deadline: float | None = None) -> Model:
        """Fit ``config`` on train+valid (the data fraction of halving does not apply here)."""
        params = {k: v for k, v in config.items() if k != DATA_FRACTION}
        model = self.family.build(params, self.task, self.seed, self.cores)
        return model.fit(self.X_full, self.y_full, deadline=deadline)

    def refit_units(self, config: dict[str, Any]) -> float:
        params = {k: v for k, v in config.items() if k != DATA_FRACTION}
        return self.family.cost_units(params, self.n_full, self.task)
