"""The tuning loop: it stops in time using its cost prediction, survives failing trials, and logs them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from adapters.base import FitContext, TaskInfo, Trial
from adapters.testing import load_task
from adapters.tuning.cost import CostModel
from adapters.tuning.families.base import Family, Model, Resource
from adapters.tuning.loop import OWN_TRIAL_SAFETY, TuningFailed, TuningLoop, margin_s
from adapters.tuning.spaces import Categorical, Float, Space
from adapters.tuning.strategies.random import RandomStrategy


class SleepModel(Model):
    """Sleeps ``sleep`` seconds to fit, fails when told to, and predicts the majority class."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def fit(self, X, y, valid=None, deadline=None, on_epoch=None) -> SleepModel:
        if self.config.get("fail") == "yes":
            raise ValueError("told to fail")
        if self.config.get("fail") == "other":
            raise KeyError("a rarer failure")
        time.sleep(self.config.get("sleep", 0.05))
        self.majority = int(np.bincount(y).argmax())
        return self

    def predict(self, X):
        return np.full(len(X), self.majority)

    def predict_proba(self, X):
        proba = np.zeros((len(X), self.majority + 1))
        proba[:, self.majority] = 1.0
        return proba


class SleepFamily(Family):
    """A real family whose cost is known: its units are the seconds it sleeps."""

    name = "sleep"

    def __init__(self, space: Space) -> None:
        self._space = space

    def space(self, task: TaskInfo) -> Space:
        return self._space

    def manual(self, task: TaskInfo) -> list[dict[str, Any]]:
        return [{}]

    def resource(self, task: TaskInfo) -> Resource:
        return Resource("sleep", 0.01, 0.1, integer=False)

    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        return SleepModel(config)

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        return config.get("sleep", 0.05)


class CutSleepModel(SleepModel):
    """Like a neural network: its fit stops at the deadline (here: sleeps at most until then)."""

    def fit(self, X, y, valid=None, deadline=None, on_epoch=None) -> CutSleepModel:
        sleep = self.config.get("sleep", 0.05)
        if deadline is not None:
            sleep = max(0.0, min(sleep, deadline - time.monotonic()))
        time.sleep(sleep)
        self.majority = int(np.bincount(y).argmax())
        return self


class CutSleepFamily(SleepFamily):
    name = "cutsleep"
    stops_at_deadline = True

    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        return CutSleepModel(config)


def run_loop(
    space: Space, budget_s: float, task: str = "digits", family_type: type[SleepFamily] = SleepFamily
) -> tuple[TuningLoop, float, list[Trial]]:
    data, _, _ = load_task(task)
    family = family_type(space)
    ctx = FitContext(budget_s=budget_s, seed=0, cores=1, memory_gb=1, workdir=".", fit_start=time.monotonic())
    logged: list[Trial] = []
    loop = TuningLoop(RandomStrategy(space, family, data.task, 0), family, data, ctx, logged.append)
    try:
        loop.run()
    finally:
        wall = time.monotonic() - ctx.fit_start
    return loop, wall, logged


def test_loop_stops_before_the_budget_with_known_trial_costs() -> None:
    """Digits uses a holdout, so each trial sleeps once: 0.2 to 0.4 s; budget 3 s."""
    budget = 3.0
    _loop, wall, logged = run_loop(Space({"sleep": Float(0.2, 0.4)}), budget)
    assert wall <= budget, wall
    assert 4 <= len(logged) <= int(budget / 0.2)
    # it stopped because the next trial would not fit, not because time ran out
    assert budget - logged[-1].elapsed_s < 0.4 * 1.3 * 2 + margin_s(budget) + 0.3
    for t in logged:
        assert t.status == "ok" and t.fit_s >= t.config["sleep"] - 0.01


def test_a_network_trial_that_would_not_fit_runs_cut_at_the_deadline() -> None:
    """Trials of 1.5 to 1.6 s, budget 5 s: after one trial the next would not fit with the refit
    (~1.8 s, predicted from the best trial's own seconds) kept free. A family that stops at a
    deadline still runs it, cut where the refit time begins; a family that cannot be cut stops the
    search there."""
    budget, space = 5.0, Space({"sleep": Float(1.5, 1.6)})
    _, _, plain = run_loop(space, budget)
    _, wall, cut = run_loop(space, budget, family_type=CutSleepFamily)
    assert wall <= budget, wall
    assert [t.config for t in cut[: len(plain)]] == [t.config for t in plain]  # the same seeded sequence
    assert len(cut) > len(plain)  # and more after the refit when it took less than its reserve
    run_cut = cut[len(plain)]
    assert run_cut.status == "ok" and run_cut.fit_s < run_cut.config["sleep"] - 0.1, run_cut
    refit = OWN_TRIAL_SAFETY * 1.6
    assert run_cut.elapsed_s >= budget - margin_s(budget) - refit - 0.3, (run_cut.elapsed_s, wall)


class OverclaimingFamily(CutSleepFamily):
    """Its cost units overstate some configurations a hundredfold: predictions far too high."""

    name = "overclaiming"

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        return config["sleep"] * config.get("claim", 1.0)


def test_a_cut_trial_that_ends_early_lets_the_search_go_on() -> None:
    """Trials of 0.1 s, some claimed to cost 100 x more: those run cut at the deadline if need be,
    end after 0.1 s, and the search goes on to the end of the 4 s budget."""
    space = Space({"sleep": Float(0.1, 0.11), "claim": Categorical((100.0, 1.0))})
    _, wall, logged = run_loop(space, 4.0, family_type=OverclaimingFamily)
    assert wall <= 4.0, wall
    claimed = [i for i, t in enumerate(logged) if t.config["claim"] == 100.0 and i >= 3]
    assert claimed and claimed[0] < len(logged) - 1, [t.config["claim"] for t in logged]
    assert logged[-1].elapsed_s > 4.0 - 1.0, logged[-1]


class DearRefitFamily(SleepFamily):
    """Its refit on train+valid is predicted to cost 100 x a trial: it can never fit."""

    name = "dearrefit"
    trial_rows: int | None = None

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        self.trial_rows = self.trial_rows or n_rows  # the loop asks for a trial's units first
        return config.get("sleep", 0.05) * (100.0 if n_rows > self.trial_rows else 1.0)


def test_a_refit_that_cannot_fit_does_not_stop_the_search() -> None:
    """Trials of 0.2 s whose refit would take ~20 s: no time is kept free for a refit that cannot
    happen; the search runs to the end of the 4 s budget and the best trial's model is kept."""
    budget = 4.0
    data, _, _ = load_task("digits")
    family = DearRefitFamily(Space({"sleep": Float(0.2, 0.21)}))
    ctx = FitContext(budget_s=budget, seed=0, cores=1, memory_gb=1, workdir=".", fit_start=time.monotonic())
    logged: list[Trial] = []
    loop = TuningLoop(
        RandomStrategy(family.space(data.task), family, data.task, 0), family, data, ctx, logged.append
    )
    outcome = loop.run()
    wall = time.monotonic() - ctx.fit_start
    assert wall <= budget, wall
    assert not outcome.refitted and outcome.model is not None
    assert len(logged) >= 10 and logged[-1].elapsed_s > budget - margin_s(budget) - 2 * 1.3 * 0.21, (
        len(logged),
        logged[-1].elapsed_s,
    )


class OverclaimedRefitFamily(CutSleepFamily):
    """Cut at deadlines; its refit on train+valid is predicted to cost 10 x its trial but takes as long."""

    name = "overclaimedrefit"
    trial_rows: int | None = None

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        self.trial_rows = self.trial_rows or n_rows  # the loop asks for a trial's units first
        return config.get("sleep", 0.05) * (10.0 if n_rows > self.trial_rows else 1.0)


def test_the_search_goes_on_in_the_time_an_overpredicted_refit_left() -> None:
    """Trials of 0.2 s whose refit is predicted at ~2.3 s and takes 0.2 s, budget 4 s: the search
    stops ~2.3 s before the end, the refit ends early, and the search goes on to the end."""
    budget = 4.0
    data, _, _ = load_task("digits")
    family = OverclaimedRefitFamily(Space({"sleep": Float(0.2, 0.21)}))
    ctx = FitContext(budget_s=budget, seed=0, cores=1, memory_gb=1, workdir=".", fit_start=time.monotonic())
    logged: list[Trial] = []
    strategy = RandomStrategy(family.space(data.task), family, data.task, 0)
    outcome = TuningLoop(strategy, family, data, ctx, logged.append).run()
    wall = time.monotonic() - ctx.fit_start
    assert wall <= budget and outcome.refitted, (wall, outcome.refitted)
    assert logged[-1].elapsed_s > budget - 1.0, [round(t.elapsed_s, 2) for t in logged]
    # the proposal in hand when the search stopped for the refit runs first after it: none is skipped
    fresh = RandomStrategy(family.space(data.task), family, data.task, 0)
    assert [t.config for t in logged] == [fresh.ask() for _ in logged]


def test_cross_validated_trials_cost_one_fit_per_fold() -> None:
    """Breast cancer is small: 5-fold, so a trial of 0.1 s sleeps costs about 0.5 s."""
    loop, wall, logged = run_loop(Space({"sleep": Float(0.09, 0.1)}), 3.0, task="breast_cancer")
    assert loop.evaluator.scheme == "5-fold"
    assert wall <= 3.0 and all(t.fit_s >= 0.45 for t in logged)


def test_failed_trials_are_logged_and_the_search_goes_on() -> None:
    space = Space({"fail": Categorical(("yes", "no")), "sleep": Float(0.01, 0.02)})
    _loop, _, logged = run_loop(space, 1.5)
    statuses = {t.status for t in logged}
    assert statuses == {"ok", "failed"}
    for t in logged:
        assert (t.status == "failed") == (t.config["fail"] == "yes")
        if t.status == "failed":
            assert t.error == "ValueError: told to fail" and t.valid_score is None


def test_every_trial_failing_fails_the_run_with_the_most_common_error() -> None:
    space = Space({"fail": Categorical(("yes", "yes", "yes", "other"))})
    with pytest.raises(TuningFailed, match="most common error.*ValueError: told to fail"):
        run_loop(space, 1.0)


def test_elapsed_is_logged_and_increasing() -> None:
    _, wall, logged = run_loop(Space({"sleep": Float(0.05, 0.06)}), 1.0)
    elapsed = [t.elapsed_s for t in logged]
    assert elapsed == sorted(elapsed) and elapsed[0] > 0 and elapsed[-1] <= wall


def test_cost_model_learns_overhead_and_slope() -> None:
    cost = CostModel()
    assert cost.predict(1.0) is None
    for units in (1, 2, 3, 4, 5, 6):
        cost.observe(0.5 + 0.1 * units, units)
    assert cost.predict(10.0) == pytest.approx(1.5, rel=0.05)
    single = CostModel()
    single.observe(2.0, 1.0)
    assert single.predict(3.0) == pytest.approx(4.0)  # half overhead, half proportional


def test_the_outcome_says_whether_the_strategy_ran_out_of_proposals() -> None:
    """A hand-picked list of one ends the search early, by design: the outcome says so (the run's
    record shows it, see ``TunerAdapter.best_config``); a random search ends with the budget."""
    from adapters.tuning.strategies.manual import ManualStrategy

    data, _, _ = load_task("digits")
    family = SleepFamily(Space({"sleep": Float(0.05, 0.06)}))
    outcomes = []
    for strategy_type in (ManualStrategy, RandomStrategy):
        ctx = FitContext(budget_s=1.0, seed=0, cores=1, memory_gb=1, workdir=".", fit_start=time.monotonic())
        strategy = strategy_type(family.space(data.task), family, data.task, 0)
        outcomes.append(TuningLoop(strategy, family, data, ctx, lambda t: None).run())
    listed, searched = outcomes
    assert listed.search_exhausted and len(listed.trials) == 1 and "nothing more to try" in listed.search_end
    assert not searched.search_exhausted and len(searched.trials) > 1 and searched.search_end
