"""AutoGluon adapter: its translation of tasks, presets and scores (quick), and real runs in a child (engine).

The real runs go through ``tests.adapters.engines.engine_contract``: one adapter life cycle in a
fresh Python process, as the harness's child would run it, then the contract checks on what it
recorded. Budgets are short (CI time); the budget calibration is ``benchmarks/budget_adherence.py``.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest

from adapters.base import TaskInfo, TaskNotSupported
from adapters.engines.autogluon import adapter as ag
from adapters.engines.autogluon.adapter import AutoGluonAdapter, ag_metric, preset_for
from tests.adapters.engines.engine_contract import (
    baseline,
    better,
    check_contract,
    run_check_adapter,
    run_engine,
)

pytest.importorskip("autogluon.tabular")

# --- quick checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "problem", "name"),
    [
        ("accuracy", "binary", "accuracy"),
        ("f1", "multiclass", "f1_macro"),
        ("roc_auc", "binary", "roc_auc"),
        ("roc_auc", "multiclass", "roc_auc_ovr_macro"),
        ("log_loss", "multiclass", "log_loss"),
        ("rmse", "regression", "root_mean_squared_error"),
        ("r2", "regression", "r2"),
    ],
)
def test_our_metrics_have_autogluon_names_it_knows(metric: str, problem: str, name: str) -> None:
    from autogluon.core.metrics import get_metric

    assert ag_metric(TaskInfo("t", problem, metric)) == name  # type: ignore[arg-type]
    get_metric(name, problem_type=problem)  # AutoGluon knows the name (raises otherwise)


def test_check_task_refuses_what_autogluon_cannot_do() -> None:
    adapter = AutoGluonAdapter()
    adapter.check_task(TaskInfo("t", "multiclass", "precision", ("a", "b", "c")))
    with pytest.raises(TaskNotSupported, match="ranking"):
        adapter.check_task(TaskInfo("t", "ranking", "ndcg"))  # type: ignore[arg-type]
    with pytest.raises(TaskNotSupported, match="brier"):
        adapter.check_task(TaskInfo("t", "binary", "brier", ("a", "b")))


def test_scores_go_back_to_the_metrics_units() -> None:
    """AutoGluon's validation scores are 'higher is better' (an RMSE of 3 is -3); trials keep the RMSE."""
    from autogluon.core.metrics import get_metric

    rmse = get_metric("root_mean_squared_error", problem_type="regression")
    assert rmse.convert_score_to_original(-3.0) == pytest.approx(3.0)
    assert get_metric("accuracy").convert_score_to_original(0.8) == pytest.approx(0.8)


def test_preset_follows_the_budget() -> None:
    """Each preset applies from its smallest budget up to the next preset's."""
    for i, (start, name) in enumerate(ag.PRESETS):
        assert preset_for(start) == name
        if i + 1 < len(ag.PRESETS):
            assert preset_for(ag.PRESETS[i + 1][0] - 0.5) == name
    assert preset_for(10_000.0) == ag.PRESETS[-1][1]


def test_callback_stops_at_the_deadline_and_pickles_without_the_run() -> None:
    from adapters.engines.autogluon.callback import DeadlineCallback

    seen: list[str] = []

    class Model:
        name = "LightGBM_BAG_L1"

    later = DeadlineCallback(time.monotonic() + 60.0, lambda trainer, name: seen.append(name))
    assert later.before_model_fit(trainer=None, model=Model()) == (False, False)
    later.after_model_fit(trainer=None, model_names=["a", "b"])
    assert seen == ["a", "b"]
    past = DeadlineCallback(time.monotonic() - 1.0, seen.append)
    assert past.before_model_fit(trainer=None, model=Model()) == (True, True)
    copy = pickle.loads(pickle.dumps(later))  # AutoGluon pickles its trainer, callbacks included
    assert copy.stop_at is None and copy.on_model is None
    assert copy.before_model_fit(trainer=None, model=Model()) == (False, False)


def test_a_budget_under_the_smallest_is_refused_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests import ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "harness", "--task", "wine", "--budget", "2", "--adapters", "autogluon",
         "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert f"--budget {AutoGluonAdapter.min_budget_s:g}" in line and "autogluon" in line
    assert not (tmp_path / "out" / "runs.csv").exists()


# --- real AutoGluon runs ---------------------------------------------------------------------


@pytest.mark.engine
@pytest.mark.parametrize("task", ["breast_cancer", "digits", "diabetes"])
def test_autogluon_keeps_the_contract(tmp_path: Path, no_leaks, task: str) -> None:
    budget_s = 15.0
    out = run_engine(
        tmp_path, "adapters.engines.autogluon.adapter:AutoGluonAdapter", task, budget_s, seed=1, cores=1
    )
    score = check_contract(out, budget_s)
    assert better(out["metric"], score, baseline(out)), (score, baseline(out))
    assert out["fit_s"] >= 0.8 * budget_s  # best_quality uses the budget (medium_quality ends early)
    models = {t["config"]["model"] for t in out["trials"]}
    assert out["best_config"]["model"] in models
    assert out["best_config"]["preset"] == preset_for(budget_s)
    assert {t["family"] for t in out["trials"]} >= {"lgb"}


@pytest.mark.engine
def test_autogluon_passes_check_adapter_on_the_generated_binary_task(tmp_path: Path, no_leaks) -> None:
    """adapters.testing.check_adapter in a child: AutoGluon's log loss becomes valid scores in log loss."""
    out = run_check_adapter(
        tmp_path, "adapters.engines.autogluon.adapter:AutoGluonAdapter", "binary", 12.0, cores=1
    )
    assert out["contract"] == "ok", out["contract"]


def test_check_adapter_refuses_a_budget_the_adapter_cannot_keep() -> None:
    from adapters.testing import check_adapter

    with pytest.raises(ValueError, match=f"budget_s={AutoGluonAdapter.min_budget_s:g} or more"):
        check_adapter(AutoGluonAdapter, task="binary", budget_s=1.0)
