"""The baseline: one model family with its library defaults, no tuning.

``default`` fits the task's default family (LightGBM for tabular tasks; for image tasks a
logistic regression on the pixels, fast and dependable, unless ``default:cnn`` is asked
for); ``default:FAMILY`` picks one. It logs one trial (its validation score) and refits
on train+valid, through the same loop and validation as the tuners.
"""

from __future__ import annotations

from typing import Any

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family
from adapters.tuning.loop import Strategy
from adapters.tuning.spaces import Space
from adapters.tuning.tuner import TunerAdapter


class _DefaultsOnce(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        self.asked = False

    def ask(self) -> dict[str, Any] | None:
        if self.asked:
            return None
        self.asked = True
        return {}


class DefaultAdapter(TunerAdapter):
    description = "one model family with library defaults (no tuning)"
    max_trials = 1

    def family_name(self, task: TaskInfo) -> str:
        if self.family:
            return self.family
        return "linear" if task.is_image else "gbm"

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return _DefaultsOnce(space, family, task, seed)
