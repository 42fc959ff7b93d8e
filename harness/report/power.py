"""How much a design can detect: the smallest difference two adapters must have to be told apart.

The question is about two adapters across tasks, so the unit is a task: on each task the paired
difference of their scaled scores (0 = the task's worst compared adapter, 1 = its best; the scale
the post-hoc test uses, :func:`harness.report.crosstask.scaled`), averaged over the seeds (or folds)
both have. The test is taken to be a two-sided paired t-test over tasks (the Wilcoxon signed-rank
test used for the answer has an asymptotic efficiency of about 0.95 of it under normal data); its
power is computed exactly from the noncentral t distribution. Two things keep the numbers on the
safe side of the test the report really runs: the level is ``alpha / m`` for m pairs of adapters
(the strictest step of Holm's correction), and no design counts as able to separate two adapters
with fewer tasks than the Wilcoxon test needs to reach that level at all (all n tasks won gives
p = 2 / 2^n).

- The detectable difference at this design: the difference in mean scaled score that T tasks at
  the observed spread (the standard deviation of the per-task differences) find with 80 % power.
- The tasks needed: the smallest T that finds the observed difference with 80 % power.

Seeds enter through variance components (one-way random effects over tasks): the spread of a task's
mean difference is ``var_task + var_seed / S``. More seeds shrink only the second part, which says
whether running more seeds or more tasks is the cheaper way to a clearer answer.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

ALPHA = 0.05
POWER = 0.80
MAX_TASKS = 100_000
MORE_SEEDS = 10  # the alternative design offered: this many seeds per task


def t_power(effect: float, n: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided one-sample (paired) t-test on ``n`` units at standardised ``effect``."""
    from scipy import stats

    if n < 2:
        return 0.0
    df = n - 1
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    nc = abs(effect) * math.sqrt(n)
    p = float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))
    # far in the tail scipy's noncentral t can return nan: the power there is 1 or tiny
    return p if math.isfinite(p) else (1.0 if nc > crit else 0.0)


def tasks_needed(effect: float, power: float = POWER, alpha: float = ALPHA) -> int | None:
    """The smallest number of tasks that detects a standardised ``effect`` with ``power``; None if none."""
    if not math.isfinite(effect) or effect == 0:
        return None
    # start from the normal approximation, then walk to the exact answer
    from scipy.stats import norm

    z = (norm.ppf(1 - alpha / 2) + norm.ppf(power)) / abs(effect)
    n = max(2, int(z * z) - 2)
    if n > MAX_TASKS:
        return None
    while n > 2 and t_power(effect, n - 1, alpha) >= power:
        n -= 1
    while t_power(effect, n, alpha) < power:
        n += 1
        if n > MAX_TASKS:
            return None
    return n


def wilcoxon_floor(alpha: float = ALPHA) -> int:
    """The fewest tasks on which a two-sided exact Wilcoxon signed-rank test can reach p <= ``alpha``."""
    return max(1, math.ceil(math.log2(2 / alpha)))


def detectable_effect(n: int, power: float = POWER, alpha: float = ALPHA) -> float | None:
    """The standardised difference ``n`` tasks detect with ``power`` (None for fewer than 2 tasks)."""
    if n < 2:
        return None
    from scipy.optimize import brentq

    hi = 1.0
    while t_power(hi, n, alpha) < power:  # bracket the root: power grows with the effect
        hi *= 2
    return float(brentq(lambda e: t_power(e, n, alpha) - power, 1e-9, hi, xtol=1e-10))


@dataclass(frozen=True)
class Power:
    first: str
    second: str
    alpha: float  # the level the power is computed at (alpha / pairs)
    pairs: int  # the pairs of adapters the correction is over
    tasks: int  # tasks with a scaled difference
    seeds: float  # seeds (or folds) per task, harmonic mean
    diff: float  # observed mean difference, first - second (scaled score)
    sd: float  # standard deviation of the per-task mean differences
    detectable: float | None  # smallest difference detectable at this design, scaled score units
    needed: int | None  # tasks needed to detect ``diff`` at this spread and these seeds
    var_task: float | None  # variance components of a per-task difference (None with one seed)
    var_seed: float | None
    needed_more_seeds: int | None  # tasks needed with MORE_SEEDS seeds per task
    unit: str = "seed"  # what repeats a run on a task: seed, or fold


def analyse(
    first: str, second: str, diffs: list[list[float]], pairs: int = 1, unit: str = "seed"
) -> Power | None:
    """``diffs[t]``: the paired differences (first - second) of scaled score on task t, per seed.

    ``pairs``: how many pairs of adapters are tested (the level is ``ALPHA / pairs``). None with fewer
    than 2 tasks.
    """
    alpha = ALPHA / max(1, pairs)
    floor = wilcoxon_floor(alpha)
    diffs = [d for d in diffs if d]
    if len(diffs) < 2:
        return None
    means = [statistics.fmean(d) for d in diffs]
    n = len(means)
    diff = statistics.fmean(means)
    sd = statistics.stdev(means)
    s = statistics.harmonic_mean([len(d) for d in diffs])
    var_task = var_seed = None
    within = [statistics.variance(d) for d in diffs if len(d) > 1]
    if within:
        # one-way random effects: the mean within-task variance estimates var_seed, the rest is tasks'
        var_seed = statistics.fmean(within)
        var_task = max(0.0, sd * sd - var_seed / s)

    def needs(spread: float) -> int | None:
        if not diff:
            return None
        n_t = 2 if spread == 0 else tasks_needed(diff / spread, alpha=alpha)
        return None if n_t is None else max(n_t, floor)

    detectable: float | None = None
    if n >= floor:
        e = detectable_effect(n, alpha=alpha)
        detectable = None if e is None else e * sd
    more = None
    if var_task is not None and var_seed is not None and s < MORE_SEEDS:
        more = needs(math.sqrt(var_task + var_seed / MORE_SEEDS))
    return Power(
        first, second, alpha, pairs, n, s, diff, sd, detectable, needs(sd), var_task, var_seed, more, unit
    )


def sentence(p: Power) -> str:
    """The power analysis in one sentence a person can act on."""
    reps = f"{p.seeds:.3g} {p.unit}{'s' if p.seeds != 1 else ''}"
    level = f"alpha = {ALPHA:g}" + (f" / {p.pairs} pairs" if p.pairs > 1 else "")
    spread = (
        f"the observed spread (SD {p.sd:.3g} of the per-task difference in scaled score, "
        f"0 = a task's worst adapter, 1 = its best)"
    )
    if p.detectable is None:
        can = (
            f"no difference in mean scaled score between {p.first} and {p.second} can be detected: "
            f"the Wilcoxon test needs at least {wilcoxon_floor(p.alpha)} tasks to reach {level}"
        )
    else:
        can = (
            f"this design detects a difference of {p.detectable:.3g} in mean scaled score between "
            f"{p.first} and {p.second} at 80 % power ({level})"
        )
    head = (
        f"Power: with {p.tasks} tasks x {reps} and {spread}, {can}; the observed difference "
        f"({p.first} minus {p.second}) is {p.diff:+.3g}"
    )
    if p.needed is None:
        return head + ", so no number of tasks would separate them at this spread."
    if p.needed <= p.tasks:
        tail = (
            f"; at this spread about {p.needed} tasks would separate {p.first} from {p.second}, "
            f"no more than the {p.tasks} run here"
        )
    else:
        tail = f"; to separate {p.first} from {p.second} at this spread you would need about {p.needed} tasks"
        tail += f" at {reps} each"
        if p.needed_more_seeds is not None and p.var_task is not None and p.var_seed is not None:
            total = p.var_task + p.var_seed / p.seeds
            between = p.var_task / total if total else 1.0
            why = (
                f"{between:.0%} of the spread is between tasks, which more {p.unit}s do not shrink"
                if between >= 0.5
                else f"{1 - between:.0%} of the spread is {p.unit}-to-{p.unit} noise, which more {p.unit}s shrink"
            )
            tail += f" (about {p.needed_more_seeds} with {MORE_SEEDS} {p.unit}s each: {why})"
    return head + tail + "."
