"""Random search: independent seeded draws from the family's search space."""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.base import TaskInfo
from adapters.families.base import Family
from adapters.loop import Strategy
from adapters.spaces import Space
from adapters.tuner import TunerAdapter


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
