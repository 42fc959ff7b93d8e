"""The one metric registry: every reported score is computed here, by the parent, never by an adapter.

Classification metrics take integer class codes (0..K-1) and, where they need them, an (n, K) array
of probabilities. Binary F1, precision and recall score class 1 as the positive class; multiclass ones
are macro averages over the classes present in ``y_true`` or ``y_pred`` (scikit-learn's convention).
ROC-AUC is ``proba[:, 1]`` for binary and the macro one-vs-rest mean for multiclass (over the
classes that have both positives and negatives in ``y_true``). Log loss uses every column of
``proba`` as a label, so a test set that lacks a class still scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn import metrics as skm

from harness.errors import HarnessError

CLASSIFICATION = frozenset({"binary", "multiclass"})
REGRESSION = frozenset({"regression"})
PROBLEM_TYPES = ("binary", "multiclass", "regression")
_EPS = 1e-15

ScoreFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", int], float]


@dataclass(frozen=True)
class Metric:
    """A named score with its direction; ``score`` raises ``ValueError`` when it cannot be computed."""

    name: str
    greater_is_better: bool
    needs_proba: bool
    problem_types: frozenset[str]
    fn: ScoreFn = field(repr=False, compare=False)

    def score(self, y_true, y_pred, proba=None, *, n_classes: int | None = None) -> float:
        """Score predictions. ``n_classes`` defaults to ``proba.shape[1]`` or the largest code + 1."""
        yt = np.asarray(y_true)
        yp = np.asarray(y_pred)
        if yt.ndim != 1 or yp.shape != yt.shape or len(yt) == 0:
            raise ValueError(f"{self.name}: y_true {yt.shape} and y_pred {yp.shape} must be equal 1-d shapes")
        p = None
        if self.needs_proba:
            if proba is None:
                raise ValueError(f"{self.name} needs probabilities")
            p = _as_proba(proba, len(yt))
        if self.problem_types == REGRESSION:
            yt, yp = yt.astype(float), yp.astype(float)
            if not (np.all(np.isfinite(yt)) and np.all(np.isfinite(yp))):
                raise ValueError(f"{self.name}: NaN or infinite values")
            k = 0
        else:
            yt, yp = _as_codes(yt), _as_codes(yp)
            k = n_classes or (p.shape[1] if p is not None else max(int(yt.max()), int(yp.max())) + 1)
            k = max(int(k), 2)
        value = float(self.fn(yt, yp, p, k))
        if not math.isfinite(value):
            raise ValueError(f"{self.name} is not finite here")
        return value


def _as_codes(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise ValueError("classification labels must be integer class codes")
    return y.astype(np.int64)


def _as_proba(proba, n: int) -> np.ndarray:
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:  # binary: probability of class 1
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[0] != n or not np.all(np.isfinite(p)):
        raise ValueError(f"probabilities of shape {p.shape} do not fit {n} rows")
    return p


def _average(k: int) -> str:
    return "binary" if k == 2 else "macro"


def _accuracy(yt, yp, p, k) -> float:
    return float(np.mean(yt == yp))


def _prf(kind: str) -> ScoreFn:
    fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[kind]

    def score(yt, yp, p, k) -> float:
        if k == 2:
            return float(fn(yt, yp, average="binary", pos_label=1, labels=[0, 1], zero_division=0))
        return float(fn(yt, yp, average="macro", zero_division=0))

    return score


def _roc_auc(yt, yp, p, k) -> float:
    if k == 2:
        if len(np.unique(yt)) < 2:
            raise ValueError("roc_auc needs both classes in y_true")
        return float(skm.roc_auc_score(yt, p[:, 1]))
    if p.shape[1] < k or yt.max() >= p.shape[1]:
        raise ValueError("roc_auc: probabilities have fewer columns than classes")
    aucs = [skm.roc_auc_score(yt == c, p[:, c]) for c in range(p.shape[1]) if 0 < np.sum(yt == c) < len(yt)]
    if len(aucs) < 2:
        raise ValueError("roc_auc needs at least two classes in y_true")
    return float(np.mean(aucs))


def _log_loss(yt, yp, p, k) -> float:
    if yt.min() < 0 or yt.max() >= p.shape[1]:
        raise ValueError("log_loss: a label has no probability column")
    q = np.clip(p, _EPS, 1.0)
    q = q / q.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(q[np.arange(len(yt)), yt])))


def _rmse(yt, yp, p, k) -> float:
    return float(np.sqrt(np.mean((yt - yp) ** 2)))


def _mae(yt, yp, p, k) -> float:
    return float(np.mean(np.abs(yt - yp)))


def _r2(yt, yp, p, k) -> float:
    ss_tot = float(np.sum((yt - yt.mean()) ** 2))
    if ss_tot == 0.0:
        raise ValueError("r2 is undefined when y_true is constant")
    return 1.0 - float(np.sum((yt - yp) ** 2)) / ss_tot


def _metric(name: str, gib: bool, proba: bool, types: frozenset[str], fn: ScoreFn) -> Metric:
    return Metric(name, gib, proba, types, fn)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        _metric("accuracy", True, False, CLASSIFICATION, _accuracy),
        _metric("f1", True, False, CLASSIFICATION, _prf("f1")),
        _metric("precision", True, False, CLASSIFICATION, _prf("precision")),
        _metric("recall", True, False, CLASSIFICATION, _prf("recall")),
        _metric("roc_auc", True, True, CLASSIFICATION, _roc_auc),
        _metric("log_loss", False, True, CLASSIFICATION, _log_loss),
        _metric("rmse", False, False, REGRESSION, _rmse),
        _metric("mae", False, False, REGRESSION, _mae),
        _metric("r2", True, False, REGRESSION, _r2),
    )
}

DEFAULT_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "rmse"}


def metrics_for(problem_type: str) -> list[str]:
    """Names of every metric that applies to ``problem_type``, in registry order."""
    if problem_type not in PROBLEM_TYPES:
        raise HarnessError(f"unknown problem type {problem_type!r}; use one of {', '.join(PROBLEM_TYPES)}")
    return [name for name, m in METRICS.items() if problem_type in m.problem_types]


def check_metric(name: str, problem_type: str) -> None:
    """Raise ``HarnessError`` unless ``name`` is a metric of ``problem_type``."""
    if name not in metrics_for(problem_type):
        raise HarnessError(
            f"metric {name!r} does not apply to a {problem_type} task; "
            f"use one of {', '.join(metrics_for(problem_type))}"
        )


def score_all(
    problem_type: str, y_true, y_pred, proba=None, n_classes: int | None = None
) -> dict[str, float]:
    """Every metric of ``problem_type`` that can be computed; the others are absent (never raised)."""
    if problem_type == "binary":
        n_classes = 2
    elif problem_type == "multiclass":
        if n_classes is None and proba is not None:
            n_classes = int(np.shape(proba)[1]) if np.ndim(proba) == 2 else None
        n_classes = max(n_classes or 3, 3)
    out: dict[str, float] = {}
    for name in metrics_for(problem_type):
        m = METRICS[name]
        if m.needs_proba and proba is None:
            continue
        try:
            out[name] = m.score(y_true, y_pred, proba, n_classes=n_classes)
        except (ValueError, TypeError, IndexError):
            continue
    return out
