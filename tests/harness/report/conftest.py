"""Stores for the report tests: synthetic ones (exact control over scores, failures, curves) and
one small real run of the harness."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.store import RunRecord, Store


def run_record(
    task: str,
    adapter: str,
    seed: int,
    score: float | None,
    *,
    status: str = "ok",
    budget: float = 10.0,
    valid: float | None = None,
    trials: list[dict[str, Any]] | None = None,
    overrun: float = 0.9,
    metric: str = "accuracy",
    reason: str | None = None,
) -> RunRecord:
    return RunRecord(
        job_key=f"{task}/{adapter}/{seed}/{budget}",
        task=task,
        adapter=adapter,
        seed=seed,
        budget_s=budget,
        cores=1,
        memory_gb=2.0,
        status=status,
        reason=reason,
        metric=metric,
        test_score=score,
        valid_score=valid if valid is not None else score,
        metrics={metric: score} if score is not None else {},
        fit_s=overrun * budget,
        overrun=overrun,
        n_trials=len(trials or []),
        task_info={"problem_type": "binary", "n_rows": 500, "n_cols": 4},
        trials=trials or [],
    )


def mlp_curve(kind: str, epochs: int = 20) -> dict[str, list[float]]:
    e = np.arange(epochs, dtype=float)
    train = 1.0 * np.exp(-e / 5) + 0.1
    if kind == "overfit":
        valid = 0.6 * np.exp(-e / 3) + 0.3 + 0.02 * np.maximum(0, e - 6)
    else:
        valid = 0.8 * np.exp(-e / 4) + 0.35
    return {"train_loss": train.round(5).tolist(), "valid_loss": valid.round(5).tolist()}


def objective(lr: float) -> float:
    """The synthetic valid score: only the learning rate matters, best at 0.1."""
    return 0.9 - 0.1 * (math.log10(lr) + 1) ** 2


def synthetic_trials(
    adapter: str, seed: int, n: int, family: str = "gbm", grid: bool = False
) -> list[dict[str, Any]]:
    """Trials whose valid score depends on the learning rate only; ``grid`` puts them on a 3 x 3 x 3 grid."""
    rng = np.random.default_rng(1000 * seed + len(adapter))
    out = []
    for i in range(n):
        cfg: dict[str, Any] = {
            "learning_rate": [0.001, 0.1, 1.0][i % 3] if grid else float(10 ** rng.uniform(-3, 0)),
            "num_leaves": [4, 32, 128][(i // 3) % 3] if grid else int(rng.integers(4, 128)),
            "subsample": [0.5, 0.75, 1.0][(i // 9) % 3] if grid else float(rng.uniform(0.5, 1.0)),
            "_warm_up": False,
        }
        t: dict[str, Any] = {
            "family": family,
            "config": cfg,
            "valid_score": objective(cfg["learning_rate"]) + float(rng.normal(0, 0.003)),
            "fit_s": 0.05,
            "elapsed_s": 0.5 * (i + 1),
            "status": "ok",
        }
        if family == "mlp":
            t["curve"] = mlp_curve("overfit" if i % 2 else "fine")
        out.append(t)
    return out


def fill_synthetic(store: Store, task: str = "synth", seeds: int = 3, failed: bool = True) -> None:
    """default < grid < optuna:mlp < random (clear gaps over 3 seeds); flaml: one failed run, one ok."""
    for s in range(seeds):
        default = [{"family": "gbm", "config": {}, "valid_score": 0.8}]
        store.add_run(run_record(task, "default", s, 0.80 + 0.01 * s, trials=default))
        store.add_run(
            run_record(task, "random", s, 0.86 + 0.01 * s, trials=synthetic_trials("random", s, 30))
        )
        mlp = synthetic_trials("mlp", s, 12, "mlp")
        store.add_run(run_record(task, "optuna:mlp", s, 0.85 + 0.012 * s, trials=mlp))
        grid = synthetic_trials("grid", s, 27, grid=True)
        store.add_run(run_record(task, "grid", s, 0.84 + 0.01 * s, trials=grid))
    if failed:
        store.add_run(
            run_record(task, "flaml", 0, None, status="failed", reason="RuntimeError: boom", overrun=1.3)
        )
        lgbm = [
            {"family": "lgbm", "config": {"learner": "lgbm", "n_estimators": 4 + i}, "valid_score": 0.8}
            for i in range(3)
        ]
        store.add_run(run_record(task, "flaml", 1, 0.83, trials=lgbm))


@pytest.fixture
def synthetic_store(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    with Store(out / "harness.db") as s:
        fill_synthetic(s)
    return out


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real benchmark: gradient boosting (default, grid, random) and an MLP (optuna:mlp)."""
    from harness.cli import main

    out = tmp_path_factory.mktemp("real")
    # 8 s gives grid and random together well over the 10 trials fANOVA needs, even on a busy machine
    args = ["--task", "breast_cancer", "--budget", "8", "--seeds", "1", "--quiet", "--out", str(out)]
    assert main([*args, "--adapters", "default,grid,random,optuna:mlp"]) == 0
    return out
