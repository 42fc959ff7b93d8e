"""Metrics against values worked out by hand on small arrays (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.errors import HarnessError
from tasks.metrics import METRICS, metrics_for, score_all

# Binary: TP = 2 (rows 1, 4), FP = 0, FN = 1 (row 2), TN = 2 (rows 0, 3).
B_TRUE = np.array([0, 1, 1, 0, 1])
B_PRED = np.array([0, 1, 0, 0, 1])
B_P1 = np.array([0.1, 0.8, 0.2, 0.3, 0.9])  # P(class 1)
B_PROBA = np.column_stack([1 - B_P1, B_P1])


def test_binary_label_metrics_by_hand() -> None:
    s = score_all("binary", B_TRUE, B_PRED)
    assert s["accuracy"] == pytest.approx(4 / 5)
    assert s["precision"] == pytest.approx(2 / 2)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))  # = 0.8
    assert "roc_auc" not in s and "log_loss" not in s  # no probabilities given


def test_binary_proba_metrics_by_hand() -> None:
    s = score_all("binary", B_TRUE, B_PRED, B_PROBA)
    # positives score 0.8, 0.2, 0.9; negatives 0.1, 0.3: 5 of the 6 pairs are ordered right (0.2 < 0.3).
    assert s["roc_auc"] == pytest.approx(5 / 6)
    # probabilities given to the true class: 0.9, 0.8, 0.2, 0.7, 0.9
    assert s["log_loss"] == pytest.approx(
        -(math.log(0.9) + math.log(0.8) + math.log(0.2) + math.log(0.7) + math.log(0.9)) / 5
    )
    # a 1-d array is read as P(class 1)
    assert METRICS["roc_auc"].score(B_TRUE, B_PRED, B_P1) == pytest.approx(5 / 6)


# Multiclass: class 0 P = 1/2 R = 1/2; class 1 P = 2/3 R = 1; class 2 P = 1 R = 1/2.
M_TRUE = np.array([0, 0, 1, 1, 2, 2])
M_PRED = np.array([0, 1, 1, 1, 2, 0])
M_PROBA = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.3, 0.4, 0.3],
        [0.2, 0.6, 0.2],
        [0.1, 0.8, 0.1],
        [0.1, 0.2, 0.7],
        [0.5, 0.2, 0.3],
    ]
)


def test_multiclass_macro_by_hand() -> None:
    s = score_all("multiclass", M_TRUE, M_PRED, M_PROBA, n_classes=3)
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["precision"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert s["recall"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert s["f1"] == pytest.approx((1 / 2 + 0.8 + 2 / 3) / 3)  # per-class F1: 0.5, 0.8, 2/3
    # one-vs-rest AUC: class 0 7/8 (0.3 < 0.5), class 1 8/8, class 2 7.5/8 (0.3 ties 0.3)
    assert s["roc_auc"] == pytest.approx((7 / 8 + 1 + 7.5 / 8) / 3)
    assert s["log_loss"] == pytest.approx(-sum(map(math.log, [0.7, 0.3, 0.6, 0.8, 0.7, 0.3])) / 6)


def test_multiclass_test_set_missing_a_class_still_scores() -> None:
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    proba = M_PROBA[:4]  # columns for 3 classes, class 2 absent from y_true
    s = score_all("multiclass", y_true, y_pred, proba, n_classes=3)
    assert s["log_loss"] == pytest.approx(-sum(map(math.log, [0.7, 0.3, 0.6, 0.8])) / 4)
    # class 0: positives 0.7, 0.3 vs negatives 0.2, 0.1 -> 4/4; class 1: 0.6, 0.8 vs 0.2, 0.4 -> 4/4
    assert s["roc_auc"] == pytest.approx(1.0)
    assert s["accuracy"] == pytest.approx(3 / 4)


def test_regression_by_hand() -> None:
    y, p = np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])
    s = score_all("regression", y, p)
    # errors 0.5, -0.5, 0, -1
    assert s["mae"] == pytest.approx(2.0 / 4)
    assert s["rmse"] == pytest.approx(math.sqrt(1.5 / 4))
    # mean 2.875; total sum of squares 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875
    assert s["r2"] == pytest.approx(1 - 1.5 / 29.1875)
    assert set(s) == {"rmse", "mae", "r2"}


def test_uncomputable_metrics_are_absent_not_raised() -> None:
    one_class = score_all("binary", np.array([1, 1, 1]), np.array([1, 0, 1]), np.array([0.9, 0.2, 0.8]))
    assert "roc_auc" not in one_class and one_class["accuracy"] == pytest.approx(2 / 3)
    flat = score_all("regression", np.array([2.0, 2.0]), np.array([2.0, 3.0]))
    assert "r2" not in flat and flat["mae"] == pytest.approx(0.5)
    nan = score_all("regression", np.array([1.0, 2.0]), np.array([np.nan, 2.0]))
    assert nan == {}
    bad_shape = score_all("binary", B_TRUE, B_PRED[:3])
    assert bad_shape == {}


def test_registry_directions_and_problem_types() -> None:
    assert metrics_for("binary") == ["accuracy", "f1", "precision", "recall", "roc_auc", "log_loss"]
    assert metrics_for("multiclass") == metrics_for("binary")
    assert metrics_for("regression") == ["rmse", "mae", "r2"]
    lower_better = {n for n, m in METRICS.items() if not m.greater_is_better}
    assert lower_better == {"log_loss", "rmse", "mae"}
    assert {n for n, m in METRICS.items() if m.needs_proba} == {"roc_auc", "log_loss"}
    with pytest.raises(HarnessError, match="unknown problem type"):
        metrics_for("ranking")


def test_score_needs_proba_and_accepts_float_codes() -> None:
    with pytest.raises(ValueError, match="needs probabilities"):
        METRICS["log_loss"].score(B_TRUE, B_PRED)
    assert METRICS["accuracy"].score(B_TRUE, B_PRED.astype(float)) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="integer class codes"):
        METRICS["accuracy"].score(B_TRUE, B_PRED + 0.5)
