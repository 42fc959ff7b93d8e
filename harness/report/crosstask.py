"""Across tasks at one budget: are the differences between adapters real? (Friedman, post-hoc, win rates.)

The unit is a task (a board: one task and split protocol at one budget). An adapter's score on a task
is its mean test score over seeds or folds after failed runs were imputed (:mod:`harness.report.impute`);
scores are turned so that higher is better on every task, since metrics differ in direction.

The rank tests need complete blocks: every adapter compared has a score on every task used. Adapters
that would cost more tasks than they add are left out (greedily, keeping the largest complete table),
then tasks where a remaining adapter has no score are dropped; both are named in the report.

- The Friedman test (Demšar 2006) asks whether any adapter ranks differently from the others.
- The post-hoc test is the Wilcoxon signed-rank test on each pair of adapters over tasks, with Holm's
  correction over all pairs (the Holm step of :mod:`harness.report.stats`). It is the recommendation
  of Benavoli et al. (2016) over the Nemenyi test: a mean-rank test's verdict on two adapters depends on
  the ranks of every other adapter in the comparison, and with more than about 10 tasks the Wilcoxon
  test has more power. A pair counts as significant only when the Friedman test rejects first.
- The signed-rank test ranks the sizes of the differences across tasks, so they must be commensurable
  (Demšar 2006): an RMSE in dollars and an accuracy are not. Each task's scores are therefore scaled
  first, 0 = the task's worst compared adapter and 1 = its best (:func:`scaled`), the normalisation
  of Auto-sklearn 2.0 and TabRepo, which no single adapter can push out of [0, 1]. The power analysis
  uses the same scale.
- The win rate of i over j is the share of tasks where i's score is better (a tie counts half).
- Elo ratings (:mod:`harness.report.elo`) and the power of the design (:mod:`harness.report.power`).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from harness.report import elo as elo_mod
from harness.report import power as power_mod
from harness.report import stats
from harness.report.impute import DEFAULT_POLICY, POLICIES, Cell, TaskScores, counts, impute
from harness.report.leaderboard import DEFAULT_ADAPTER, Board

log = logging.getLogger(__name__)

ALPHA = stats.ALPHA
POSTHOC = (
    "Wilcoxon signed-rank test on each pair of adapters over tasks, Holm-corrected over all pairs, "
    f"alpha = {ALPHA}, counted only when the Friedman test rejects"
)
WHY_POSTHOC = (
    "Why Wilcoxon and Holm rather than Nemenyi: with more than about 10 tasks it is the usual "
    "recommendation (Benavoli et al. 2016), as it has more power and its verdict on a pair does not "
    "depend on the other adapters' ranks. Each task's scores are first scaled from its worst adapter "
    "(0) to its best (1), so that tasks measured in different units weigh alike."
)


@dataclass(frozen=True)
class PairTest:
    a: str  # the better of the two (by the signed-rank sum)
    b: str
    wins: int  # tasks where a's score is better than b's
    ties: int
    losses: int
    p: float  # two-sided Wilcoxon signed-rank p-value
    p_holm: float
    significant: bool


@dataclass
class CrossTask:
    budget_s: float
    policy: str
    tasks: list[str]  # the complete blocks the tests use
    dropped: list[str]  # tasks left out: an adapter compared has no score there
    left_out: list[str]  # adapters left out: no score on too many tasks
    adapters: list[str]  # best average rank first
    avg_rank: dict[str, float]
    friedman: tuple[float, float] | None  # (chi-squared, p); None with fewer than 3 adapters
    pairs: list[PairTest]
    winrate: np.ndarray  # adapters x adapters, in ``adapters`` order
    counts: dict[str, Cell]  # per adapter, over the tasks used
    total: dict[str, Cell]  # per adapter, over every task of the budget
    seeds: int  # the fewest seeds (or folds) of any task used
    elo: elo_mod.Elo | None = None
    power: power_mod.Power | None = None
    oriented: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # tasks x adapters

    @property
    def top(self) -> str | None:
        return self.adapters[0] if self.adapters else None

    @property
    def rejects(self) -> bool:
        """Whether the omnibus test allows post-hoc claims (with two adapters there is no omnibus)."""
        return self.friedman is None or self.friedman[1] < ALPHA

    def significant(self) -> list[PairTest]:
        return [p for p in self.pairs if p.significant]

    def pair(self, a: str, b: str) -> PairTest | None:
        return next((p for p in self.pairs if {p.a, p.b} == {a, b}), None)

    def cliques(self) -> list[list[str]]:
        """Runs of adapters, adjacent in rank order, none of which differ significantly (maximal, >= 2)."""
        sig = {frozenset((p.a, p.b)) for p in self.significant()}
        runs: list[tuple[int, int]] = []
        k = len(self.adapters)
        for i in range(k):
            j = i
            while j + 1 < k and all(
                frozenset((self.adapters[m], self.adapters[j + 1])) not in sig for m in range(i, j + 1)
            ):
                j += 1
            if j > i and not any(a <= i and j <= b for a, b in runs):
                runs.append((i, j))
        return [self.adapters[i : j + 1] for i, j in runs]


def unjoined(ct: CrossTask) -> list[PairTest]:
    """Pairs not significantly different that no clique joins (another adapter between them differs)."""
    cliques = [set(c) for c in ct.cliques()]
    return [p for p in ct.pairs if not p.significant and not any({p.a, p.b} <= c for c in cliques)]


def complete_blocks(tables: list[TaskScores]) -> tuple[list[str], list[TaskScores]]:
    """The adapters and tasks of the largest complete table found by leaving out adapters greedily."""
    names = sorted({a for t in tables for a in t.means()})

    def kept(adapters: list[str]) -> list[TaskScores]:
        return [t for t in tables if all(a in t.means() for a in adapters)]

    while len(names) > 2:
        worst = max(names, key=lambda a: (sum(a not in t.means() for t in tables), a))
        fewer = [a for a in names if a != worst]
        if len(fewer) * len(kept(fewer)) <= len(names) * len(kept(names)):
            break
        names = fewer
    return names, kept(names)


def _oriented(tables: list[TaskScores], adapters: list[str]) -> np.ndarray:
    rows = [[t.means()[a] * (1.0 if t.greater_is_better else -1.0) for a in adapters] for t in tables]
    return np.array(rows, dtype=float).reshape(len(tables), len(adapters))


def spans(oriented: np.ndarray) -> np.ndarray:
    """Per task (row), its best score minus its worst: the unit of :func:`scaled` (0 where all tie)."""
    if not oriented.size:
        return np.zeros(oriented.shape[0])
    return oriented.max(axis=1) - oriented.min(axis=1)


def scaled(oriented: np.ndarray) -> np.ndarray:
    """Each task's (row's) scores on one scale: 0 = its worst adapter, 1 = its best; 0 where all tie."""
    if not oriented.size:
        return oriented.copy()
    span = spans(oriented)[:, None]
    low = oriented.min(axis=1, keepdims=True)
    return np.divide(oriented - low, span, out=np.zeros_like(oriented), where=span > 0)


def friedman(oriented: np.ndarray) -> tuple[float, float] | None:
    """Friedman's chi-squared and p over tasks (rows) for adapters (columns); None below 3 x 2."""
    from scipy.stats import friedmanchisquare

    if oriented.shape[1] < 3 or oriented.shape[0] < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every task a full tie divides by zero
        res = friedmanchisquare(*oriented.T)
    chi2, p = float(res.statistic), float(res.pvalue)
    return (chi2, p) if math.isfinite(chi2) else (0.0, 1.0)


def wilcoxon_p(d: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the differences ``d`` (zeros split, as Demšar advises)."""
    from scipy.stats import wilcoxon

    if not np.any(d != 0):
        return 1.0
    return float(wilcoxon(d, zero_method="zsplit").pvalue)


def _signed_rank_sum(d: np.ndarray) -> float:
    """R+ - R- of the Wilcoxon test: positive when the first adapter of the pair tends to be better."""
    from scipy.stats import rankdata

    nz = d[d != 0]
    return float(np.sum(np.sign(nz) * rankdata(np.abs(nz)))) if nz.size else 0.0


def _pairs(oriented: np.ndarray, adapters: list[str], gate: bool) -> list[PairTest]:
    if oriented.shape[0] < 2:
        return []
    raw: dict[tuple[str, str], float] = {}
    tallies: dict[tuple[str, str], tuple[int, int, int]] = {}
    for i, a in enumerate(adapters):
        for j in range(i + 1, len(adapters)):
            win, lose, d = a, adapters[j], oriented[:, i] - oriented[:, j]
            if _signed_rank_sum(d) < 0:  # name the better of the pair first, as the test sees it
                win, lose, d = lose, win, -d
            raw[(win, lose)] = wilcoxon_p(d)
            tallies[(win, lose)] = (int(np.sum(d > 0)), int(np.sum(d == 0)), int(np.sum(d < 0)))
    adjusted = stats.holm(raw)
    return [
        PairTest(a, b, *tallies[(a, b)], raw[(a, b)], adjusted[(a, b)], gate and adjusted[(a, b)] < ALPHA)
        for a, b in raw
    ]


def _scaled_diffs(tables: list[TaskScores], span: np.ndarray, first: str, second: str) -> list[list[float]]:
    """Per task, the per-seed differences first - second on the scale of :func:`scaled`.

    ``span[t]``: task t's unit (:func:`spans`); a task where every adapter ties has none and is left out.
    """
    out = []
    for t, unit in zip(tables, span, strict=True):
        if unit == 0:
            continue
        sign = 1.0 if t.greater_is_better else -1.0
        a, b = t.cells[first].scores, t.cells[second].scores
        out.append([sign * (a[s] - b[s]) / unit for s in sorted(set(a) & set(b))])
    return out


def cross_task(
    budget_s: float, boards: list[Board], policy: str = DEFAULT_POLICY, deep: bool = True
) -> CrossTask:
    """Everything across the tasks of one budget; ``deep=False`` skips Elo and power (just the ranking)."""
    tables = sorted(impute(boards, policy), key=lambda t: t.task)
    adapters, used = complete_blocks(tables)
    everyone = sorted({a for t in tables for a in t.cells})
    oriented = _oriented(used, adapters)
    ranks: dict[str, float] = {}
    if used and adapters:
        from scipy.stats import rankdata

        r = rankdata(-oriented, axis=1).mean(axis=0)
        ranks = {a: float(v) for a, v in zip(adapters, r, strict=True)}
    order = sorted(adapters, key=lambda a: (ranks.get(a, math.inf), a))
    idx = [adapters.index(a) for a in order]
    oriented = oriented[:, idx] if used else oriented.reshape(0, len(order))
    fr = friedman(oriented)
    ct = CrossTask(
        budget_s,
        policy,
        [t.task for t in used],
        sorted({t.task for t in tables} - {t.task for t in used}),
        [a for a in everyone if a not in order],
        order,
        ranks,
        fr,
        _pairs(scaled(oriented), order, fr is None or fr[1] < ALPHA),
        elo_mod.games(oriented).mean(axis=0) if used else np.zeros((len(order), len(order))),
        {a: counts(used, a) for a in everyone},
        {a: counts(tables, a) for a in everyone},
        min((len(b.seeds) for b in boards if b.task in {t.task for t in used}), default=0),
        oriented=oriented,
    )
    if deep and len(used) >= 2 and len(order) >= 2:
        ct.elo = elo_mod.elo(oriented, order, anchor=DEFAULT_ADAPTER)
        diffs = _scaled_diffs(used, spans(oriented), order[0], order[1])
        folds = all(b.repetition == "fold" for b in boards if b.task in ct.tasks)
        ct.power = power_mod.analyse(order[0], order[1], diffs, len(ct.pairs), "fold" if folds else "seed")
    log.debug("across %d tasks at %g s (%s): %s", len(used), budget_s, policy, order)
    return ct


def tops(budget_s: float, boards: list[Board]) -> dict[str, str | None]:
    """The adapter with the best average rank under each imputation policy."""
    return {p: cross_task(budget_s, boards, p, deep=False).top for p in POLICIES}
