"""Search spaces: JSON round trips, sampling with conditions, grids, and each library's translation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adapters.base import TaskInfo
from adapters.tuning.families import FAMILY_NAMES, get_family
from adapters.tuning.spaces import Categorical, Float, Int, Space, SpaceError
from adapters.tuning.strategies.hyperopt import HyperoptStrategy, to_hyperopt
from adapters.tuning.strategies.optuna import OptunaStrategy, to_optuna
from adapters.tuning.strategies.random import RandomStrategy
from adapters.tuning.strategies.skopt import SkoptAdapter, SkoptStrategy, to_skopt

BINARY = TaskInfo("b", "binary", "roc_auc", ("n", "y"))
REGRESSION = TaskInfo("r", "regression", "rmse")
IMAGE = TaskInfo("i", "multiclass", "accuracy", tuple("0123456789"), image_shape=(8, 8, 1))


def all_spaces() -> list[tuple[str, Space]]:
    out = []
    for name in FAMILY_NAMES:
        family = get_family(name)
        for task in (BINARY, REGRESSION, IMAGE):
            if family.unsupported(task) is None:
                out.append((f"{name}-{task.name}", family.space(task)))
    return out


SPACES = all_spaces()
IDS = [s[0] for s in SPACES]


@pytest.mark.parametrize("space", [s[1] for s in SPACES], ids=IDS)
def test_json_round_trip(space: Space) -> None:
    text = json.dumps(space.to_json())
    again = Space.from_json(json.loads(text))
    assert again == space
    assert again.to_json() == space.to_json()


def test_conditional_sampling_leaves_out_inactive_parameters() -> None:
    space = get_family("svm").space(BINARY)
    rng = np.random.default_rng(0)
    kernels = set()
    for _ in range(60):
        config = space.sample(rng)
        space.validate(config)
        kernels.add(config["kernel"])
        assert ("gamma" in config) == (config["kernel"] in ("rbf", "poly"))
        assert ("degree" in config) == (config["kernel"] == "poly")
    assert kernels == {"rbf", "poly", "linear"}


def test_validate_rejects_out_of_range_and_inactive() -> None:
    space = get_family("linear").space(BINARY)
    space.validate({"C": 1.0, "penalty": "elasticnet", "l1_ratio": 0.5})
    with pytest.raises(SpaceError, match="C"):
        space.validate({"C": 1e9, "penalty": "l2"})
    with pytest.raises(SpaceError, match="l1_ratio"):
        space.validate({"C": 1.0, "penalty": "l2", "l1_ratio": 0.5})


def test_malformed_spaces_are_refused() -> None:
    with pytest.raises(SpaceError, match="low > 0"):
        Float(0.0, 1.0, log=True)
    with pytest.raises(SpaceError, match="low < high"):
        Int(5, 5)
    with pytest.raises(SpaceError, match="must come first"):
        Space({"child": Float(0, 1, condition=("parent", ("a",))), "parent": Categorical(("a", "b"))})
    with pytest.raises(SpaceError, match="not Categorical"):
        Space({"parent": Float(0, 1), "child": Float(0, 1, condition=("parent", (1,)))})


def test_grid_respects_conditions_and_covers_choices() -> None:
    space = get_family("svm").space(BINARY)
    grid = space.grid(3)
    for config in grid:
        space.validate(config)
    by_kernel = {k: [c for c in grid if c["kernel"] == k] for k in ("rbf", "poly", "linear")}
    # C x gamma for rbf, C x gamma x degree for poly, C alone for linear
    assert len(by_kernel["rbf"]) == 9 and len(by_kernel["poly"]) == 18 and len(by_kernel["linear"]) == 3
    assert len({json.dumps(c, sort_keys=True) for c in grid}) == len(grid)
    assert Int(1, 100, log=True).points(3) == [1, 10, 100]


def test_optuna_translation() -> None:
    import optuna

    space = get_family("svm").space(BINARY)
    dists = to_optuna(space)
    assert isinstance(dists["C"], optuna.distributions.FloatDistribution) and dists["C"].log
    assert dists["C"].low == space.params["C"].low and dists["C"].high == space.params["C"].high
    assert isinstance(dists["degree"], optuna.distributions.IntDistribution)
    assert dists["kernel"].choices == ("rbf", "poly", "linear")


@pytest.mark.parametrize("strategy", [OptunaStrategy, HyperoptStrategy, SkoptStrategy, RandomStrategy])
@pytest.mark.parametrize("space", [s[1] for s in SPACES], ids=IDS)
def test_library_samples_are_valid_configurations(strategy, space: Space) -> None:
    """Translate, sample through the library (with feedback), and map back: always a valid config."""
    s = strategy(space, get_family("gbm"), BINARY, seed=1)
    for i in range(11):  # 10 startup points, then one model-based proposal
        config = s.ask()
        space.validate(config)
        json.dumps(config)
        if i < 10:
            s.tell(config, float(i % 5), "ok")


def test_hyperopt_nests_conditionals_as_choices() -> None:
    space = get_family("svm").space(BINARY)
    hp_space = to_hyperopt(space)
    assert "C" in hp_space and not any(k == "gamma" for k in hp_space)
    s = HyperoptStrategy(space, get_family("svm"), BINARY, seed=0)
    kernels = {s.ask()["kernel"] for _ in range(25)}
    assert kernels == {"rbf", "poly", "linear"}


def test_skopt_dimensions_and_unexpressible_space() -> None:
    space = get_family("rf").space(BINARY)
    dims = to_skopt(space)
    assert [d.name for d in dims] == list(space.params)
    bad = Space({"depth": Categorical((None, 3, 5))})
    with pytest.raises(SpaceError, match="scikit-optimize.*'depth'"):
        to_skopt(bad)
    with pytest.raises(SpaceError, match="'depth'"):
        SkoptAdapter().check_space(bad)
