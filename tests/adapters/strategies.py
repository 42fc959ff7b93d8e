"""The tuning adapters by name, for tests: name -> class (as registered in pyproject.toml)."""

from __future__ import annotations

from adapters.default import DefaultAdapter
from adapters.grid import GridAdapter
from adapters.halving import HalvingAdapter
from adapters.hyperopt_tpe import HyperoptAdapter
from adapters.manual import ManualAdapter
from adapters.optuna_tpe import OptunaAdapter
from adapters.random_search import RandomAdapter
from adapters.skopt_gp import SkoptAdapter

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
