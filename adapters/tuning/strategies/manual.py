"""Manual tuning: a short list of hand-picked configurations per family, tried in order."""

from __future__ import annotations

from typing import Any

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family
from adapters.tuning.loop import Strategy
from adapters.tuning.spaces import Space
from adapters.tuning.tuner import TunerAdapter


class ManualStrategy(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        self.queue = list(family.manual(task))

    def ask(self) -> dict[str, Any] | None:
        return self.queue.pop(0) if self.queue else None


class ManualAdapter(TunerAdapter):
    description = "a few hand-picked configurations per family, the way a person starts"

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return ManualStrategy(space, family, task, seed)
