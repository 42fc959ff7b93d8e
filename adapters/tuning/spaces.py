"""Typed search spaces, written once per model family and translated for each tuning library.

A ``Space`` is an ordered mapping of names to ``Float``, ``Int`` or ``Categorical``
parameters. A parameter may carry a ``condition`` ``(parent, values)``: it is active
only when the (categorical) parent takes one of ``values``; an inactive parameter is
left out of the configuration. Spaces round-trip through JSON (``to_json``/``from_json``)
so each run stores the space it searched. Translations to Optuna, Hyperopt and
scikit-optimize live beside the strategy that uses them; ``grid_points`` and
``sample`` live here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import HarnessError

Value = int | float | str | bool | None
Condition = tuple[str, tuple[Value, ...]]


class SpaceError(HarnessError):
    """A space that is malformed or that a tuning library cannot express."""


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False
    condition: Condition | None = None

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise SpaceError(f"Float space needs low < high, got {self.low} and {self.high}")
        if self.log and self.low <= 0:
            raise SpaceError(f"a log-scaled Float needs low > 0, got {self.low}")

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def points(self, n: int) -> list[float]:
        if self.log:
            return [float(v) for v in np.geomspace(self.low, self.high, n)]
        return [float(v) for v in np.linspace(self.low, self.high, n)]

    def contains(self, v: Any) -> bool:
        return isinstance(v, (int, float)) and self.low <= v <= self.high


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False
    condition: Condition | None = None

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise SpaceError(f"Int space needs low < high, got {self.low} and {self.high}")
        if self.log and self.low <= 0:
            raise SpaceError(f"a log-scaled Int needs low > 0, got {self.low}")

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            v = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return int(min(self.high, max(self.low, math.floor(v))))
        return int(rng.integers(self.low, self.high + 1))

    def points(self, n: int) -> list[int]:
        raw = np.geomspace(self.low, self.high, n) if self.log else np.linspace(self.low, self.high, n)
        return sorted({round(v) for v in raw})

    def contains(self, v: Any) -> bool:
        return isinstance(v, int | np.integer) and bool(self.low <= v <= self.high)


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Value, ...]
    condition: Condition | None = None

    def __post_init__(self) -> None:
        if len(self.choices) < 1:
            raise SpaceError("a Categorical space needs at least one choice")
        for c in self.choices:
            if not isinstance(c, (int, float, str, bool, type(None))):
                raise SpaceError(f"Categorical choices must be JSON scalars, got {c!r}")

    def sample(self, rng: np.random.Generator) -> Value:
        return self.choices[int(rng.integers(len(self.choices)))]

    def points(self, n: int) -> list[Value]:
        return list(self.choices)

    def contains(self, v: Any) -> bool:
        return v in self.choices


Param = Float | Int | Categorical


class Space:
    """An ordered set of named parameters; parents come before the parameters they condition."""

    def __init__(self, params: dict[str, Param]) -> None:
        self.params = dict(params)
        seen: set[str] = set()
        for name, p in self.params.items():
            if p.condition is not None:
                parent, _values = p.condition
                if parent not in seen:
                    raise SpaceError(
                        f"parameter {name!r} is conditioned on {parent!r}, which must come first"
                    )
                if not isinstance(self.params[parent], Categorical):
                    raise SpaceError(
                        f"parameter {name!r} is conditioned on {parent!r}, which is not Categorical"
                    )
            seen.add(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.params == other.params

    def is_active(self, name: str, config: dict[str, Any]) -> bool:
        cond = self.params[name].condition
        if cond is None:
            return True
        parent, values = cond
        return self.is_active(parent, config) and config.get(parent) in values

    def active(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` without the parameters its parents switch off (and without unknown keys)."""
        return {k: config[k] for k in self.params if k in config and self.is_active(k, config)}

    def coerce(self, config: dict[str, Any]) -> dict[str, Any]:
        """The active part of ``config`` with plain Python values (libraries hand back numpy scalars)."""
        out: dict[str, Any] = {}
        for name, v in self.active(config).items():
            p = self.params[name]
            if isinstance(p, Float):
                out[name] = float(v)
            elif isinstance(p, Int):
                out[name] = round(float(v))
            else:
                out[name] = v.item() if isinstance(v, np.generic) else v
        return out

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for name, p in self.params.items():
            if self.is_active(name, config):
                config[name] = p.sample(rng)
        return config

    def validate(self, config: dict[str, Any]) -> None:
        """Raise ``SpaceError`` unless ``config`` holds exactly the active parameters, each in range."""
        for name, p in self.params.items():
            active = self.is_active(name, config)
            if active and (name not in config or not p.contains(config[name])):
                raise SpaceError(f"parameter {name!r} = {config.get(name)!r} is missing or outside {p}")
            if not active and name in config:
                raise SpaceError(f"parameter {name!r} is set but inactive in {config}")

    def grid(self, n_numeric: int = 3) -> list[dict[str, Any]]:
        """Every combination of grid points (``n_numeric`` per numeric parameter), respecting conditions."""
        configs: list[dict[str, Any]] = [{}]
        for name, p in self.params.items():
            grown: list[dict[str, Any]] = []
            for c in configs:
                if self.is_active(name, c):
                    grown.extend({**c, name: v} for v in p.points(n_numeric))
                else:
                    grown.append(c)
            configs = grown
        return configs

    # --- JSON ---
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            d: dict[str, Any]
            if isinstance(p, Categorical):
                d = {"type": "categorical", "choices": list(p.choices)}
            else:
                d = {
                    "type": "float" if isinstance(p, Float) else "int",
                    "low": p.low,
                    "high": p.high,
                    "log": p.log,
                }
            if p.condition is not None:
                d["condition"] = {"parent": p.condition[0], "values": list(p.condition[1])}
            out[name] = d
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Space:
        params: dict[str, Param] = {}
        for name, d in data.items():
            cond = d.get("condition")
            condition = (cond["parent"], tuple(cond["values"])) if cond else None
            kind = d["type"]
            if kind == "categorical":
                params[name] = Categorical(tuple(d["choices"]), condition=condition)
            elif kind == "float":
                params[name] = Float(float(d["low"]), float(d["high"]), bool(d["log"]), condition=condition)
            elif kind == "int":
                params[name] = Int(int(d["low"]), int(d["high"]), bool(d["log"]), condition=condition)
            else:
                raise SpaceError(f"unknown parameter type {kind!r} for {name!r} in a stored space")
        return cls(params)
