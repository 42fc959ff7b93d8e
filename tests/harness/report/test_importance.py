"""fANOVA importance recovers the one hyperparameter that matters; distributions are inferred sensibly."""

from __future__ import annotations

import math
import time

import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from harness.report import importance


def synthetic(n: int, seed: int = 0) -> tuple[list[dict], list[float]]:
    """Six hyperparameters of every kind; the score depends on ``learning_rate`` alone."""
    rng = np.random.default_rng(seed)
    configs, values = [], []
    for _ in range(n):
        cfg = {
            "learning_rate": float(10 ** rng.uniform(-4, 0)),
            "n_units": int(rng.integers(16, 512)),
            "dropout": float(rng.uniform(0, 0.5)),
            "l2": float(10 ** rng.uniform(-8, -2)),
            "activation": str(rng.choice(["relu", "tanh", "gelu"])),
            "batch_norm": bool(rng.integers(0, 2)),
        }
        configs.append(cfg)
        values.append(0.95 - 0.08 * (math.log10(cfg["learning_rate"]) + 2) ** 2 + float(rng.normal(0, 0.005)))
    return configs, values


def test_recovers_the_one_hyperparameter_that_matters() -> None:
    configs, values = synthetic(200)
    t0 = time.perf_counter()
    shares, note = importance.param_importance(configs, values)
    took = time.perf_counter() - t0
    assert note is None
    assert set(shares) == {"learning_rate", "n_units", "dropout", "l2", "activation", "batch_norm"}
    top, share = next(iter(shares.items()))
    assert top == "learning_rate" and share > 0.8, shares
    assert all(v < 0.05 for p, v in shares.items() if p != "learning_rate"), shares
    assert sum(shares.values()) <= 1.0 + 1e-9
    assert took < 20, f"fANOVA took {took:.1f} s"  # about 0.5 s on an idle core


def test_is_deterministic() -> None:
    configs, values = synthetic(60, seed=3)
    assert importance.param_importance(configs, values) == importance.param_importance(configs, values)


def test_distributions_from_observed_values() -> None:
    assert importance.infer_distribution([1, 5, 3]) == IntDistribution(1, 5)
    assert importance.infer_distribution([1e-5, 0.1]) == FloatDistribution(1e-5, 0.1, log=True)
    assert importance.infer_distribution([0.0, 0.1]) == FloatDistribution(0.0, 0.1)
    assert importance.infer_distribution([1, 2.5]) == FloatDistribution(1.0, 2.5)
    assert importance.infer_distribution(["rbf", "linear", "rbf"]) == CategoricalDistribution(
        ["linear", "rbf"]
    )
    assert importance.infer_distribution([True, False]) == CategoricalDistribution(["False", "True"])
    assert importance.infer_distribution([0.3, 0.3]) is None


def test_sparse_params_and_empty_configs_drop_out() -> None:
    configs, values = synthetic(30)
    configs = [{}] + configs + [{"gamma": 1.0}]  # the default adapter's {} and a rare conditional key
    values = [0.5] + values + [0.1]
    assert importance.common_params(configs)[:2] == ["learning_rate", "n_units"]
    assert "gamma" not in importance.common_params(configs)
    shares, note = importance.param_importance(configs, values)
    assert note is None and next(iter(shares)) == "learning_rate"


def test_says_why_when_it_cannot_answer() -> None:
    configs, values = synthetic(5)
    assert importance.param_importance(configs, values) == (
        {},
        "only 5 comparable trials (at least 10 are needed)",
    )
    configs, values = synthetic(20)
    shares, note = importance.param_importance(configs, [0.5] * 20)
    assert shares == {} and "same in every trial" in note
    same = [{"a": 1}] * 20
    assert (
        importance.param_importance(same, list(np.linspace(0, 1, 20)))[1]
        == "no hyperparameter varied between the trials"
    )
    imp = importance.group_importance("gbm", same, list(np.linspace(0, 1, 20)))
    assert imp.shares == {} and imp.note and imp.n_trials == 20
