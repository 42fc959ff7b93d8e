"""The tuning adapters by name, for tests: name -> class (as registered in pyproject.toml)."""

from __future__ import annotations

from adapters.tuning.strategies.default import DefaultAdapter
from adapters.tuning.strategies.grid import GridAdapter
from adapters.tuning.strategies.halving import HalvingAdapter
from adapters.tuning.strategies.hyperopt import HyperoptAdapter
from adapters.tuning.strategies.manual import ManualAdapter
from adapters.tuning.strategies.optuna import OptunaAdapter
from adapters.tuning.strategies.random import RandomAdapter
from adapters.tuning.strategies.skopt import SkoptAdapter

TUNERS = {
    "default": DefaultAdapter,
    "manual": ManualAdapter,
    "grid": GridAdapter,
    "random": RandomAdapter,
    "halving": HalvingAdapter,
    "optuna": OptunaAdapter,
    "hyperopt": HyperoptAdapter,
    "skopt": SkoptAdapter,
}
