"""The one tuning loop every strategy shares: it owns evaluation, timing, errors and stopping.

A ``Strategy`` only proposes configurations (``ask``) and learns from their
results (``tell``), in the spirit of scikit-learn's ``BaseSearchCV`` and bayesmark's
suggest/observe. Before each trial the loop predicts its cost from the trials so far
(seconds per cost unit of the family) and stops when the trial plus the final refit
on train+valid would not end inside the budget (a refit that cannot fit in the time left
anyway is not waited for: the best trial's model is kept and the search uses that time).
The refit of the best configuration is predicted from that configuration's own trial (its
seconds per unit, scaled to train+valid), which is closer than the model over all trials.
For a family whose fit stops at a deadline with a usable model (gradient boosting, the neural
networks), that proposal still runs, cut at the deadline if need be, when at least
``CUT_TRIAL_MIN_SHARE`` of the budget is left for it; should it end early (a prediction from a
few trials can be far too high), the search goes on. The time is used, and the sequence of
trials stays the seeded one (only where it ends depends on time, and the score of a trial cut
at the deadline). The refit's reserve is a prediction too: for those families the search goes on
in whatever time the refit leaves, and a configuration that beats the refitted one is refitted in
turn (or its trial model kept, as above). The outcome says whether the strategy ran out of proposals
(``search_exhausted``: a finished grid or hand-picked list, ``default``'s one configuration)
and why the search ended.
"""

from __future__ import annotations

import logging
import time
import traceback
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from adapters.base import FitContext, FitData, TaskInfo, Trial, TrialLogger
from adapters.tuning.cost import CostModel
from adapters.tuning.evaluate import Evaluation, Evaluator
from adapters.tuning.families.base import EpochCallback, Family, Model
from adapters.tuning.spaces import Space

log = logging.getLogger(__name__)

SAFETY = 1.3  # predicted seconds are multiplied by this
# ... and a refit predicted from its own configuration's trial by this: only the load can change
OWN_TRIAL_SAFETY = 1.15
FIRST_TRIAL_SHARE = 0.6  # without any estimate, a trial may use this share of what is left
# a trial that may be cut at the deadline runs past its prediction when this share of the budget is
# left for it; below, the rest is too short to tell configurations apart
CUT_TRIAL_MIN_SHARE = 0.01


def margin_s(budget_s: float) -> float:
    """Seconds kept free at the end of the budget: what a trial cut at its deadline takes past it
    (the boosting round or batch in flight, scoring the valid rows: gradient boosting, whose scoring
    grows with its trees, stops early enough to score them, see ``gbm.ScoringClock``) and returning
    from ``fit``; the refit ends half of it before the budget. The harness stops timing ``fit`` when
    it returns."""
    return 0.25 + 0.005 * budget_s


class TrialPruned(Exception):
    """Raised from a strategy's epoch callback to stop an unpromising trial."""


class TuningFailed(RuntimeError):
    """Every trial failed; the message names the most common error."""


class Strategy(ABC):
    """What to try next. ``tell`` gets scores where greater is better (the loop flips the sign)."""

    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        self.space, self.family, self.task, self.seed = space, family, task, seed

    @abstractmethod
    def ask(self) -> dict[str, Any] | None:
        """The next configuration, or None when the strategy has nothing more to try."""

    def tell(self, config: dict[str, Any], score: float | None, status: str) -> None:
        """The result of the last ``ask``: score (greater is better) or None when failed/pruned."""
        return None

    def epoch_callback(self) -> EpochCallback | None:
        """A per-epoch hook for the trial about to run (pruning); None for no pruning."""
        return None


@dataclass
class TuneOutcome:
    best_config: dict[str, Any]
    best_score: float
    model: Model
    refitted: bool
    validation: str
    trials: list[Trial] = field(default_factory=list)
    search_exhausted: bool = False  # the strategy had nothing more to try (not the budget ended it)
    search_end: str = ""  # why the search ended, in words


class TuningLoop:
    """Run ``strategy`` over ``family`` on ``data`` inside ``ctx``'s budget, logging every trial."""

    def __init__(
        self,
        strategy: Strategy,
        family: Family,
        data: FitData,
        ctx: FitContext,
        log_trial: TrialLogger,
        max_trials: int | None = None,
    ) -> None:
        self.strategy, self.family, self.ctx, self.log_trial = strategy, family, ctx, log_trial
        self.max_trials = max_trials
        self.evaluator = Evaluator(data, family, ctx.seed, ctx.cores)
        self.scorer = self.evaluator.scorer
        self.cost = CostModel()
        self.margin = margin_s(ctx.budget_s)
        self.trials: list[Trial] = []
        self.best: tuple[dict[str, Any], Evaluation] | None = None
        # the configuration refitted on train+valid, its final model and whether the refit happened
        self.final: tuple[dict[str, Any], Model, bool] | None = None
        # a proposal asked for but not run when the search stopped: the search after the refit starts
        # with it, so the sequence of trials stays the seeded one
        self.pending: dict[str, Any] | None = None
        self.search_exhausted = False
        self.search_end = ""

    def _trial_units(self, config: dict[str, Any]) -> float:
        params = {k: v for k, v in config.items() if not k.startswith("_")}
        folds = self.evaluator.folds
        fraction = float(config.get("_data_fraction", 1.0))
        n = int(len(folds[0][1]) * fraction)
        return len(folds) * self.family.cost_units(params, n, self.evaluator.task)

    def _refit_s(self, config: dict[str, Any], ev: Evaluation | None = None) -> float:
        """Predicted seconds of refitting ``config`` on train+valid; ``ev`` is its trial, if it ran."""
        units = self.evaluator.refit_units(config)
        if ev is not None and ev.units > 0:
            return OWN_TRIAL_SAFETY * ev.fit_s / ev.units * units
        return SAFETY * (self.cost.predict(units) or 0.0)

    def _refit_reserve(self, config: dict[str, Any], ev: Evaluation | None = None) -> float:
        """Seconds to keep free for refitting ``config``: none when that refit cannot fit in the time
        left anyway (its trial model will be kept, see ``_refit``), so the search may use them."""
        refit = self._refit_s(config, ev)
        return refit if refit <= self.ctx.remaining() - self.margin / 2 else 0.0

    def _best_refit_reserve(self) -> float:
        if self.best is None or self._best_is_final():
            return 0.0
        return self._refit_reserve(*self.best)

    def _best_is_final(self) -> bool:
        return self.best is not None and self.final is not None and self.final[0] is self.best[0]

    def _should_stop(self, config: dict[str, Any]) -> str | None:
        remaining = self.ctx.remaining()
        if remaining <= self.margin:
            return "the budget is spent"
        predicted = self.cost.predict(self._trial_units(config))
        if predicted is None:
            return None
        # time for refitting the best so far; should ``config`` beat it and not fit, its trial model is kept
        refit = self._best_refit_reserve() if self.best else self._refit_reserve(config)
        if SAFETY * predicted + refit + self.margin > remaining:
            return f"the next trial (~{predicted:.1f} s) and the refit (~{refit:.1f} s) would not fit in {remaining:.1f} s"
        return None

    def _trial_deadline(self) -> float:
        if self.best is None:
            reserve = (1 - FIRST_TRIAL_SHARE) * max(self.ctx.remaining() - self.margin, 0.0)
        else:
            reserve = self._best_refit_reserve()
        return self.ctx.deadline - self.margin - reserve

    def _run_trial(self, config: dict[str, Any]) -> Trial:
        t0 = time.monotonic()
        on_epoch = self.strategy.epoch_callback()
        try:
            ev = self.evaluator.evaluate(config, deadline=self._trial_deadline(), on_epoch=on_epoch)
        except TrialPruned as exc:
            wall = time.monotonic() - t0
            self.cost.observe(wall, self._trial_units(config))
            self.strategy.tell(config, None, "pruned")
            return self._trial(config, None, wall, "pruned", None, getattr(exc, "curve", None))
        except Exception as exc:  # noqa: BLE001 - a failed trial is a result, not a crash
            wall = time.monotonic() - t0
            log.debug("trial %s failed:\n%s", config, traceback.format_exc())
            self.strategy.tell(config, None, "failed")
            return self._trial(config, None, wall, "failed", f"{type(exc).__name__}: {exc}"[:500], None)
        wall = time.monotonic() - t0
        self.cost.observe(wall, ev.units)
        if self.best is None or self.scorer.better(ev.score, self.best[1].score):
            self.best = (dict(config), ev)
        self.strategy.tell(config, ev.score if self.scorer.greater_is_better else -ev.score, "ok")
        return self._trial(config, ev.score, ev.fit_s, "ok", None, ev.curve)

    def _trial(self, config, score, fit_s, status, error, curve) -> Trial:
        trial = Trial(
            config=dict(config),
            valid_score=score,
            fit_s=fit_s,
            elapsed_s=self.ctx.elapsed(),
            status=status,
            error=error,
            family=self.family.name,
            curve=curve,
        )
        self.trials.append(trial)
        self.log_trial(trial)
        return trial

    def run(self) -> TuneOutcome:
        """Search, refit the best; for a family cut at deadlines, search on in the time the refit left
        (its reserve is a prediction) and refit again if a better configuration turns up."""
        while True:
            self._search()
            log.info("search ended after %d trials: %s", len(self.trials), self.search_end)
            if self.best is None:
                errors = Counter(t.error for t in self.trials if t.error)
                if not errors:
                    raise TuningFailed(f"no trial finished inside the budget of {self.ctx.budget_s:.0f} s")
                error, n = errors.most_common(1)[0]
                raise TuningFailed(
                    f"every trial failed ({len(self.trials)} trials); most common error ({n}x): {error}"
                )
            if self._best_is_final():
                break
            self.final = (self.best[0], *self._refit(*self.best))
            left = self.ctx.deadline - self.margin - time.monotonic()
            if (
                self.search_exhausted
                or not self.family.stops_at_deadline
                or left < CUT_TRIAL_MIN_SHARE * self.ctx.budget_s
            ):
                break
            log.info("searching on in the %.1f s the refit left", left)
        assert self.final is not None  # set before the loop ends
        config, ev = self.best
        _, model, refitted = self.final
        return TuneOutcome(
            config,
            ev.score,
            model,
            refitted,
            self.evaluator.scheme,
            self.trials,
            self.search_exhausted,
            self.search_end,
        )

    def _search(self) -> None:
        """Run trials until the strategy is exhausted or the budget ends; set ``search_end``."""
        while True:
            if self.max_trials is not None and len(self.trials) >= self.max_trials:
                self.search_exhausted = True
                self.search_end = f"the strategy tries {self.max_trials} configuration(s) by design"
                return
            config = self.pending if self.pending is not None else self.strategy.ask()
            self.pending = None
            if config is None:
                self.search_exhausted = True
                self.search_end = f"the strategy had nothing more to try after {len(self.trials)} trials"
                return
            reason = self._should_stop(config)
            if reason:
                left = self._trial_deadline() - time.monotonic()
                if not self.family.stops_at_deadline or left < CUT_TRIAL_MIN_SHARE * self.ctx.budget_s:
                    self.search_end, self.pending = reason, config
                    return
                # predictions from a few trials can be far too high: it may well end early,
                # and then the search goes on
                log.info("%s: running it, cut at the deadline in %.1f s if need be", reason, left)
            self._run_trial(config)

    def _refit(self, config: dict[str, Any], ev: Evaluation) -> tuple[Model, bool]:
        """Refit the best configuration on train+valid if it fits in the time left, else keep its model."""
        left = self.ctx.remaining() - self.margin / 2
        if self._refit_s(config, ev) > left:
            log.warning(
                "no time to refit the best configuration (%.1f s left): keeping its trial model", left
            )
            return ev.model, False
        try:
            return self.evaluator.refit(config, deadline=self.ctx.deadline - self.margin / 2), True
        except Exception:
            log.warning("refit on train+valid failed; keeping the trial model", exc_info=True)
            return ev.model, False
