"""The frozen run configuration and the jobs it expands into."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

MAX_BUDGET_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class RunConfig:
    tasks: tuple[str, ...]
    budgets: tuple[float, ...]
    adapters: tuple[str, ...] | None = None  # None: every available built-in
    seeds: int = 1
    cores: int = 1
    parallel: int = 1
    memory_gb: float = 8.0
    out: Path = Path("results")
    data_dir: Path | None = None
    target: str | None = None
    fresh: bool = False
    executor: str = "local"  # local or dask
    scheduler: str | None = None  # tcp://HOST:PORT for an existing Dask cluster
    startup_limit_s: float = 300.0

    def __post_init__(self) -> None:
        for b in self.budgets:
            check_budget(b)
        if not self.tasks:
            raise HarnessError("no task given: name one with --task (see `python -m harness list`)")
        machine = os.cpu_count() or 1
        if self.scheduler is None and self.cores > machine:
            raise HarnessError(
                f"--cores {self.cores} is more than this machine has ({machine} cores); lower it"
            )
        if self.scheduler is None and self.cores * self.parallel > machine:
            raise HarnessError(
                f"--cores {self.cores} x --parallel {self.parallel} needs {self.cores * self.parallel} cores "
                f"but this machine has {machine}; lower one of them"
            )
        if self.memory_gb <= 0:
            raise HarnessError(f"--memory-gb must be positive, got {self.memory_gb:g}")


@dataclass(frozen=True)
class Job:
    task: str
    adapter: str
    seed: int
    budget_s: float
    cores: int
    memory_gb: float
    data_fingerprint: str

    @property
    def key(self) -> str:
        """Identifies a job with the same configuration across runs of the harness (for resume)."""
        blob = json.dumps(
            [
                self.task,
                self.adapter,
                self.seed,
                self.budget_s,
                self.cores,
                self.memory_gb,
                self.data_fingerprint,
            ]
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def label(self) -> str:
        return f"{self.task}/{self.adapter} seed {self.seed} budget {self.budget_s:g}s"


def check_budget(b: float) -> float:
    if not isinstance(b, int | float) or math.isnan(b) or b <= 0:
        raise HarnessError(f"budget must be a positive number of seconds, got {b!r}; e.g. --budget 60")
    if math.isinf(b) or b > MAX_BUDGET_S:
        raise HarnessError(
            f"budget {b:g} s is more than a week per run ({MAX_BUDGET_S:g} s); give a smaller --budget"
        )
    return float(b)


def parse_budgets(text: str) -> tuple[float, ...]:
    out = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            value = float(part)
        except ValueError:
            raise HarnessError(
                f"budget {part!r} is not a number of seconds; give e.g. --budget 60 or --budget 30,60"
            ) from None
        out.append(check_budget(value))
    if not out:
        raise HarnessError("no budget given; e.g. --budget 60")
    return tuple(out)


def parse_positive_int(text: str, what: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise HarnessError(f"{what} must be a positive whole number, got {text!r}") from None
    if value <= 0:
        raise HarnessError(f"{what} must be a positive whole number, got {text!r}")
    return value
