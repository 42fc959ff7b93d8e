"""Hyperparameter importance per model family with Optuna's fANOVA evaluator on the trial log.

fANOVA fits a random forest to (configuration, valid score) and splits the variance of its
prediction over the search space into the part each hyperparameter explains alone (main effects)
and the part left to interactions. The main effects are reported as they are, not rescaled to
sum to 1, so "explains 60%" means what it says.

The trials did not come from one Optuna study, so a study is built from them: a distribution per
hyperparameter is inferred from the observed values (integers, floats, log scale when positive values
span a decade or more, categories otherwise), and every trial becomes a completed FrozenTrial.
Only hyperparameters set in at least half of the trials are used, and only trials that set all of
them (the ``default`` adapter's empty configuration, for one, drops out).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MIN_TRIALS = 10
MAX_TRIALS = 250  # evenly thinned beyond this, to keep the evaluator well under a second
N_TREES = 64
MAX_DEPTH = 8
LOG_SPAN = 10.0  # positive values spanning this factor or more are treated on a log scale


@dataclass(frozen=True)
class Importance:
    """Per hyperparameter, the share of the variance of the valid score it explains on its own.

    These are fANOVA's main effects (not renormalised): they sum to at most 1, and what is left is
    explained only by interactions between hyperparameters.
    """

    group: str
    n_trials: int
    shares: dict[str, float] = field(default_factory=dict)  # best first
    note: str | None = None  # why there is no result, when there is none

    @property
    def explained(self) -> float:
        return sum(self.shares.values())

    @property
    def ranked(self) -> list[tuple[str, float]]:
        return list(self.shares.items())


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(float(v))


def is_log_scale(values: list[float]) -> bool:
    lo, hi = min(values), max(values)
    return lo > 0 and hi / lo >= LOG_SPAN


def infer_distribution(values: list[Any]) -> Any | None:
    """An Optuna distribution covering ``values``; None when the value never changes."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if len({repr(v) for v in values}) < 2:
        return None
    if all(_is_number(v) for v in values):
        nums = [float(v) for v in values]
        lo, hi = min(nums), max(nums)
        log_scale = is_log_scale(nums)
        if all(isinstance(v, int) for v in values):
            return IntDistribution(int(lo), int(hi), log=log_scale)
        return FloatDistribution(lo, hi, log=log_scale)
    return CategoricalDistribution(sorted({str(v) for v in values}))


def common_params(configs: list[dict[str, Any]]) -> list[str]:
    """Hyperparameters set (not None) in at least half of ``configs``, in first-seen order."""
    counts: Counter[str] = Counter()
    order: dict[str, None] = {}
    for cfg in configs:
        for k, v in cfg.items():
            if v is not None:
                counts[k] += 1
                order.setdefault(k)
    return [k for k in order if counts[k] * 2 >= len(configs)]


def param_importance(
    configs: list[dict[str, Any]], values: list[float], seed: int = 0
) -> tuple[dict[str, float], str | None]:
    """fANOVA shares per hyperparameter (best first), or an empty dict and the reason."""
    params = common_params(configs)
    keep = [i for i, c in enumerate(configs) if all(c.get(p) is not None for p in params)]
    if len(keep) < MIN_TRIALS:
        return {}, f"only {len(keep)} comparable trials (at least {MIN_TRIALS} are needed)"
    if len(keep) > MAX_TRIALS:
        keep = [keep[int(i)] for i in np.linspace(0, len(keep) - 1, MAX_TRIALS)]
    ys = [float(values[i]) for i in keep]
    if max(ys) - min(ys) <= 1e-12 * max(1.0, abs(max(ys))):
        return {}, "the valid score was the same in every trial"
    dists = {}
    for p in params:
        d = infer_distribution([configs[i][p] for i in keep])
        if d is not None:
            dists[p] = d
    if not dists:
        return {}, "no hyperparameter varied between the trials"
    return _fanova(configs, keep, ys, dists, seed), None


def warm_up() -> None:
    """Import what fANOVA needs (optuna's importance evaluators), for reports written later."""
    import optuna.importance  # noqa: F401


def _fanova(configs, keep, ys, dists, seed) -> dict[str, float]:
    import optuna
    from optuna.distributions import CategoricalDistribution, IntDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = []
    for i, y in zip(keep, ys, strict=True):
        params: dict[str, Any] = {}
        for p, d in dists.items():
            v = configs[i][p]
            if isinstance(d, CategoricalDistribution):
                params[p] = str(v)
            elif isinstance(d, IntDistribution):
                params[p] = int(v)
            else:
                params[p] = float(v)
        trials.append(create_trial(params=params, distributions=dists, value=y))
    study = optuna.create_study(direction="maximize")
    study.add_trials(trials)
    evaluator = FanovaImportanceEvaluator(n_trees=N_TREES, max_depth=MAX_DEPTH, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ``normalize`` is marked experimental
        raw = get_param_importances(study, evaluator=evaluator, normalize=False)
    shares = {p: min(1.0, max(0.0, float(v))) for p, v in raw.items() if math.isfinite(float(v))}
    if sum(shares.values()) <= 0:
        return {}
    return dict(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0])))


def group_importance(group: str, configs: list[dict[str, Any]], values: list[float]) -> Importance:
    try:
        shares, note = param_importance(configs, values)
    except Exception as exc:  # noqa: BLE001 - a failed analysis is reported, the report still renders
        log.warning("importance of %s failed: %s: %s", group, type(exc).__name__, exc)
        shares, note = {}, f"the analysis failed ({type(exc).__name__}: {exc})"
    if not shares and note is None:
        note = "fANOVA found no variance to explain"
    return Importance(group, len(configs), shares, note)
