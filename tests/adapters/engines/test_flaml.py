"""FLAML adapter: the translation of tasks and logs (quick), and real runs in a child process (engine).

The real runs go through ``tests.adapters.engines.engine_contract`` (shared with the TPOT tests): one
adapter life cycle in a fresh Python process, as the harness's child would run it, then the
contract checks on what it recorded.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.base import FitContext, FitData, TaskInfo, TaskNotSupported
from adapters.engines.common import BudgetKnob, JsonLinesFollower, align_proba
from adapters.engines.flaml import FlamlAdapter
from tasks.metrics import METRICS
from tests.adapters.engines.engine_contract import baseline, better, check_contract, run_engine

# --- quick checks ----------------------------------------------------------------------------


def test_check_task_refuses_what_flaml_cannot_do() -> None:
    adapter = FlamlAdapter()
    adapter.check_task(TaskInfo("t", "binary", "roc_auc", ("a", "b")))
    adapter.check_task(TaskInfo("t", "multiclass", "precision", ("a", "b", "c")))  # via tasks.metrics
    with pytest.raises(TaskNotSupported, match="ranking"):
        adapter.check_task(TaskInfo("t", "ranking", "ndcg"))  # type: ignore[arg-type]
    with pytest.raises(TaskNotSupported, match="no metric 'brier'"):
        adapter.check_task(TaskInfo("t", "binary", "brier", ("a", "b")))


@pytest.mark.parametrize(
    ("metric", "problem", "flaml_name", "loss", "score"),
    [
        ("accuracy", "binary", "accuracy", 0.1, 0.9),
        ("roc_auc", "multiclass", "roc_auc_ovr", 0.25, 0.75),
        ("f1", "binary", "f1", 0.2, 0.8),
        ("f1", "multiclass", "macro_f1", 0.3, 0.7),
        ("log_loss", "binary", "log_loss", 0.4, 0.4),
        ("rmse", "regression", "rmse", 3.5, 3.5),
        ("r2", "regression", "r2", 0.25, 0.75),
    ],
)
def test_flaml_losses_become_our_scores(metric, problem, flaml_name, loss, score) -> None:
    name, to_score = FlamlAdapter()._metric(TaskInfo("t", problem, metric))
    assert name == flaml_name
    assert to_score(loss) == pytest.approx(score)


def test_knob_keeps_a_margin_and_a_floor() -> None:
    assert BudgetKnob(0.9, 1.0, 2.0).seconds(100.0) == pytest.approx(89.0)
    assert BudgetKnob(0.9, 1.0, 2.0).seconds(1.0) == 2.0


def test_follower_delivers_each_complete_line_once(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    seen: list[dict] = []
    follower = JsonLinesFollower(str(path), seen.append, poll_s=0.02).start()
    with open(path, "w") as fh:
        fh.write('{"a": 1}\n{"a": 2}\n{"a"')  # the last line is still being written
        fh.flush()
        time.sleep(0.2)
        assert seen == [{"a": 1}, {"a": 2}]
        fh.write(': 3}\nnot json\n{"a": 4}\n')
    follower.stop()
    assert seen == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}]


def test_flaml_catboost_learner_stops_at_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FLAML 2.x dropped the time check of its catboost trials (microsoft/FLAML#1364); the adapter's
    adapter puts it back, so a trial ends at the deadline FLAML gives it, with the trees so far
    (without it, FLAML's learner builds all 20,000 here: over four minutes)."""
    pytest.importorskip("catboost")
    from flaml.automl.model import CatBoostEstimator

    from adapters.engines.flaml import keep_catboost_in_budget

    assert keep_catboost_in_budget()
    monkeypatch.chdir(tmp_path)  # FLAML's catboost writes its train_dir in the working directory
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 5)), columns=list("abcde"))
    y = (X["a"] + rng.normal(size=400) > 0).astype(int).to_numpy()
    model = CatBoostEstimator(task="binary", n_estimators=20_000, learning_rate=0.001, thread_count=1)
    model.fit(X, y, budget=1.0)
    iterations = len(model.model.get_evals_result()["learn"]["Logloss"])  # what ran, before shrinking
    assert 0 < iterations < 20_000
    assert model.predict_proba(X).shape == (400, 2)


def test_align_proba_puts_missing_classes_at_zero() -> None:
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    out = align_proba(proba, [0, 2], 3)
    assert out.tolist() == [[0.2, 0.0, 0.8], [0.6, 0.0, 0.4]]
    assert align_proba(np.array([0.3, 0.9]), [0, 1], 2).tolist() == [[0.7, 0.3], [pytest.approx(0.1), 0.9]]


# --- real FLAML runs -------------------------------------------------------------------------


@pytest.mark.engine
@pytest.mark.parametrize(("task", "budget_s"), [("breast_cancer", 20.0), ("diabetes", 20.0)])
def test_flaml_keeps_the_contract(tmp_path: Path, no_leaks, task: str, budget_s: float) -> None:
    out = run_engine(tmp_path, "adapters.engines.flaml:FlamlAdapter", task, budget_s, seed=1)
    score = check_contract(out, budget_s)
    assert better(out["metric"], score, baseline(out)), (score, baseline(out))
    assert {t["family"] for t in out["trials"]} >= {"lgbm"}  # FLAML's learners are the families
    assert out["best_config"]["learner"] in {t["family"] for t in out["trials"]}
    # trial log lines were written while FLAML searched, and the budget was used
    assert out["fit_s"] >= 0.8 * budget_s


@pytest.mark.engine
def test_flaml_scores_trials_with_our_metric_when_it_has_none(tmp_path: Path) -> None:
    """precision is not a FLAML metric: the adapter scores FLAML's trials with tasks.metrics."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.columns = [str(c) for c in X.columns]
    task = TaskInfo("bc", "binary", "precision", ("0", "1"))
    data = FitData(X[:300], y.to_numpy()[:300], X[300:450], y.to_numpy()[300:450], task)
    adapter = FlamlAdapter()
    adapter.start(FitContext(3.0, 0, 1, 1.0, str(tmp_path)))
    trials: list = []
    ctx = FitContext(3.0, 0, 1, 1.0, str(tmp_path), fit_start=time.monotonic())
    adapter.fit(data, ctx, trials.append)
    ok = [t for t in trials if t.status == "ok"]
    assert ok and all(0.0 <= t.valid_score <= 1.0 for t in ok)
    pred = adapter.predict(pd.DataFrame(X[450:]))
    assert METRICS["precision"].score(y.to_numpy()[450:], pred) > 0.8
    adapter.close()


@pytest.mark.engine
def test_flaml_passes_check_adapter_on_the_generated_binary_task(tmp_path: Path, no_leaks) -> None:
    """adapters.testing.check_adapter in a child: FLAML's log loss becomes valid scores in log loss."""
    from tests.adapters.engines.engine_contract import run_check_adapter

    out = run_check_adapter(tmp_path, "adapters.engines.flaml:FlamlAdapter", "binary", 12.0)
    assert out["contract"] == "ok", out["contract"]
    assert [r["task"] for r in out["results"]] == ["binary"]
    assert out["left_after_close"] == []
