"""Anytime curves, the loss-curve diagnosis and the heatmap cells, on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest

from harness.report import curves, heatmap
from harness.report.trials import TrialRow
from tests.harness.report.conftest import mlp_curve


def row(adapter: str, run_id: int, t: float, v: float | None, params: dict | None = None, **kw) -> TrialRow:
    return TrialRow(
        run_id=run_id,
        idx=int(t * 10),
        adapter=adapter,
        seed=run_id,
        budget_s=10.0,
        group="gbm",
        tuner=True,
        params=params or {},
        value=v,
        elapsed_s=t,
        status=kw.get("status", "ok"),
        curve=kw.get("curve"),
    )


def test_best_so_far_is_a_step_function() -> None:
    t = np.array([0.0, 1.0, 1.5, 2.0, 3.0, 10.0])
    got = curves.best_so_far([(2.0, 0.7), (1.0, 0.5), (3.0, 0.6)], t, greater_is_better=True)
    np.testing.assert_allclose(got, [np.nan, 0.5, 0.5, 0.7, 0.7, 0.7])
    got = curves.best_so_far([(1.0, 5.0), (2.0, 7.0), (3.0, 4.0)], t, greater_is_better=False)
    np.testing.assert_allclose(got, [np.nan, 5.0, 5.0, 5.0, 4.0, 4.0])


def test_anytime_mean_and_band_over_runs() -> None:
    rows = [row("a", 1, 1.0, 0.6), row("a", 1, 4.0, 0.8), row("a", 2, 2.0, 0.7), row("b", 3, 5.0, 0.9)]
    rows.append(row("a", 2, 3.0, 0.99, status="failed"))  # failed trials never count
    a, b = curves.anytime_curves(rows, 10.0, greater_is_better=True)
    assert (a.adapter, a.n_runs, b.n_runs) == ("a", 2, 1)
    i = int(np.searchsorted(a.t, 2.5))  # run 1: 0.6, run 2: 0.7
    assert a.mean[i] == pytest.approx(0.65) and a.low[i] == 0.6 and a.high[i] == 0.7
    assert a.mean[-1] == pytest.approx(0.75)
    assert np.isnan(a.mean[0]) and np.isnan(b.mean[int(np.searchsorted(b.t, 4.0))])
    assert a.t[-1] == pytest.approx(10.0)  # the grid spans the budget


def test_diagnosis_of_overfitting_underfitting_and_fine() -> None:
    over = mlp_curve("overfit")
    d = curves.diagnose(over["train_loss"], over["valid_loss"])
    assert d.verdict == "overfitting" and "rose" in d.reason
    fine = mlp_curve("fine", epochs=40)
    assert curves.diagnose(fine["train_loss"], fine["valid_loss"]).verdict == "fine"
    still = [1.0, 0.8, 0.6, 0.5, 0.4, 0.33, 0.28, 0.24, 0.21, 0.19]
    d = curves.diagnose(still, [x + 0.1 for x in still])
    assert d.verdict == "underfitting" and "still falling" in d.reason
    # a converged net whose valid loss wobbles at the bottom is fine, not "still falling"
    train = [1.7, 0.55, 0.37, 0.2, 0.14, 0.1, 0.1, 0.08, 0.15, 0.09, 0.08, 0.06, 0.06]
    valid = [0.56, 0.25, 0.11, 0.08, 0.065, 0.08, 0.05, 0.06, 0.055, 0.057, 0.034, 0.043, 0.029]
    assert curves.diagnose(train, valid).verdict == "fine"
    d = curves.diagnose([1.0, 0.99, 0.98, 0.97], [1.0, 1.0, 1.0, 1.0])
    assert d.verdict == "underfitting" and "barely fell" in d.reason
    assert curves.diagnose([1.0, 0.5], [1.0, 0.6]).verdict == "unclear"
    d = curves.diagnose([1.0, 0.5, 0.3, 0.2], None)
    assert d.verdict == "unclear" and "no valid-loss curve" in d.reason


def test_best_curve_trial_picks_the_best_network() -> None:
    c = mlp_curve("fine")
    rows = [
        row("optuna:mlp", 1, 1.0, 0.7, curve=c),
        row("optuna:mlp", 1, 2.0, 0.9, curve=c),
        row("random", 2, 1.0, 0.99),  # no curve: not a network
        row("optuna:mlp", 1, 3.0, None, curve=c),
    ]
    assert curves.best_curve_trial(rows, True).value == 0.9
    assert curves.best_curve_trial(rows, False).value == 0.7
    assert curves.best_curve_trial(rows[2:3], True) is None


def test_heatmap_prefers_the_grid_and_bins_many_values() -> None:
    grid = [
        row("grid", 1, i, float(i), {"lr": lr, "depth": d})
        for i, (lr, d) in enumerate([(0.1, 2), (1.0, 2), (0.1, 4), (1.0, 4), (1.0, 4)])
    ]
    rnd = [row("random", 2, i, 0.5, {"lr": 10 ** -(i / 10), "depth": i}) for i in range(40)]
    hm = heatmap.heatmap("gbm", grid + rnd, "lr", "depth")
    assert hm.source == "the grid strategy" and hm.n_trials == 5
    assert hm.x_labels == ["0.1", "1"] and hm.y_labels == ["2", "4"]
    np.testing.assert_allclose(hm.mean, [[0.0, 1.0], [2.0, 3.5]])
    assert hm.count.tolist() == [[1, 1], [1, 2]]
    hm = heatmap.heatmap("gbm", rnd, "lr", "depth")
    assert hm.source == "all strategies" and len(hm.x_labels) == heatmap.n_bins(40) == 4 == len(hm.y_labels)
    assert hm.x_labels[0].startswith("0.000126") and hm.x_labels[-1].endswith("–1")  # log-scale bins
    assert hm.count.sum() == 40
    assert [heatmap.n_bins(n) for n in (4, 10, 32, 50, 500)] == [3, 3, 4, 5, 5]
    assert heatmap.heatmap("gbm", rnd[:3], "lr", "depth") is None
    labels, idx = heatmap.axis(["b", "a", "b"])
    assert labels == ["a", "b"] and idx == [1, 0, 1]
