"""default, manual, grid and random through the adapter contract (gbm on breast cancer, 2 s)."""

from __future__ import annotations

import pytest

from adapters.base import SEARCH_EXHAUSTED
from adapters.testing import run_contract
from adapters.tuning.families import get_family
from harness.report.leaderboard import EXHAUSTED_NOTE, short_config
from tests.adapters.tuning.strategies import TUNERS

BUDGET = 2.0


@pytest.mark.parametrize("name", ["default", "manual", "grid", "random"])
def test_contract(name: str) -> None:
    res = run_contract(TUNERS[name], "breast_cancer", BUDGET, seed=3)
    assert res.best_config["_family"] == "gbm" and res.best_config["_validation"] == "5-fold"
    assert (
        res.best_config["_space"] == res.adapter.search_space() and "num_leaves" in res.best_config["_space"]
    )
    if name == "default":
        assert len(res.trials) == 1 and res.trials[0].config == {}
    # default's one configuration is exhausted after one trial, manual's short list when every entry
    # ran (the run could not use more of its budget); grid and random have more than 2 s can try
    listed = len(get_family("gbm").manual(res.task))
    exhausted = {"default": True, "manual": len(res.trials) == listed}.get(name, False)
    assert res.best_config[SEARCH_EXHAUSTED] == exhausted, res.best_config
    assert res.best_config["_search_end"]
    # the leaderboard's best configuration says so
    assert short_config(res.best_config, limit=200).startswith(EXHAUSTED_NOTE) == exhausted


def test_manual_tries_the_hand_picked_list_in_order() -> None:
    res = run_contract(lambda: TUNERS["manual"]("linear"), "diabetes", 3.0, check_seed=False)
    picked = get_family("linear").manual(res.task)
    assert [t.config for t in res.trials] == picked[: len(res.trials)] and len(res.trials) >= 2


def test_grid_order_is_shuffled_by_seed() -> None:
    from adapters.base import TaskInfo
    from adapters.tuning.families import get_family
    from adapters.tuning.strategies.grid import GridStrategy

    task = TaskInfo("b", "binary", "roc_auc", ("a", "b"))
    family = get_family("svm")
    first = [GridStrategy(family.space(task), family, task, s).ask() for s in (0, 0, 1)]
    assert first[0] == first[1] and first[0] != first[2]
    strategy = GridStrategy(family.space(task), family, task, 0)
    kernels = [strategy.ask()["kernel"] for _ in range(9)]  # a cut-off grid still sees every kernel
    assert set(kernels) == {"rbf", "poly", "linear"}
