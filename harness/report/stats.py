"""Honest statistics over seeds: mean and spread, a paired test, Holm's correction, rank groups.

Scores come as ``{adapter: {seed: score}}`` holding only the runs that finished. Two adapters are
compared on the seeds both finished (the same split per seed, so the comparison is paired) with a
two-sided paired t-test; the p-values of all pairs are corrected together with Holm's step-down
method. An adapter's rank is 1 + the number of adapters that are significantly better than it, so
adapters that cannot be told apart share a rank. Pairs with fewer than ``MIN_SEEDS`` shared seeds are
not tested (a t-test on two differences has one degree of freedom and says nothing useful).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

ALPHA = 0.05
MIN_SEEDS = 3
METHOD = (
    f"rank = 1 + the number of adapters significantly better (two-sided paired t-test over the seeds "
    f"both adapters finished, Holm-corrected over all pairs, alpha = {ALPHA}; a pair needs at least "
    f"{MIN_SEEDS} shared seeds to be tested); adapters with the same rank cannot be told apart"
)

Scores = Mapping[str, Mapping[int, float]]


def mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation; the deviation is None for fewer than two values."""
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def paired_t_pvalue(a: Mapping[int, float], b: Mapping[int, float]) -> float | None:
    """Two-sided p-value of a paired t-test of ``a`` against ``b`` on their shared seeds.

    None when fewer than ``MIN_SEEDS`` seeds are shared. Identical differences give p = 1 when they
    are all zero and p = 0 otherwise (the t statistic is infinite).
    """
    seeds = sorted(set(a) & set(b))
    n = len(seeds)
    if n < MIN_SEEDS:
        return None
    d = [a[s] - b[s] for s in seeds]
    mean = statistics.fmean(d)
    sd = statistics.stdev(d)
    if sd == 0.0 or not math.isfinite(sd):
        return 1.0 if mean == 0.0 else 0.0
    t = mean / (sd / math.sqrt(n))
    from scipy.special import stdtr

    return float(min(1.0, 2.0 * stdtr(n - 1, -abs(t))))


def holm(pvalues: Mapping[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1)."""
    order = sorted(pvalues, key=lambda k: (pvalues[k], k))
    m = len(order)
    out: dict[tuple[str, str], float] = {}
    running = 0.0
    for i, key in enumerate(order):
        running = max(running, min(1.0, (m - i) * pvalues[key]))
        out[key] = running
    return out


@dataclass(frozen=True)
class Ranking:
    """Ranks (None for adapters without a finished run) and the significant pairs (winner, loser)."""

    ranks: dict[str, int | None]
    better: frozenset[tuple[str, str]]
    tested: int  # number of pairs that had enough shared seeds to be tested

    def order(self, means: Mapping[str, float | None], greater_is_better: bool) -> list[str]:
        """Adapters by rank, then by mean score (best first), then by name; unranked last."""

        def key(a: str) -> tuple[int, float, str]:
            r = self.ranks.get(a)
            m = means.get(a)
            mkey = 0.0 if m is None else (-m if greater_is_better else m)
            return (r if r is not None else 10**9, mkey, a)

        return sorted(self.ranks, key=key)


def rank_groups(scores: Scores, greater_is_better: bool, alpha: float = ALPHA) -> Ranking:
    """Rank adapters so that those not significantly different share a rank (see the module doc)."""
    names = sorted(scores)
    scored = [a for a in names if scores[a]]
    raw: dict[tuple[str, str], float] = {}
    for i, a in enumerate(scored):
        for b in scored[i + 1 :]:
            p = paired_t_pvalue(scores[a], scores[b])
            if p is not None:
                raw[(a, b)] = p
    adjusted = holm(raw)
    better: set[tuple[str, str]] = set()
    for (a, b), p in adjusted.items():
        if p >= alpha:
            continue
        seeds = set(scores[a]) & set(scores[b])
        diff = statistics.fmean(scores[a][s] - scores[b][s] for s in seeds)
        a_wins = diff > 0 if greater_is_better else diff < 0
        better.add((a, b) if a_wins else (b, a))
    ranks: dict[str, int | None] = {a: None for a in names}
    for a in scored:
        ranks[a] = 1 + sum(1 for w, loser in better if loser == a)
    return Ranking(ranks, frozenset(better), len(raw))


def plain_ranks(means: Mapping[str, float | None], greater_is_better: bool) -> dict[str, float]:
    """Ranks by mean score with ties averaged (1 = best); adapters without a score share the last ranks."""
    scored = {a: m for a, m in means.items() if m is not None}
    ordered = sorted(scored, key=lambda a: -scored[a] if greater_is_better else scored[a])
    out: dict[str, float] = {}
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and scored[ordered[j + 1]] == scored[ordered[i]]:
            j += 1
        for a in ordered[i : j + 1]:
            out[a] = (i + j) / 2 + 1
        i = j + 1
    missing = sorted(a for a in means if a not in scored)
    if missing:
        last = (len(scored) + 1 + len(means)) / 2
        out.update({a: last for a in missing})
    return out


def paired_gain(a: Mapping[int, float], base: Mapping[int, float], greater_is_better: bool) -> float | None:
    """Mean improvement of ``a`` over ``base`` on shared seeds, positive = better (None if none shared)."""
    seeds = sorted(set(a) & set(base))
    if not seeds:
        return None
    sign = 1.0 if greater_is_better else -1.0
    return statistics.fmean(sign * (a[s] - base[s]) for s in seeds)


def optimism(pairs: list[tuple[float, float]], greater_is_better: bool) -> float | None:
    """Mean of how much better the valid score looks than the test score, over (valid, test) pairs."""
    if not pairs:
        return None
    sign = 1.0 if greater_is_better else -1.0
    return statistics.fmean(sign * (v - t) for v, t in pairs)


def normalised(score: float | None, default: float | None, best: float | None) -> float | None:
    """0 = the default adapter's score, 1 = the best adapter's; None when undefined (best == default)."""
    if score is None or default is None or best is None or best == default:
        return None
    return (score - default) / (best - default)
