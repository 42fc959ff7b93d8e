"""Every family through the contract with library defaults, and tuned neural networks (slow)."""

from __future__ import annotations

import pytest

from adapters.base import TaskInfo, TaskNotSupported
from adapters.testing import TASKS, run_contract
from adapters.tuning.families import FAMILY_NAMES, get_family
from tests.adapters.tuning.strategies import TUNERS

pytestmark = pytest.mark.slow

CASES = [
    (family, task)
    for family in FAMILY_NAMES
    for task in TASKS
    if get_family(family).unsupported(
        TaskInfo(task, "binary", "accuracy", image_shape=(8, 8, 1) if task == "digits" else None)
    )
    is None
]


@pytest.mark.parametrize("family, task", CASES)
def test_default_family(family: str, task: str) -> None:
    res = run_contract(lambda: TUNERS["default"](family), task, 8.0)
    assert res.best_config["_family"] == family and res.best_config["_refitted"]


@pytest.mark.parametrize("name", ["random", "halving", "optuna"])
def test_tuned_mlp_logs_epoch_curves(name: str) -> None:
    res = run_contract(lambda: TUNERS[name]("mlp"), "breast_cancer", 6.0, check_seed=False)
    for t in res.trials:
        if t.status == "ok":
            assert len(t.curve["train_loss"]) == len(t.curve["valid_loss"]) >= 1


def test_default_for_images_is_fast_and_cnn_when_asked() -> None:
    res = run_contract(TUNERS["default"], "digits", 5.0, check_seed=False)
    assert res.best_config["_family"] == "linear"
    assert TUNERS["random"]().family_name(res.task) == "cnn"
    with pytest.raises(TaskNotSupported):
        TUNERS["grid"]("cnn").check_task(TaskInfo("t", "binary", "accuracy", ("a", "b")))
