"""The valid score over two hyperparameters, as a table of cells (mean score per cell).

Taken from the grid strategy's trials when it varied both hyperparameters (a grid fills the cells
evenly), otherwise from the trials of every strategy. Few distinct values become one cell each;
many numeric values are cut into equal-width bins (on a log scale when they span a decade).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.report.importance import _is_number, is_log_scale
from harness.report.trials import TrialRow

MAX_LEVELS = 6  # distinct values shown as they are; more are binned
BINS = 5


@dataclass(frozen=True)
class Heatmap:
    group: str
    x: str
    y: str
    x_labels: list[str]
    y_labels: list[str]
    mean: np.ndarray  # (len(y_labels), len(x_labels)), NaN where no trial fell
    count: np.ndarray
    source: str  # "the grid strategy" or "all strategies"
    n_trials: int


def _label(v: Any) -> str:
    if isinstance(v, float):
        return number(v)
    return str(v)


def number(v: float) -> str:
    """Short and readable: 1000 not 1e+03, 0.055 not 0.05477."""
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def n_bins(n_trials: int) -> int:
    """Fewer, fuller cells for few trials: 3 bins up to about 30 trials, at most ``BINS``."""
    return int(min(BINS, max(3, round((n_trials / 2) ** 0.5))))


def axis(values: list[Any], bins: int = BINS) -> tuple[list[str], list[int]]:
    """Labels and, per value, the index of its cell."""
    distinct = {repr(v): v for v in values}
    if all(_is_number(v) for v in values):
        nums = np.array([float(v) for v in values])
        if len(distinct) <= MAX_LEVELS:
            levels = sorted({float(v) for v in values})
            return [_label(v) for v in levels], [levels.index(float(v)) for v in values]
        log = is_log_scale(list(nums))
        x = np.log10(nums) if log else nums
        edges = np.linspace(x.min(), x.max(), bins + 1)
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
        shown = 10**edges if log else edges
        labels = [f"{number(shown[i])}–{number(shown[i + 1])}" for i in range(bins)]
        return labels, [int(i) for i in idx]
    levels_s = sorted({str(v) for v in values})
    return levels_s, [levels_s.index(str(v)) for v in values]


def heatmap(group: str, rows: list[TrialRow], x: str, y: str) -> Heatmap | None:
    """Mean valid score over ``x`` and ``y``; None when there are too few trials that set both."""

    def usable(rs: list[TrialRow]) -> list[TrialRow]:
        return [r for r in rs if r.params.get(x) is not None and r.params.get(y) is not None]

    def varies(rs: list[TrialRow]) -> bool:
        return all(len({repr(r.params[p]) for r in rs}) >= 2 for p in (x, y))

    grid = usable([r for r in rows if r.strategy == "grid"])
    if len(grid) >= 4 and varies(grid):
        chosen, source = grid, "the grid strategy"
    else:
        chosen, source = usable(rows), "all strategies"
        if len(chosen) < 4 or not varies(chosen):
            return None
    bins = n_bins(len(chosen))
    x_labels, xi = axis([r.params[x] for r in chosen], bins)
    y_labels, yi = axis([r.params[y] for r in chosen], bins)
    total = np.zeros((len(y_labels), len(x_labels)))
    count = np.zeros((len(y_labels), len(x_labels)), dtype=int)
    for r, i, j in zip(chosen, yi, xi, strict=True):
        total[i, j] += float(r.value or 0.0)
        count[i, j] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return Heatmap(group, x, y, x_labels, y_labels, mean, count, source, len(chosen))
