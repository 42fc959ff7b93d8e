"""halving, optuna, hyperopt and skopt through the adapter contract (gbm on breast cancer, 2.5 s)."""

from __future__ import annotations

import pytest

from adapters.base import TaskInfo
from adapters.testing import run_contract
from adapters.tuning.families import get_family
from adapters.tuning.strategies.halving import HalvingStrategy, rung_resources
from tests.adapters.tuning.strategies import TUNERS

BUDGET = 2.5


@pytest.mark.parametrize("name", ["halving", "optuna", "hyperopt", "skopt"])
def test_contract(name: str) -> None:
    res = run_contract(TUNERS[name], "breast_cancer", BUDGET, seed=1)
    assert res.best_config["_family"] == "gbm"


def test_conditional_space_on_regression() -> None:
    """svm on diabetes: kernel-dependent parameters, a regression metric to minimise."""
    res = run_contract(lambda: TUNERS["hyperopt"]("svm"), "diabetes", 2.5, check_seed=False)
    best = min(t.valid_score for t in res.trials if t.status == "ok")
    assert res.best_config["C"] == next(t.config["C"] for t in res.trials if t.valid_score == best)


def test_rungs() -> None:
    assert rung_resources(25, 1000, integer=True) == [37, 111, 333, 1000]
    assert rung_resources(5, 100, integer=True) == [11, 33, 100]
    assert rung_resources(0.1, 1.0, integer=False) == pytest.approx([1 / 9, 1 / 3, 1.0])


def test_halving_promotes_the_best_third_with_three_times_the_resource() -> None:
    task = TaskInfo("b", "binary", "roc_auc", ("a", "b"))
    family = get_family("gbm")
    s = HalvingStrategy(family.space(task), family, task, seed=0)
    first = []
    for i in range(27):
        config = s.ask()
        assert config["n_estimators"] == 37
        first.append(config)
        s.tell(config, float(i), "ok")  # later configurations score better
    second = []
    for _ in range(9):
        second.append(s.ask())
        s.tell(second[-1], 0.0, "ok")
    assert all(c["n_estimators"] == 111 for c in second)

    def strip(c: dict) -> dict:
        return {k: v for k, v in c.items() if k != "n_estimators"}

    assert [strip(c) for c in second] == [strip(c) for c in first[-9:][::-1]]
    assert s.ask()["n_estimators"] == 333


def test_optuna_median_pruner_stops_a_worse_than_median_trial() -> None:
    from adapters.tuning.loop import TrialPruned
    from adapters.tuning.strategies.optuna import OptunaStrategy

    task = TaskInfo("b", "binary", "roc_auc", ("a", "b"))
    family = get_family("mlp")
    s = OptunaStrategy(family.space(task), family, task, seed=0)
    for _ in range(3):  # three finished trials whose valid loss falls to 0.1
        config = s.ask()
        hook = s.epoch_callback()
        for epoch in range(6):
            hook(epoch, 1.0, 1.0 / (epoch + 1) - 0.05)
        s.tell(config, 0.9, "ok")
    config = s.ask()
    hook = s.epoch_callback()
    hook(0, 1.0, 5.0)
    hook(1, 1.0, 5.0)  # warm-up steps are never pruned
    with pytest.raises(TrialPruned, match="epoch 3"):
        hook(2, 1.0, 5.0)
    s.tell(config, None, "pruned")
    assert s.study.trials[-1].state.name == "PRUNED"
