"""Elo ratings across tasks: a Bradley-Terry fit on the 400-point scale, with bootstrap intervals.

As in TabArena: on every task each pair of adapters plays one game; the better task score wins, an
equal score is a tie that counts half a win for each. The Bradley-Terry model says adapter i beats j
with probability p_i / (p_i + p_j); its maximum-likelihood strengths are found with Newton's method,
and the rating is ``400 * log10(p)`` shifted so that the anchor adapter (``default``)
is at 1000. A 95 % interval comes from refitting on tasks drawn with replacement (a seeded bootstrap
over tasks, so the interval says how much the rating depends on which tasks were run).

Every pair also gets one virtual drawn game: without it an adapter that wins every game would have
an infinite rating (the likelihood has no maximum); one draw among many real games moves finite
ratings very little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCALE = 400.0
ANCHOR_RATING = 1000.0
ROUNDS = 200
SEED = 0
PRIOR_DRAWS = 1.0  # virtual drawn games per pair
MAX_ITER = 100
TOL = 1e-10


@dataclass(frozen=True)
class Elo:
    adapters: list[str]
    rating: dict[str, float]
    low: dict[str, float]  # 2.5 % bootstrap quantile
    high: dict[str, float]  # 97.5 %
    anchor: str | None  # the adapter fixed at 1000, or None when the mean is 1000
    rounds: int


def games(oriented: np.ndarray) -> np.ndarray:
    """Per task, who beat whom: ``w[t, i, j]`` = 1 if i beat j on task t, 0.5 for a tie, else 0.

    ``oriented`` is tasks x adapters with higher = better on every task.
    """
    x = np.asarray(oriented, dtype=float)
    a, b = x[:, :, None], x[:, None, :]
    w = (a > b).astype(float) + 0.5 * (a == b)
    idx = np.arange(x.shape[1])
    w[:, idx, idx] = 0.0
    return w


def fit(wins: np.ndarray, prior: float = PRIOR_DRAWS) -> np.ndarray:
    """Bradley-Terry ratings (400 scale, mean 0) from ``wins[i, j]``: games i won against j (ties half).

    Maximum likelihood by Newton's method on the log-strengths (the log-likelihood is concave, so a
    step is halved until it does not decrease it); ``prior`` drawn games per pair keep it finite.
    """
    k = wins.shape[0]
    w = wins + 0.5 * prior * (1.0 - np.eye(k))
    n = w + w.T  # games per pair
    total = w.sum(axis=1)
    center = np.ones((k, k)) / k  # the scale's origin is free: this pins the mean and keeps steps mean-free

    def loglik(theta: np.ndarray) -> float:
        return float(-np.sum(w * np.logaddexp(0.0, theta[None, :] - theta[:, None])))

    theta = np.zeros(k)
    ll = loglik(theta)
    for _ in range(MAX_ITER):
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # P(i beats j)
        grad = total - (n * p).sum(axis=1)
        h = n * p * (1.0 - p)
        step = np.linalg.solve(np.diag(h.sum(axis=1)) - h + center, grad)
        t = 1.0
        while t > 1e-8 and loglik(theta + t * step) < ll - 1e-12:
            t /= 2
        theta = theta + t * step
        ll = loglik(theta)
        if float(np.max(np.abs(t * step))) < TOL:
            break
    r = SCALE / math.log(10) * theta
    return r - r.mean()


def _anchored(r: np.ndarray, anchor: int | None) -> np.ndarray:
    return r - (r[anchor] if anchor is not None else r.mean()) + ANCHOR_RATING


def elo(
    oriented: np.ndarray, adapters: list[str], anchor: str = "default", rounds: int = ROUNDS, seed: int = SEED
) -> Elo:
    """Ratings of ``adapters`` (columns of the tasks x adapters ``oriented`` table) with 95 % intervals."""
    w = games(oriented)
    a = adapters.index(anchor) if anchor in adapters else None
    point = _anchored(fit(w.sum(axis=0)), a)
    rng = np.random.default_rng(seed)
    n_tasks = w.shape[0]
    boot = np.array(
        [_anchored(fit(w[rng.integers(0, n_tasks, n_tasks)].sum(axis=0)), a) for _ in range(rounds)]
    )
    low, high = np.percentile(boot, [2.5, 97.5], axis=0) if rounds else (point, point)
    return Elo(
        list(adapters),
        {n: float(v) for n, v in zip(adapters, point, strict=True)},
        {n: float(v) for n, v in zip(adapters, low, strict=True)},
        {n: float(v) for n, v in zip(adapters, high, strict=True)},
        adapters[a] if a is not None else None,
        rounds,
    )
