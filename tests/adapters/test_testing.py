"""``adapters.testing.check_adapter``: it passes correct adapters and names what broken ones do wrong.

Each broken adapter below is a small correct one (``SmallTuner``: LightGBM over three learning
rates, valid scores from ``data.task.score``) with one thing broken;
the check must fail with a message naming that thing. Every built-in tuning strategy passes the
check on all three generated problem types (the engines do in ``tests/adapters/engines``).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from adapters.base import Adapter, FitContext, FitData, TaskInfo, TaskNotSupported, Trial, TrialLogger
from adapters.engines.common import EngineAdapter
from adapters.registry import builtin_names, load_class
from adapters.testing import budget_slack, check_adapter, load_task
from tasks.metrics import METRICS
from tests import ROOT

# the engines are checked in child processes: tests/adapters/engines
ENGINES = tuple(n for n in builtin_names() if issubclass(load_class(n), EngineAdapter))


class SmallTuner(Adapter):
    """A correct adapter: tries three learning rates on train/valid, refits the best on train+valid."""

    requires = ("lightgbm",)
    description = "LightGBM over three learning rates"
    rates: ClassVar[tuple[float, ...]] = (0.05, 0.1, 0.2)

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        task = data.task
        best: tuple[float, float] | None = None
        for rate in self.rates:
            t0 = time.monotonic()
            model = self._model(task, rate, ctx).fit(data.X_train, data.y_train)
            proba = model.predict_proba(data.X_valid) if task.is_classification else None
            score = self.valid_score(task, data.y_valid, model.predict(data.X_valid), proba)
            log(Trial(config={"learning_rate": rate}, valid_score=score, fit_s=time.monotonic() - t0))
            if best is None or (score > best[0] if task.greater_is_better else score < best[0]):
                best = (score, rate)
        assert best is not None
        self.rate = best[1]
        X, y = data.train_valid()
        self.model = self._model(task, self.rate, ctx).fit(X, y)
        self.task = task

    def _model(self, task: TaskInfo, rate: float, ctx: FitContext) -> Any:
        import lightgbm

        cls = lightgbm.LGBMClassifier if task.is_classification else lightgbm.LGBMRegressor
        return cls(
            n_estimators=60,
            learning_rate=rate,
            num_leaves=15,
            random_state=ctx.seed,
            n_jobs=ctx.cores,
            verbosity=-1,
        )

    def valid_score(self, task: TaskInfo, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        return task.score(y, pred, proba)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return np.asarray(self.model.predict_proba(X)) if self.task.is_classification else None

    def best_config(self) -> dict[str, Any]:
        return {"learning_rate": self.rate}


# --- broken adapters: one thing wrong each ---------------------------------------------------


class WrongLength(SmallTuner):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return super().predict(X)[:-1]


class OneBasedLabels(SmallTuner):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return super().predict(X) + 1


class FloatLabels(SmallTuner):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return super().predict(X).astype(float) + 0.5


class NaNPredictions(SmallTuner):
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        pred = super().predict(X).astype(float)
        pred[::10] = np.nan
        return pred


class ProbaNotSummingToOne(SmallTuner):
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return 0.8 * super().predict_proba(X)


class ProbaWrongShape(SmallTuner):
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return super().predict_proba(X)[:, 1:]


class Logits(SmallTuner):
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return np.log(np.clip(super().predict_proba(X), 1e-9, 1.0)) + 2.0


class NoProba(SmallTuner):
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return None


class TrialAfterDeadline(SmallTuner):
    """Keeps searching past the deadline and logs one more trial there."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        while ctx.elapsed() < ctx.budget_s + budget_slack(ctx.budget_s) + 0.2:
            time.sleep(0.05)
        log(Trial(config={"learning_rate": 0.3}, valid_score=None, fit_s=0.1, status="failed"))


class FitPastBudget(SmallTuner):
    """Logs its trials in time, then refits for too long."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        time.sleep(max(0.0, ctx.remaining()) + budget_slack(ctx.budget_s) + 0.2)


class TrialAfterFitReturned(SmallTuner):
    """Logs from a thread (a log follower) that outlives fit and is joined only in close."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        late = Trial(config={"learning_rate": 0.4}, valid_score=None, fit_s=0.0, status="failed")
        self.late = threading.Timer(0.05, log, [late])
        self.late.start()

    def close(self) -> None:
        self.late.join()


class NoTrial(SmallTuner):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, lambda trial: None)


class OkTrialWithoutScore(SmallTuner):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        log(Trial(config={"learning_rate": 0.3}, valid_score=None, fit_s=0.1))


class FailedTrialWithScore(SmallTuner):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        super().fit(data, ctx, log)
        log(Trial(config={"learning_rate": 0.3}, valid_score=0.5, fit_s=0.1, status="failed", error="boom"))


class BestConfigNotJson(SmallTuner):
    def best_config(self) -> dict[str, Any]:
        return {"learning_rate": np.float32(self.rate)}


class R2OnRmseTask(SmallTuner):
    """The plugin written from an old README: R² from scikit-learn, whatever the task's metric."""

    def valid_score(self, task: TaskInfo, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        from sklearn.metrics import r2_score

        return float(r2_score(y, pred))


class AccuracyOnLogLossTask(SmallTuner):
    def valid_score(self, task: TaskInfo, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        return float(np.mean(y == pred))


class RocAucOnLogLossTask(SmallTuner):
    def valid_score(self, task: TaskInfo, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        return METRICS["roc_auc"].score(y, pred, proba)


class NegatedRmse(SmallTuner):
    """scikit-learn's scorer convention (``neg_root_mean_squared_error``): greater is better."""

    def valid_score(self, task: TaskInfo, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        return -task.score(y, pred, proba)


class LogLossOnAccuracyTask(SmallTuner):
    def valid_score(self, task: TaskInfo, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        return METRICS["log_loss"].score(y, pred, proba)


BROKEN = [
    (WrongLength, "regression", r"predict returned shape \(399,\) for 400 test rows"),
    (OneBasedLabels, "binary", r"predicted labels \[2\] are not class codes 0\.\.1"),
    (FloatLabels, "multiclass", r"predict returned float64 values.*integer class codes"),
    (NaNPredictions, "regression", r"40 of 400 predictions are NaN or infinite"),
    (
        ProbaNotSummingToOne,
        "multiclass",
        r"rows of predict_proba do not sum to 1 \(400 of 400 rows.*sums to 0\.8",
    ),
    (ProbaWrongShape, "binary", r"predict_proba returned shape \(400, 1\), expected \(400, 2\)"),
    (Logits, "multiclass", r"probabilities are outside \[0, 1\]"),
    (NoProba, "binary", r"predict_proba returned None, but the task's metric log_loss needs probabilities"),
    (TrialAfterDeadline, "binary", r"trial 3 was logged \d+\.\d\d s after fit started, past the deadline"),
    (FitPastBudget, "regression", r"fit took \d+\.\d\d s on a 1 s budget \(at most 2\.10 s"),
    (TrialAfterFitReturned, "binary", r"1 trial\(s\) were logged after fit returned"),
    (NoTrial, "multiclass", r"no trial was logged"),
    (OkTrialWithoutScore, "regression", r"trial 3 is 'ok' but its valid_score is None"),
    (FailedTrialWithScore, "binary", r"trial 3 is 'failed' but has valid_score 0\.5"),
    (BestConfigNotJson, "regression", r"best_config is not JSON-serialisable.*float32"),
    (
        R2OnRmseTask,
        "regression",
        r"valid_score 0\.\d+ does not look like rmse \(lower is better\).*closer to r2",
    ),
    (
        AccuracyOnLogLossTask,
        "binary",
        r"valid_score 0\.\d+ does not look like log_loss.*worse than the worse",
    ),
    (RocAucOnLogLossTask, "binary", r"valid_score 0\.\d+ does not look like log_loss"),
    (NegatedRmse, "regression", r"valid_score -\d+\.?\d* is outside the range of rmse"),
    (
        LogLossOnAccuracyTask,
        "multiclass",
        r"valid_score \d\.\d+ (is outside the range of|does not look like) accuracy",
    ),
]


@pytest.mark.parametrize(("adapter", "task", "problem"), BROKEN, ids=[b[0].__name__ for b in BROKEN])
def test_a_broken_adapter_fails_with_one_message_naming_the_problem(
    adapter: type[Adapter], task: str, problem: str
) -> None:
    with pytest.raises(AssertionError, match=problem) as info:
        check_adapter(adapter, task=task, budget_s=1.0)
    message = str(info.value)
    assert message.startswith(f"{adapter.__name__} on task {task!r} ("), message
    assert "; " in message  # and what to do about it


def test_a_wrong_metric_is_caught_on_every_seed_and_a_right_one_passes() -> None:
    """The valid-score check is not a coin toss on the generated data: five seeds, both ways."""
    for seed in range(5):
        results = check_adapter(SmallTuner, budget_s=2.0, seed=seed)
        assert [r.skipped for r in results] == [None, None, None]
        for broken, task in ((R2OnRmseTask, "regression"), (AccuracyOnLogLossTask, "binary")):
            with pytest.raises(AssertionError, match="does not look like"):
                check_adapter(broken, task=task, budget_s=2.0, seed=seed)


def test_a_correct_adapter_passes_on_all_three_problem_types(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.testing")
    results = check_adapter(SmallTuner)
    assert [(r.task.problem_type, r.task.metric) for r in results] == [
        ("binary", "log_loss"),
        ("multiclass", "accuracy"),
        ("regression", "rmse"),
    ]
    for r in results:
        assert r.skipped is None and len(r.trials) == 3 and r.fit_s < 3.0
        assert r.valid_score is not None and r.test_score is not None and r.baseline_score is not None
        assert METRICS[r.task.metric].greater_is_better == (r.test_score > r.baseline_score)  # it learned
    assert caplog.text.count("keeps the contract") == 3


class RaiseInFit(SmallTuner):
    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        raise ValueError("the model exploded")


def test_an_exception_of_the_adapter_is_named_with_its_traceback_as_the_cause() -> None:
    with pytest.raises(
        AssertionError, match=r"'binary' .*: fit raised ValueError: the model exploded; "
    ) as info:
        check_adapter(RaiseInFit)
    assert isinstance(info.value.__cause__, ValueError)


class BinaryOnly(SmallTuner):
    def check_task(self, task: TaskInfo) -> None:
        if task.problem_type != "binary":
            raise TaskNotSupported(f"binary only, not {task.problem_type}")


class Nothing(SmallTuner):
    def check_task(self, task: TaskInfo) -> None:
        raise TaskNotSupported("images only")


def test_unsupported_problem_types_are_skipped_and_said_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.testing")
    results = check_adapter(BinaryOnly)
    assert [r.skipped for r in results] == [
        None,
        "binary only, not multiclass",
        "binary only, not regression",
    ]
    assert "BinaryOnly skips task 'multiclass': binary only, not multiclass" in caplog.text
    with pytest.raises(AssertionError, match=r"Nothing skipped every task \(binary: images only;"):
        check_adapter(Nothing)


class NegatedR2(SmallTuner):
    def valid_score(self, task: TaskInfo, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> float:
        return -task.score(y, pred, proba)


def test_task_picks_a_problem_type_a_metric_or_a_data_set() -> None:
    mae = TaskInfo("houses", "regression", "mae")
    results = check_adapter(SmallTuner, task=[mae, "breast_cancer", "multiclass"])
    assert [(r.task.name, r.task.metric) for r in results] == [
        ("houses", "mae"),
        ("breast_cancer", "roc_auc"),
        ("multiclass", "accuracy"),
    ]
    # the valid-score check follows the chosen metric: a negated R² on an R² task is caught
    with pytest.raises(AssertionError, match="does not look like r2"):
        check_adapter(NegatedR2, task=TaskInfo("houses", "regression", "r2"))


class Unseeded(SmallTuner):
    """Draws its learning rates without the run's seed."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        self.rates = tuple(np.random.default_rng().uniform(0.05, 0.3, 3).round(4))
        super().fit(data, ctx, log)


def test_check_seed_runs_twice_and_compares_the_trials() -> None:
    (res,) = check_adapter(SmallTuner, task="binary", check_seed=True)
    assert [t.config for t in res.second_trials] == [t.config for t in res.trials]
    with pytest.raises(AssertionError, match="two runs with the same seed differ at trial 0"):
        check_adapter(Unseeded, task="binary", check_seed=True)


class MissingLibrary(SmallTuner):
    requires = ("scikit-learn",)  # the pip name, not the import name


def test_the_protocol_and_requires_are_checked_before_running() -> None:
    with pytest.raises(AssertionError, match="requires names scikit-learn, which cannot be imported"):
        check_adapter(MissingLibrary)
    with pytest.raises(TypeError, match="not an instance"):
        check_adapter(SmallTuner())  # type: ignore[arg-type]


def test_generated_tasks_are_deterministic_noisy_and_mixed() -> None:
    for name in ("binary", "multiclass", "regression"):
        data, X_test, y_test = load_task(name, seed=3)
        again, X_again, _ = load_task(name, seed=3)
        other, _, _ = load_task(name, seed=4)
        pd.testing.assert_frame_equal(data.X_train, again.X_train)
        pd.testing.assert_frame_equal(X_test, X_again)
        assert not data.X_train.equals(other.X_train)
        assert (len(data.y_train), len(data.y_valid), len(y_test)) == (300, 100, 400)
        assert isinstance(data.X_train["group"].dtype, pd.CategoricalDtype)
        assert data.X_train["group"].isna().any() and data.X_train["x1"].isna().any()
        assert data.task.name == data.task.problem_type
    _reg, _, y = load_task("regression")
    assert 400 < y.mean() < 600 and 80 < y.std() < 130


def test_task_score_is_the_tasks_own_metric_in_its_direction() -> None:
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    log_loss = TaskInfo("t", "binary", "log_loss", ("a", "b"))
    assert log_loss.score(y, proba=proba) == pytest.approx(
        METRICS["log_loss"].score(y, proba.argmax(1), proba)
    )
    assert not log_loss.greater_is_better
    accuracy = TaskInfo("t", "binary", "accuracy", ("a", "b"))
    assert accuracy.score(y, proba=proba) == 0.75 and accuracy.greater_is_better
    with pytest.raises(ValueError, match="log_loss needs probabilities"):
        log_loss.score(y, np.array([0, 1, 0, 0]))
    rmse = TaskInfo("t", "regression", "rmse")
    assert rmse.score(np.array([1.0, 3.0]), np.array([2.0, 2.0])) == 1.0 and not rmse.greater_is_better


def test_importing_the_checks_loads_no_test_framework_or_engine() -> None:
    code = (
        "import sys, adapters.testing\n"
        "heavy = [m for m in ('pytest', 'lightgbm', 'torch', 'optuna', 'flaml', 'h2o') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


# --- every built-in tuning strategy keeps the contract ---------------------------------------

TUNERS = [name for name in builtin_names() if name not in ENGINES]


def test_the_tuners_are_all_here() -> None:
    assert set(TUNERS) >= {"default", "manual", "grid", "random", "halving", "optuna", "hyperopt", "skopt"}


@pytest.mark.parametrize("name", TUNERS)
def test_builtin_tuner_passes_check_adapter(name: str) -> None:
    cls = load_class(name)
    if cls.missing():
        pytest.skip(f"{name} needs {', '.join(cls.missing())}")
    # seed 1: the first proposal of every strategy is cheap; at seed 0 hyperopt's first one is a
    # 705-tree 4-class model whose 5-fold fit alone takes about 3 s of CPU, past a 3 s budget's
    # slack on a busy machine (the loop has no cost estimate before the first trial)
    results = check_adapter(cls, budget_s=3.0, seed=1)
    assert [r.skipped for r in results] == [None, None, None]


def test_the_readme_example_adapter_passes_check_adapter() -> None:
    """The plugin example of README.md ("Writing an adapter plugin") is a correct adapter."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Writing an adapter plugin") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    namespace: dict[str, Any] = {}
    exec(code[: code.index("```")], namespace)  # the README's own code, nothing from outside
    results = check_adapter(namespace["MyTuner"])
    assert [r.skipped for r in results] == [None, None, None]
