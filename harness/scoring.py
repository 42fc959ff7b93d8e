"""The parent scores every run with one code path; adapters never compute the reported metrics."""

from __future__ import annotations

import numpy as np

from tasks.metrics import score_all


class BadPredictions(ValueError):
    """Predictions that cannot be scored (wrong length, unknown labels, NaN, bad probabilities)."""


def check_predictions(
    problem_type: str, n_rows: int, n_classes: int, y_pred: np.ndarray | None, proba: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validated predictions; raises :class:`BadPredictions` with a one-line reason."""
    if y_pred is None:
        raise BadPredictions("the adapter returned no predictions")
    y = (
        np.asarray(y_pred).reshape(-1)
        if np.ndim(y_pred) > 1 and np.shape(y_pred)[-1] == 1
        else np.asarray(y_pred)
    )
    if y.ndim != 1 or len(y) != n_rows:
        raise BadPredictions(f"predictions have shape {np.shape(y_pred)}, expected ({n_rows},)")
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        raise BadPredictions(f"predictions are of type {y.dtype}, not numbers")
    y = y.astype(float)
    if not np.all(np.isfinite(y)):
        raise BadPredictions(f"{int((~np.isfinite(y)).sum())} predictions are NaN or infinite")
    if problem_type != "regression":
        if not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= n_classes:
            bad = sorted(set(np.unique(y)) - set(range(n_classes)))[:5]
            raise BadPredictions(f"predicted labels {bad} are not class codes 0..{n_classes - 1}")
        y = y.astype(int)
    if proba is None or problem_type == "regression":
        return y, None
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1 and n_classes == 2:
        p = np.column_stack([1 - p, p])
    if p.shape != (n_rows, n_classes):
        raise BadPredictions(f"probabilities have shape {p.shape}, expected ({n_rows}, {n_classes})")
    if not np.all(np.isfinite(p)) or p.min() < -1e-6 or p.max() > 1 + 1e-6:
        raise BadPredictions("probabilities are NaN or outside [0, 1]")
    sums = p.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-3):
        worst = float(sums[np.argmax(np.abs(sums - 1))])
        raise BadPredictions(f"probabilities do not sum to one (a row sums to {worst:.4g})")
    return y, np.clip(p, 0.0, 1.0)


def score(
    problem_type: str, y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, n_classes: int
) -> dict[str, float]:
    return score_all(problem_type, y_true, y_pred, proba, n_classes=n_classes or None)
