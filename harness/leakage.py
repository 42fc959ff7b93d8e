"""Runs whose test score beats their own best validation score by more than noise can explain.

An adapter never sees the test labels, so its test score should not beat the best validation score
it reported by more than chance and its refit allow. A run that does is flagged (a possible leak: a
plugin that rebuilt the test labels, or read them from a file); the flag is a warning, not a verdict.

The plausible best test score is built from the run's best valid score in three steps:

1. **Valid noise.** The valid score is itself an estimate on ``n_valid`` rows.
2. **The refit.** Adapters refit on train+valid, 80 % of the rows instead of 60 %. Learning curves
   fall no faster than ``1/n`` (the parametric rate), so a third more data cuts the error by at most
   a quarter: the expected test error is at least ``(0.6 / 0.8) x`` the valid error.
3. **Test noise**, on ``n_test`` rows, tested one-sided at :data:`ALPHA`.

Per metric (the error is ``1 - score`` for scores, the loss itself for losses):

- ``accuracy``: the valid accuracy's exact (Clopper-Pearson) upper bound, the refit allowance, then
  the exact binomial tail of the test's correct count under that rate;
- ``log_loss``, ``rmse`` (as mean squared error), ``mae``, ``r2`` (as mean squared error over the
  test target's variance): means of per-row losses, so by the central limit theorem the difference
  of the valid and test means is normal with variance ``s^2 (1/n_test + 1/n_valid)``, ``s`` the
  spread of the test rows' losses (valid and test rows come from one distribution);
- ``roc_auc``: normal, with the Hanley-McNeil (1982) standard error from the test's class counts
  (the smallest class against the rest for multiclass, the conservative choice);
- ``f1``, ``precision``, ``recall``: normal, as a proportion over the smallest class's test rows
  (fewer rows than the metric really uses: a wider band, fewer false flags).

Valid scores a model selection picked as the best of many are optimistic, which only makes a flag
less likely; an adapter can always report a false valid score, which the flag cannot see.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

ALPHA = 1e-3  # one-sided: at most one honest run in a thousand flagged, before the optimism above
REFIT = 0.6 / 0.8  # the error left after refitting on train+valid, at the fastest learning curve
MIN_ROWS = 10
MARK = "⚠"


def check(
    metric: str,
    valid: float | None,
    test: float | None,
    n_valid: int,
    y_test: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
) -> dict[str, Any] | None:
    """The leakage check of one finished run: ``flagged``, ``p``, ``plausible_best``; None if not checked."""
    n = len(y_test)
    if valid is None or test is None or n < MIN_ROWS or n_valid < MIN_ROWS:
        return None
    if not (math.isfinite(valid) and math.isfinite(test)):
        return None
    if metric == "accuracy":
        best, p = _accuracy(valid, test, n_valid, n)
    elif metric in ("log_loss", "rmse", "mae", "r2"):
        losses = _row_losses(metric, y_test, y_pred, proba)
        if losses is None:
            return None
        to_loss = _loss_scale(metric, y_test)
        best_loss, p = _mean_loss(to_loss(valid), to_loss(test), losses, n_valid)
        best = _from_loss(metric, best_loss, y_test)
    elif metric in ("roc_auc", "f1", "precision", "recall"):
        counts = np.bincount(np.asarray(y_test, dtype=int))
        small = int(counts[counts > 0].min()) if counts.size else 0
        if small < 2:
            return None
        best, p = _normal_score(metric, valid, test, small, n - small, n_valid / n)
    else:
        return None
    return {"flagged": bool(p < ALPHA), "p": float(p), "plausible_best": float(best), "alpha": ALPHA}


def _accuracy(valid: float, test: float, n_valid: int, n_test: int) -> tuple[float, float]:
    k_valid = round(valid * n_valid)
    hi = 1.0 if k_valid >= n_valid else float(stats.beta.ppf(1 - ALPHA, k_valid + 1, n_valid - k_valid))
    rate = 1.0 - REFIT * (1.0 - hi)
    k_test = round(test * n_test)
    return rate, float(stats.binom.sf(k_test - 1, n_test, rate))


def _row_losses(
    metric: str, y: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None
) -> np.ndarray | None:
    if metric == "log_loss":
        if proba is None:
            return None
        q = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
        q = q / q.sum(axis=1, keepdims=True)
        return -np.log(q[np.arange(len(y)), np.asarray(y, dtype=int)])
    err = np.asarray(y, dtype=float) - np.asarray(y_pred, dtype=float)
    return np.abs(err) if metric == "mae" else err**2


def _loss_scale(metric: str, y: np.ndarray) -> Callable[[float], float]:  # a score -> its loss scale
    if metric == "rmse":
        return lambda s: s * s
    if metric == "r2":
        var = float(np.var(np.asarray(y, dtype=float)))
        return lambda s: (1.0 - s) * var
    return lambda s: s


def _from_loss(metric: str, loss: float, y: np.ndarray) -> float:
    if metric == "rmse":
        return math.sqrt(max(loss, 0.0))
    if metric == "r2":
        var = float(np.var(np.asarray(y, dtype=float)))
        return 1.0 - loss / var if var > 0 else 1.0
    return loss


def _mean_loss(valid: float, test: float, losses: np.ndarray, n_valid: int) -> tuple[float, float]:
    n = len(losses)
    expected = REFIT * valid
    s = float(np.std(losses, ddof=1))
    se = s * math.sqrt(1 / n + 1 / n_valid)
    # the plausible best: the refit's expected loss less the noise a one-sided test at ALPHA allows
    best = expected - float(stats.norm.ppf(1 - ALPHA)) * se
    if se == 0.0:
        return best, 0.0 if test < expected else 1.0
    return best, float(stats.norm.sf((expected - test) / se))


def _normal_score(
    metric: str, valid: float, test: float, n1: int, n2: int, share: float
) -> tuple[float, float]:
    expected = 1.0 - REFIT * (1.0 - valid)
    if metric == "roc_auc":
        se_test = _hanley_mcneil(expected, n1, n2)
        se_valid = _hanley_mcneil(valid, max(1.0, n1 * share), max(1.0, n2 * share))
    else:
        se_test = math.sqrt(max(expected * (1 - expected), 0.0) / n1)
        se_valid = math.sqrt(max(valid * (1 - valid), 0.0) / max(1.0, n1 * share))
    se = math.sqrt(se_test**2 + se_valid**2)
    best = min(1.0, expected + float(stats.norm.ppf(1 - ALPHA)) * se)
    if se == 0.0:
        return best, 0.0 if test > expected else 1.0
    return best, float(stats.norm.sf((test - expected) / se))


def _hanley_mcneil(auc: float, n1: float, n2: float) -> float:
    a = min(max(auc, 1e-6), 1 - 1e-6)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return math.sqrt(max(a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a), 0.0) / (n1 * n2))


# --- reading stored runs -------------------------------------------------------------------------
def flagged(r: Any) -> bool:
    """Whether a stored run (a :class:`harness.store.RunRecord`) was flagged."""
    return bool((r.task_info.get("leakage") or {}).get("flagged"))


def summary_lines(runs: list[Any]) -> list[str]:
    """Markdown lines for ``summary.md``: one per flagged run, or nothing."""
    bad = [r for r in runs if flagged(r)]
    if not bad:
        return []
    lines = ["", f"## {MARK} Test scores that beat validation by more than noise explains", ""]
    for r in bad:
        leak = r.task_info["leakage"]
        lines.append(
            f"- {MARK} {r.adapter} on {r.task}, seed {r.seed}, {r.budget_s:g} s: test {r.metric} "
            f"{r.test_score:.4g} beats its best valid score {r.valid_score:.4g} by more than noise and the refit "
            f"explain (plausible best {leak['plausible_best']:.4g}, p = {leak['p']:.1g}): the adapter may have "
            "seen test labels; run it again with --isolate"
        )
    return lines
