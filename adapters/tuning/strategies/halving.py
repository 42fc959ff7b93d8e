"""Successive halving over a resource (trees, epochs or a fraction of the training rows).

A bracket samples ``ETA ** (rungs - 1)`` random configurations at the smallest resource,
keeps the best ``1 / ETA`` of them at ``ETA`` times the resource, and so on up to the
full resource; then a new bracket starts with fresh (seeded) configurations, until the
loop stops for lack of time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from adapters.base import TaskInfo
from adapters.tuning.families.base import DATA_FRACTION, Family
from adapters.tuning.loop import Strategy
from adapters.tuning.spaces import Space
from adapters.tuning.tuner import TunerAdapter

ETA = 3
MAX_RUNGS = 4


def rung_resources(low: float, high: float, integer: bool) -> list[float]:
    """Resources of the rungs, from small to the full ``high``, a factor ``ETA`` apart."""
    n = min(MAX_RUNGS, math.floor(math.log(high / low, ETA) + 1e-9) + 1)
    values = [high / ETA ** (n - 1 - i) for i in range(n)]
    return [round(v) for v in values] if integer else values


class HalvingStrategy(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        self.rng = np.random.default_rng(seed)
        res = family.resource(task)
        self.key = res.name
        self.resources = rung_resources(res.low, res.high, res.integer)
        self.rung = 0
        self.queue: list[dict[str, Any]] = []
        self.results: list[tuple[float, dict[str, Any]]] = []
        self._start_bracket()

    def _start_bracket(self) -> None:
        n = ETA ** (len(self.resources) - 1)
        self.rung = 0
        self.results = []
        self.queue = [self.space.sample(self.rng) for _ in range(n)]

    def _promote(self) -> None:
        ranked = sorted(self.results, key=lambda r: r[0], reverse=True)
        ok = [cfg for score, cfg in ranked if score > -math.inf]
        keep = ok[: max(1, len(self.results) // ETA)]
        if self.rung + 1 >= len(self.resources) or not keep:
            self._start_bracket()
            return
        self.rung += 1
        self.results = []
        self.queue = keep

    def _with_resource(self, config: dict[str, Any]) -> dict[str, Any]:
        value = self.resources[self.rung]
        out = {k: v for k, v in config.items() if k != DATA_FRACTION}
        if self.key != DATA_FRACTION:
            out[self.key] = value
        elif value < 1.0:
            out[DATA_FRACTION] = round(float(value), 4)
        return out

    def ask(self) -> dict[str, Any] | None:
        if not self.queue:
            self._promote()
        self.current = self.queue.pop(0)
        return self._with_resource(self.current)

    def tell(self, config: dict[str, Any], score: float | None, status: str) -> None:
        self.results.append((score if score is not None else -math.inf, self.current))


class HalvingAdapter(TunerAdapter):
    description = f"successive halving (eta={ETA}) over trees, epochs or the data fraction"

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return HalvingStrategy(space, family, task, seed)
