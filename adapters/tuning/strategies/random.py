"""Random search: independent seeded draws from the family's search space."""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family
from adapters.tuning.loop import Strategy
from adapters.tuning.spaces import Space
from adapters.tuning.tuner import TunerAdapter


class RandomStrategy(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        self.rng = np.random.default_rng(seed)

    def ask(self) -> dict[str, Any] | None:
        return self.space.sample(self.rng)


class RandomAdapter(TunerAdapter):
    description = "random search over the family's space"

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return RandomStrategy(space, family, task, seed)
