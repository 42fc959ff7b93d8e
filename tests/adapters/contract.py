"""The adapter contract, as a reusable check: run any adapter in-process on small real data.

``run_contract(factory, task_name, budget_s, seed)`` calls check_task, start, fit,
predict, predict_proba, best_config and close the way the harness does, and asserts:
types and shapes, prediction codes in range, probabilities that sum to 1, a
JSON-serialisable ``best_config``, logged trials with valid scores, ``fit`` inside the
budget plus a small slack, and (unless ``check_seed=False``) the same trials from a second
run with the same seed. Data comes from scikit-learn directly, not from ``tasks/``.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split

from adapters.base import Adapter, FitContext, FitData, TaskInfo, Trial

TASKS = ("breast_cancer", "diabetes", "digits", "mixed")


def budget_slack(budget_s: float) -> float:
    return 1.0 + 0.1 * budget_s


def load_task(name: str, seed: int = 0) -> tuple[FitData, pd.DataFrame, np.ndarray]:
    """Train/valid ``FitData`` and test features and labels (60/20/20) of a small built-in task.

    ``mixed`` is breast cancer with a categorical column and missing values, to exercise preprocessing.
    """
    if name in ("breast_cancer", "mixed"):
        d = load_breast_cancer(as_frame=True)
        X, y = d.frame.drop(columns="target"), d.target.to_numpy()
        info = TaskInfo(name, "binary", "roc_auc", ("malignant", "benign"))
        if name == "mixed":
            X = X.iloc[:, :8].copy()
            X["size"] = pd.Categorical(pd.cut(X["mean radius"], 4, labels=["s", "m", "l", "xl"]).astype(str))
            X.loc[X.index % 7 == 0, "size"] = np.nan
            X.loc[X.index % 5 == 0, "mean texture"] = np.nan
    elif name == "diabetes":
        d = load_diabetes(as_frame=True)
        X, y = d.data, d.target.to_numpy(dtype=float)
        info = TaskInfo(name, "regression", "rmse")
    elif name == "digits":
        d = load_digits(as_frame=True)
        X, y = d.data, d.target.to_numpy()
        info = TaskInfo(
            name, "multiclass", "accuracy", tuple(str(i) for i in range(10)), image_shape=(8, 8, 1)
        )
    else:
        raise ValueError(f"unknown contract task {name!r}; choose one of {TASKS}")
    strat = y if info.is_classification else None
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=strat)
    strat = y_rest if info.is_classification else None
    X_tr, X_va, y_tr, y_va = train_test_split(
        X_rest, y_rest, test_size=0.25, random_state=seed, stratify=strat
    )
    data = FitData(X_tr.reset_index(drop=True), y_tr, X_va.reset_index(drop=True), y_va, info)
    return data, X_test.reset_index(drop=True), y_test


@dataclass
class ContractResult:
    adapter: Adapter
    task: TaskInfo
    fit_s: float
    trials: list[Trial]
    predictions: np.ndarray
    proba: np.ndarray | None
    best_config: dict[str, Any]
    y_test: np.ndarray
    second_trials: list[Trial] = field(default_factory=list)


def run_adapter(
    adapter_factory: Callable[[], Adapter], task_name: str, budget_s: float, seed: int = 0, cores: int = 1
) -> ContractResult:
    """One run through the whole life cycle, with no checks beyond what the calls themselves raise."""
    data, X_test, y_test = load_task(task_name)
    adapter = adapter_factory()
    trials: list[Trial] = []
    try:
        adapter.check_task(data.task)
        with tempfile.TemporaryDirectory() as workdir:
            base = FitContext(budget_s=budget_s, seed=seed, cores=cores, memory_gb=2.0, workdir=workdir)
            adapter.start(base)
            t0 = time.monotonic()
            ctx = FitContext(
                budget_s=budget_s, seed=seed, cores=cores, memory_gb=2.0, workdir=workdir, fit_start=t0
            )

            def log(trial: Trial) -> None:
                if not trial.elapsed_s:
                    trial.elapsed_s = time.monotonic() - t0
                trials.append(trial)

            adapter.fit(data, ctx, log)
            fit_s = time.monotonic() - t0
            pred = adapter.predict(X_test)
            proba = adapter.predict_proba(X_test)
            best = adapter.best_config()
    finally:
        adapter.close()
    return ContractResult(adapter, data.task, fit_s, trials, pred, proba, best, y_test)


def check_result(res: ContractResult, budget_s: float) -> None:
    task, n = res.task, len(res.y_test)
    assert res.fit_s <= budget_s + budget_slack(budget_s), (
        f"fit took {res.fit_s:.2f} s on a {budget_s} s budget"
    )
    assert isinstance(res.predictions, np.ndarray) and res.predictions.shape == (n,), res.predictions.shape
    if task.is_classification:
        assert np.issubdtype(res.predictions.dtype, np.integer), res.predictions.dtype
        assert res.predictions.min() >= 0 and res.predictions.max() < len(task.classes)
        if res.proba is not None:
            assert res.proba.shape == (n, len(task.classes)), res.proba.shape
            assert np.all(res.proba >= -1e-9) and np.all(res.proba <= 1 + 1e-9)
            np.testing.assert_allclose(res.proba.sum(axis=1), 1.0, atol=1e-5)
    else:
        assert np.issubdtype(res.predictions.dtype, np.floating) and np.all(np.isfinite(res.predictions))
        assert res.proba is None
    assert isinstance(res.best_config, dict)
    json.dumps(res.best_config)
    assert res.trials, "no trial was logged"
    assert any(t.status == "ok" for t in res.trials), [t.error for t in res.trials]
    last = 0.0
    for t in res.trials:
        assert isinstance(t, Trial) and t.status in ("ok", "failed", "pruned"), t
        json.dumps(t.config)
        assert t.fit_s >= 0 and t.elapsed_s >= last - 1e-6, (t.elapsed_s, last)
        last = t.elapsed_s
        if t.status == "ok":
            assert t.valid_score is not None and math.isfinite(t.valid_score), t
        else:
            assert t.valid_score is None
        if t.curve is not None:
            json.dumps(t.curve)
    assert last <= res.fit_s + 1e-6


def result_as_json(res: ContractResult, budget_s: float) -> dict[str, Any]:
    """What an engine test's child process sends back: the result, and whether it keeps the contract."""
    out: dict[str, Any] = {"fit_s": res.fit_s}
    try:
        check_result(res, budget_s)
        out["contract"] = "ok"
    except AssertionError as exc:
        out["contract"] = f"violated: {exc}"
    out["y_test"] = res.y_test.tolist()
    out["y_pred"] = res.predictions.tolist()
    out["proba"] = None if res.proba is None else res.proba.tolist()
    out["trials"] = [dict(t.__dict__) for t in res.trials]
    out["best_config"] = res.best_config
    out["metric"] = res.task.metric
    return out


def same_trials(a: list[Trial], b: list[Trial]) -> None:
    """The common prefix of two runs with one seed holds the same configurations and statuses."""
    k = min(len(a), len(b))
    assert k >= 1
    assert [t.config for t in a[:k]] == [t.config for t in b[:k]]
    assert [t.status for t in a[:k]] == [t.status for t in b[:k]]


def run_contract(
    adapter_factory: Callable[[], Adapter],
    task_name: str,
    budget_s: float,
    seed: int = 0,
    check_seed: bool = True,
    cores: int = 1,
) -> ContractResult:
    """Run the adapter through the contract (twice when ``check_seed``) and return the first run."""
    res = run_adapter(adapter_factory, task_name, budget_s, seed, cores)
    check_result(res, budget_s)
    if check_seed:
        again = run_adapter(adapter_factory, task_name, budget_s, seed, cores)
        check_result(again, budget_s)
        same_trials(res.trials, again.trials)
        res.second_trials = again.trials
    return res
