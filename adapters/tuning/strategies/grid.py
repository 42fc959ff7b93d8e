"""Grid search: the product of grid points of the space, in a shuffled but seeded order.

Shuffling means a grid cut off by the budget still covers the whole space instead of
one corner of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family
from adapters.tuning.loop import Strategy
from adapters.tuning.spaces import Space
from adapters.tuning.tuner import TunerAdapter

POINTS_PER_NUMERIC = 3


class GridStrategy(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        grid = space.grid(POINTS_PER_NUMERIC)
        order = np.random.default_rng(seed).permutation(len(grid))
        self.queue = [grid[i] for i in order]

    def ask(self) -> dict[str, Any] | None:
        return self.queue.pop() if self.queue else None


class GridAdapter(TunerAdapter):
    description = f"grid search ({POINTS_PER_NUMERIC} points per numeric parameter), seeded shuffled order"

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return GridStrategy(space, family, task, seed)
