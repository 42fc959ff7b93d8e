"""The stored trial log of one task as flat rows, grouped by model family.

Tuning strategies (grid, random, optuna, ...) tune a model family over one shared search space, so
their trials of one family are pooled. An AutoML engine's trials are grouped per engine and learner
(``flaml:lgbm``): their configurations and validation protocol are the engine's own and must not be
mixed with a tuner's family of the same name. Configuration keys starting with ``_`` are metadata.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from harness.store import RunRecord

log = logging.getLogger(__name__)

KNOWN_ENGINES = frozenset({"flaml", "tpot", "h2o", "autokeras"})


@dataclass(frozen=True)
class TrialRow:
    run_id: int
    idx: int
    adapter: str
    seed: int
    budget_s: float
    group: str  # the family (tuners) or ENGINE:LEARNER (engines)
    tuner: bool
    params: dict[str, Any]
    value: float | None  # valid score in the task metric's units
    elapsed_s: float | None
    status: str
    curve: dict[str, list[float]] | None

    @property
    def strategy(self) -> str:
        return self.adapter.partition(":")[0]


@functools.lru_cache(maxsize=64)
def is_tuner(adapter: str) -> bool:
    """True for a tuning strategy (it declares model families), False for an AutoML engine."""
    base = adapter.partition(":")[0]
    try:
        from adapters import registry

        return bool(registry.load_class(base).families)
    except Exception as exc:  # noqa: BLE001 - reports must render even when an adapter no longer loads
        log.debug("adapter %s does not load (%s); guessing its kind from its name", adapter, exc)
        return base not in KNOWN_ENGINES


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def trial_rows(runs: list[RunRecord]) -> list[TrialRow]:
    """Every stored trial of ``runs`` (which must carry their trials), in run then trial order."""
    out = []
    for run in sorted(runs, key=lambda r: r.id or 0):
        tuner = is_tuner(run.adapter)
        for t in run.trials:
            family = str(t.get("family") or "?")
            cfg = t.get("config") or {}
            out.append(
                TrialRow(
                    run_id=run.id or 0,
                    idx=int(t.get("idx") or 0),
                    adapter=run.adapter,
                    seed=run.seed,
                    budget_s=run.budget_s,
                    group=family if tuner else f"{run.adapter.partition(':')[0]}:{family}",
                    tuner=tuner,
                    params={k: v for k, v in cfg.items() if not str(k).startswith("_")},
                    value=_finite(t.get("valid_score")),
                    elapsed_s=_finite(t.get("elapsed_s")),
                    status=str(t.get("status") or "ok"),
                    curve=t.get("curve") or None,
                )
            )
    return out


def scored(rows: list[TrialRow]) -> list[TrialRow]:
    return [r for r in rows if r.status == "ok" and r.value is not None]


def by_group(rows: list[TrialRow]) -> dict[str, list[TrialRow]]:
    """Finished, scored trials per family group, tuners' families first, each in log order."""
    groups: dict[str, list[TrialRow]] = defaultdict(list)
    for r in scored(rows):
        groups[r.group].append(r)
    return dict(sorted(groups.items(), key=lambda kv: (not kv[1][0].tuner, -len(kv[1]), kv[0])))
