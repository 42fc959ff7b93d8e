"""TPOT adapter: quick checks of the translation and of the bounded refit, and real runs (engine).

Real runs use the child-process runner of ``tests.adapters.engines.engine_contract`` (the same contract
checks as FLAML's), with one core as the harness gives by default,
plus what only TPOT needs: its Dask workers live in the child's session and process group (so the
harness's kill of the tree reaches them) and die with the child even when only the child is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from adapters.base import TaskInfo, TaskNotSupported
from adapters.engines.common import BudgetKnob
from adapters.engines.tpot.adapter import TpotAdapter
from adapters.engines.tpot.history import family
from adapters.engines.tpot.history import trials as history_trials
from adapters.engines.tpot.refit import Candidate, candidates, plan, refit
from tests.adapters.engines import engine_contract as runner

TPOT = "adapters.engines.tpot.adapter:TpotAdapter"


# --- quick checks ----------------------------------------------------------------------------


def test_check_task_refuses_what_tpot_cannot_do() -> None:
    adapter = TpotAdapter()
    adapter.check_task(TaskInfo("t", "multiclass", "roc_auc", ("a", "b", "c")))
    adapter.check_task(TaskInfo("t", "regression", "mae"))
    with pytest.raises(TaskNotSupported, match="ranking"):
        adapter.check_task(TaskInfo("t", "ranking", "ndcg"))  # type: ignore[arg-type]
    with pytest.raises(TaskNotSupported, match="rmse"):
        adapter.check_task(TaskInfo("t", "binary", "rmse", ("a", "b")))


def test_import_does_not_ask_pypi_for_updates() -> None:
    """TPOT calls update_checker.update_check at import; the adapter's import must not reach it."""
    code = (
        "import update_checker, sys\n"
        "def fail(*a, **k): sys.exit('update check called')\n"
        "update_checker.update_check = fail\n"
        "from adapters.engines.tpot.adapter import import_tpot_offline\n"
        "import_tpot_offline()\n"
        "assert update_checker.update_check is fail\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_history_rows_become_trials_in_completion_order() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5))
    t0 = 1000.0
    history = pd.DataFrame(
        {
            "neg_root_mean_squared_error": [-2.5, np.nan, np.nan, np.nan],
            "Generation": [0, 0, 1, 1],
            "Submitted Timestamp": [t0 + 1, t0 + 0.5, t0 + 2, t0 + 3],
            "Completed Timestamp": [t0 + 4, t0 + 1.5, t0 + 5, t0 + 3],  # the last never ran
            "Eval Error": [None, "INVALID", None, None],
            "Instance": [pipe, pipe, pipe, pipe],
        }
    )
    trials = history_trials(history, sign=-1.0, wall_at_start=t0)
    assert [t.status for t in trials] == ["failed", "ok", "pruned"]
    assert [t.elapsed_s for t in trials] == [1.5, 4.0, 5.0]
    assert trials[1].valid_score == 2.5 and trials[1].fit_s == 3.0
    assert trials[1].family == "LogisticRegression" == family(pipe)
    assert "C=0.5" in trials[1].config["pipeline"]
    assert trials[0].error == "INVALID" and trials[0].valid_score is None


class _Sleepy(BaseEstimator, ClassifierMixin):
    """A classifier whose fit takes ``seconds`` (a pipeline too slow for the time left)."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds

    def fit(self, X, y):
        time.sleep(self.seconds)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class _Individual:
    """What the refit needs of a TPOT individual: an unfitted pipeline on request."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator

    def export_pipeline(self):
        return clone(self.estimator)


def _cand(name: str, score: float, refit_s: float, estimator=None) -> Candidate:
    return Candidate(name, _Individual(estimator or _Sleepy()), score, refit_s * 5 / 1.25, refit_s)


def test_candidates_are_the_scored_rows_best_first() -> None:
    t0 = 1000.0
    history = pd.DataFrame(
        {
            "accuracy_score": [0.8, 0.9, np.nan, 0.9, 0.95],
            "Submitted Timestamp": [t0, t0, t0, t0 + 1, t0],
            "Completed Timestamp": [t0 + 5, t0 + 10, t0 + 1, t0 + 3, np.nan],  # the last never ended
            "Eval Error": [None, None, "INVALID", None, None],
            "Individual": ["a", "b", "c", "d", "e"],
        },
        index=["ka", "kb", "kc", "kd", "ke"],
    )
    got = candidates(history, "accuracy_score", folds=5, refit_factor=1.25)
    assert [c.key for c in got] == ["kd", "kb", "ka"]  # equal scores: the cheaper first
    assert got[0].eval_s == 2.0 and got[0].refit_s == pytest.approx(0.5)
    assert candidates(None, "accuracy_score", 5, 1.25) == []


def test_the_search_leaves_the_best_pipeline_its_refit() -> None:
    from adapters.engines.tpot.adapter import (
        REFIT_RESERVE_MAX_SHARE,
        REFIT_RESERVE_MIN_SHARE,
        REFIT_SHARE,
        refit_reserve_s,
    )

    t0 = 1000.0
    history = pd.DataFrame(
        {
            "accuracy_score": [0.8, 0.9],
            "Submitted Timestamp": [t0, t0],
            "Completed Timestamp": [t0 + 1, t0 + 8],  # the best took 8 s for 5 folds: refit ~2 s
            "Eval Error": [None, None],
            "Individual": ["a", "b"],
        }
    )
    best = 8 / 5 * 1.25 / REFIT_SHARE
    assert refit_reserve_s(None, "accuracy_score", 100.0) == REFIT_RESERVE_MIN_SHARE * 100  # nothing scored
    assert refit_reserve_s(history, "accuracy_score", 100.0) == pytest.approx(best)
    assert refit_reserve_s(history, "accuracy_score", 1000.0) == REFIT_RESERVE_MIN_SHARE * 1000
    assert refit_reserve_s(history, "accuracy_score", 5.0) == REFIT_RESERVE_MAX_SHARE * 5


def test_plan_refits_the_best_that_fits_with_a_cheap_insurance() -> None:
    best, mid, cheap = _cand("best", 0.95, 30.0), _cand("mid", 0.9, 4.0), _cand("cheap", 0.8, 0.5)
    todo, spare = plan([best, mid, cheap], time_left_s=10.0, share=0.5, insurance_share=0.1)
    assert [c.key for c in todo] == ["mid", "cheap"] and spare is cheap
    todo, spare = plan([best, mid, cheap], time_left_s=100.0, share=0.5, insurance_share=0.1)
    assert todo[0] is best and spare is mid  # the best of those within 10 s
    todo, spare = plan([mid, cheap], time_left_s=100.0, share=0.5, insurance_share=0.1)
    assert todo[0] is mid and spare is None  # the first choice is cheap enough itself
    todo, spare = plan([best, mid], time_left_s=1.0, share=0.5, insurance_share=0.1)
    assert todo == [mid] and spare is None  # nothing fits: the cheapest alone


def test_refit_falls_back_to_the_insurance_at_the_deadline() -> None:
    X, y = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60) % 2
    slow = _cand("slow", 0.99, 0.2, _Sleepy(30.0))  # estimated 0.2 s, takes 30 s
    fast = _cand("fast", 0.7, 0.05, LogisticRegression())
    until = time.monotonic() + 1.5
    pipeline, chosen = refit([slow, fast], X, y, until, share=0.5, insurance_share=0.1)
    assert chosen is fast and isinstance(pipeline, LogisticRegression) and hasattr(pipeline, "coef_")
    assert abs(time.monotonic() - until) < 0.3  # waited for the first choice until the deadline


def test_refit_gives_up_at_the_deadline_with_the_reason() -> None:
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    slow = _cand("slow", 0.99, 0.1, _Sleepy(30.0))
    until = time.monotonic() + 1.0
    with pytest.raises(RuntimeError, match="did not finish within the budget"):
        refit([slow], X, y, until, share=0.5, insurance_share=0.1)
    assert time.monotonic() - until < 0.3
    with pytest.raises(RuntimeError, match="evaluated no pipeline"):
        refit([], X, y, until, share=0.5, insurance_share=0.1)


def test_refit_moves_on_when_a_pipeline_fails_on_all_rows() -> None:
    X, y = np.random.default_rng(0).normal(size=(40, 2)), np.arange(40) % 2
    broken = _cand("broken", 0.99, 0.01, LogisticRegression(C=-1.0))  # invalid: raises in fit
    good = _cand("good", 0.9, 0.01, LogisticRegression())
    _, chosen = refit([broken, good], X, y, time.monotonic() + 10, share=0.5, insurance_share=0.1)
    assert chosen is good


# --- real TPOT runs --------------------------------------------------------------------------


@pytest.mark.engine
@pytest.mark.parametrize(("task", "budget_s"), [("breast_cancer", 20.0), ("diabetes", 15.0)])
def test_tpot_keeps_the_contract(tmp_path: Path, no_leaks, task: str, budget_s: float) -> None:
    out = runner.run_engine(tmp_path, TPOT, task, budget_s, seed=1, cores=1)
    score = runner.check_contract(out, budget_s)
    assert out["fit_s"] <= budget_s  # the whole fit, refit included, inside the budget
    assert runner.better(out["metric"], score, runner.baseline(out)), (score, runner.baseline(out))
    # the Dask cluster ran as processes of the child's own session and process group
    assert len(out["children"]) >= 1
    me_sid, me_pgid = out["me"][1], out["me"][2]
    assert all(v == [me_sid, me_pgid] for v in out["children"].values()), out["children"]
    assert len(out["ports"]) >= 2  # scheduler and the worker; all closed (check_contract)
    # the refitted pipeline is one TPOT scored: its cross-validated score is among the trials'
    scores = [t["valid_score"] for t in out["trials"] if t["valid_score"] is not None]
    assert any(abs(out["best_config"]["cv_score"] - v) < 1e-9 for v in scores), (out["best_config"], scores)


class TpotWithoutTime(TpotAdapter):
    """TPOT whose search ends 0.02 s into the fit, with 1 ms per pipeline: no evaluation can finish."""

    def _fit(self, data, ctx, log) -> None:
        from unittest import mock

        import adapters.engines.tpot.adapter as module

        knob = BudgetKnob(fraction=0.0, reserve_s=0.0, floor_s=0.02)
        with mock.patch.multiple(module, KNOB=knob, EVAL_MIN_S=0.001, EVAL_SHARE=0.0):
            super()._fit(data, ctx, log)


@pytest.mark.engine
def test_tpot_without_any_finished_pipeline_fails_with_the_reason(tmp_path: Path, no_leaks) -> None:
    """With a search that ends before any 5-fold evaluation can finish, fit raises before the budget."""
    adapter = "tests.adapters.engines.test_tpot:TpotWithoutTime"  # KNOB is no JSON value: patched in _fit
    out = runner.run_engine(tmp_path, adapter, "breast_cancer", 15.0, seed=0, cores=1)
    assert out["status"] == "failed"
    assert "TPOT evaluated no pipeline within the budget" in out["error"]
    assert out["fit_s"] <= 15.0
    assert out["left_after_close"] == []
    assert all(runner.closed(p) for p in out["ports"])


@pytest.mark.engine
def test_tpot_workers_die_when_the_child_is_killed(tmp_path: Path, no_leaks) -> None:
    """SIGKILL of the child alone (not its tree): the Dask workers must not outlive it."""
    pid_file = tmp_path / "pids.json"
    cmd = runner.engine_spec(tmp_path, TPOT, "breast_cancer", 20.0, cores=2, pid_file=str(pid_file))
    child = subprocess.Popen(cmd, cwd=runner.ROOT, env=runner.child_env())
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists():
            assert child.poll() is None, "the child ended before its cluster was up"
            assert time.monotonic() < deadline, "the cluster did not start"
            time.sleep(0.2)
        state = json.loads(pid_file.read_text())
        workers = [int(pid) for pid in state["children"]]
        assert workers
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        alive = _alive(workers, within_s=20.0)
        assert not alive, f"Dask processes outlived the killed child: {alive}"
        assert all(runner.closed(p) for p in state["ports"])
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _alive(pids: list[int], within_s: float) -> list[int]:
    """The pids still running (zombies count as ended) after waiting up to ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.mark.engine
def test_tpot_passes_check_adapter_on_the_generated_regression_task(tmp_path: Path, no_leaks) -> None:
    """adapters.testing.check_adapter in a child: TPOT's negated RMSE becomes valid scores in RMSE."""
    out = runner.run_check_adapter(tmp_path, TPOT, "regression", 15.0, cores=1)
    assert out["contract"] == "ok", out["contract"]
    assert [r["task"] for r in out["results"]] == ["regression"]
    assert out["left_after_close"] == []
    assert all(runner.closed(p) for p in out["ports"])
