"""Anytime curves (best valid score so far against seconds) and the loss-curve diagnosis."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.report.trials import TrialRow

GRID_POINTS = 200


@dataclass(frozen=True)
class Anytime:
    """Best valid score so far of one adapter on a time grid: mean, min and max over its runs."""

    adapter: str
    t: np.ndarray
    mean: np.ndarray  # NaN where no run has a finished trial yet
    low: np.ndarray
    high: np.ndarray
    n_runs: int


def best_so_far(points: list[tuple[float, float]], t: np.ndarray, greater_is_better: bool) -> np.ndarray:
    """Step function of the best score among trials finished by each time in ``t`` (NaN before any)."""
    out = np.full(len(t), np.nan)
    if not points:
        return out
    pts = sorted(points)
    times = np.array([p[0] for p in pts])
    vals = np.array([p[1] for p in pts])
    best = np.maximum.accumulate(vals) if greater_is_better else np.minimum.accumulate(vals)
    idx = np.searchsorted(times, t, side="right") - 1
    ok = idx >= 0
    out[ok] = best[idx[ok]]
    return out


def anytime_curves(rows: list[TrialRow], budget_s: float, greater_is_better: bool) -> list[Anytime]:
    """One curve per adapter from its scored, timed trials at one budget (adapters in name order)."""
    horizon = max([budget_s] + [r.elapsed_s or 0.0 for r in rows])
    t = np.linspace(0.0, horizon, GRID_POINTS)
    per_run: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for r in rows:
        if r.budget_s != budget_s or r.value is None or r.elapsed_s is None or r.status != "ok":
            continue
        per_run.setdefault(r.adapter, {}).setdefault(r.run_id, []).append((r.elapsed_s, r.value))
    out = []
    for adapter in sorted(per_run):
        stack = np.vstack([best_so_far(p, t, greater_is_better) for _, p in sorted(per_run[adapter].items())])
        has = ~np.all(np.isnan(stack), axis=0)
        mean = np.full(len(t), np.nan)
        low = np.full(len(t), np.nan)
        high = np.full(len(t), np.nan)
        mean[has] = np.nanmean(stack[:, has], axis=0)
        low[has] = np.nanmin(stack[:, has], axis=0)
        high[has] = np.nanmax(stack[:, has], axis=0)
        out.append(Anytime(adapter, t, mean, low, high, stack.shape[0]))
    return out


def best_curve_trial(rows: list[TrialRow], greater_is_better: bool) -> TrialRow | None:
    """The best-scoring finished trial that logged a training-loss curve (a neural network)."""
    cands = [
        r
        for r in rows
        if r.status == "ok" and r.value is not None and r.curve and _clean(r.curve.get("train_loss"))
    ]
    if not cands:
        return None
    sign = 1.0 if greater_is_better else -1.0
    return max(cands, key=lambda r: (sign * (r.value or 0.0), -r.run_id, -r.idx))


def _clean(values: object) -> list[float]:
    if not isinstance(values, list):
        return []
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


@dataclass(frozen=True)
class Diagnosis:
    verdict: str  # "overfitting", "underfitting", "fine" or "unclear"
    reason: str  # a clause that completes "... because <reason>"


OVERFIT_RISE = 0.10  # valid loss ends this fraction above its minimum
STILL_FALLING = 0.02  # valid loss fell this fraction over the last quarter of the epochs ...
STILL_GAINING = 0.05  # ... that fall is this share of its whole fall from the first epoch,
# and it fell in every one of those epochs (an uptick at the bottom is noise, not a trend)
NO_LEARNING = 0.90  # train loss ended above this fraction of its first value


def diagnose(train_loss: list[float], valid_loss: list[float] | None) -> Diagnosis:
    """Over- or underfitting from the train and valid loss per epoch (simple, stated thresholds)."""
    train = _clean(train_loss)
    valid = _clean(valid_loss) if valid_loss else []
    if len(train) < 3:
        return Diagnosis("unclear", f"only {len(train)} epoch(s) were trained, too few to judge")
    t0, t_last = train[0], train[-1]
    if t0 > 0 and t_last > NO_LEARNING * t0:
        return Diagnosis(
            "underfitting",
            f"the train loss barely fell ({t0:.3g} to {t_last:.3g}): the model hardly learned",
        )
    if len(valid) < 3:
        return Diagnosis("unclear", "no valid-loss curve was logged, so overfitting cannot be judged")
    n = len(valid)
    best = int(np.argmin(valid))
    v_min, v_last = valid[best], valid[-1]
    rise = (v_last - v_min) / max(abs(v_min), 1e-12)
    if rise > OVERFIT_RISE:
        return Diagnosis(
            "overfitting",
            f"the valid loss bottomed out at {v_min:.3g} in epoch {best + 1} of {n} and then rose "
            f"{rise:.0%} to {v_last:.3g} while the train loss fell to {t_last:.3g}",
        )
    tail = max(2, n // 4)
    before = valid[-tail - 1] if n > tail else valid[0]
    fall = (before - v_last) / max(abs(before), 1e-12)
    share_of_gain = (before - v_last) / max(valid[0] - v_min, 1e-12)
    steady = all(b < a for a, b in zip(valid[-tail - 1 :], valid[-tail:], strict=False))
    if fall > STILL_FALLING and share_of_gain > STILL_GAINING and steady:
        return Diagnosis(
            "underfitting",
            f"the valid loss was still falling at the end ({fall:.0%} over the last {tail} epochs, "
            f"to {v_last:.3g}): more epochs or a larger model would likely help",
        )
    if best == n - 1:
        return Diagnosis(
            "fine",
            f"the valid loss had flattened out by the end, reaching its lowest value ({v_last:.3g}) in the "
            f"last of {n} epochs without a steady decline, with the train loss at {t_last:.3g}",
        )
    return Diagnosis(
        "fine",
        f"the valid loss levelled off at {v_last:.3g} (minimum {v_min:.3g} in epoch {best + 1} of {n}) "
        f"and did not climb back, with the train loss at {t_last:.3g}",
    )
