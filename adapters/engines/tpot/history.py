"""TPOT's table of evaluated pipelines as our trials, and short descriptions of its pipelines.

``trials`` turns rows of TPOT's ``evaluated_individuals`` table into ``Trial`` records (in
completion order, with TPOT's timestamps); ``describe`` writes a pipeline as ``Step(param=value)``
with only the parameters that differ from their defaults; ``family`` names its final estimator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from adapters.base import Trial


def describe(est: Any) -> str:
    """A pipeline as ``Step(param=value, ...)`` with only the parameters that differ from defaults.

    scikit-learn's own ``repr`` does the same but took 0.7 s per nested pipeline under load,
    which would be charged to the budget for every trial.
    """
    if hasattr(est, "steps"):
        return "Pipeline[" + ", ".join(describe(step) for _, step in est.steps) + "]"
    if hasattr(est, "transformer_list"):
        return "FeatureUnion[" + ", ".join(describe(t) for _, t in est.transformer_list) + "]"
    if not hasattr(est, "get_params"):
        return type(est).__name__
    defaults = _defaults(type(est))
    parts = []
    for name, value in est.get_params(deep=False).items():
        if name in defaults and _same(defaults[name], value):
            continue
        shown = describe(value) if hasattr(value, "get_params") else repr(value)
        parts.append(f"{name}={shown}")
    return f"{type(est).__name__}({', '.join(parts)})"


_DEFAULTS: dict[type, dict[str, Any]] = {}  # per class: its constructor's defaults


def _defaults(cls: type) -> dict[str, Any]:
    import inspect

    if cls not in _DEFAULTS:
        try:
            params = list(inspect.signature(cls.__init__).parameters.values())  # type: ignore[misc]
        except (TypeError, ValueError):
            params = []
        _DEFAULTS[cls] = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    return _DEFAULTS[cls]


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or (type(a) is type(b) and a == b))
    except Exception:  # noqa: BLE001 - arrays and other values without a plain truth value
        return False


def family(pipeline: Any) -> str:
    """The class name of the pipeline's final estimator."""
    while hasattr(pipeline, "steps"):
        pipeline = pipeline.steps[-1][1]
    return type(pipeline).__name__


def trials(
    history: pd.DataFrame | None, sign: float, wall_at_start: float, deadline: float | None = None
) -> list[Trial]:
    """One Trial per pipeline TPOT started, in the order they completed.

    Evaluations TPOT recorded as INVALID after its ``deadline`` were cancelled there (by TPOT or
    by our watchdog): they are ``pruned``, not failures of the pipeline.
    """
    if history is None or len(history) == 0 or "Completed Timestamp" not in history:
        return []
    score_col = history.columns[0]  # the first objective is the scorer
    out: list[tuple[float, Trial]] = []
    for _, row in history.iterrows():
        start, end = row.get("Submitted Timestamp"), row.get("Completed Timestamp")
        if not _is_number(start) or not _is_number(end) or end - start <= 1e-3:
            continue  # never started (dropped from the queue at the time limit)
        err = row.get("Eval Error")
        err = err if isinstance(err, str) else None
        if err == "INVALID" and deadline is not None and end >= deadline:
            err = None  # cancelled at the time limit
        score = row.get(score_col)
        ok = err is None and _is_number(score)
        inst = row.get("Instance")
        if inst is None and row.get("Individual") is not None:
            inst = row["Individual"].export_pipeline()
        trial = Trial(
            config={"pipeline": describe(inst), "generation": _as_int(row.get("Generation"))},
            valid_score=sign * float(score) if ok else None,
            fit_s=float(end - start),
            elapsed_s=max(0.0, float(end) - wall_at_start),
            status="ok" if ok else ("failed" if err else "pruned"),
            error=None if ok else (err or "cancelled at TPOT's time limit"),
            family=family(inst) if inst is not None else None,
        )
        out.append((float(end), trial))
    return [t for _, t in sorted(out, key=lambda pair: pair[0])]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.floating | np.integer) and math.isfinite(float(value))


def _as_int(value: Any) -> int | None:
    return int(value) if _is_number(value) else None
