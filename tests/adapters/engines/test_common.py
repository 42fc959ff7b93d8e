"""The engines' shared base, without any engine: ``BudgetKnob`` and ``EngineAdapter``'s casting.

A tiny fake engine stands for the real ones: its "model" returns whatever labels and scores the
test gives it, in the dtypes real engines use, so the checks are on what the base makes of them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from adapters.base import FitContext, FitData, TaskInfo, TaskNotSupported, Trial, TrialLogger
from adapters.engines.common import BudgetKnob, EngineAdapter, as_class_codes

# --- BudgetKnob ------------------------------------------------------------------------------


def test_knob_takes_its_fraction_of_the_budget_less_the_reserve() -> None:
    assert BudgetKnob(fraction=0.9, reserve_s=1.0, floor_s=2.0).seconds(100.0) == pytest.approx(89.0)
    assert BudgetKnob(fraction=0.5, reserve_s=0.0, floor_s=0.0).seconds(30.0) == pytest.approx(15.0)
    assert BudgetKnob(fraction=1.0, reserve_s=3.0, floor_s=0.0).seconds(30.0) == pytest.approx(27.0)


def test_knob_never_asks_for_less_than_its_floor() -> None:
    knob = BudgetKnob(fraction=0.9, reserve_s=1.0, floor_s=2.0)
    assert knob.seconds(1.0) == 2.0  # 0.9 - 1.0 < 0
    assert knob.seconds(3.0) == 2.0  # 1.7 < 2
    assert knob.seconds(4.0) == pytest.approx(2.6)


def test_knob_is_a_frozen_value() -> None:
    knob = BudgetKnob(0.96, 0.4, 1.0)
    assert knob == BudgetKnob(fraction=0.96, reserve_s=0.4, floor_s=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        knob.fraction = 1.0  # type: ignore[misc]


# --- EngineAdapter ---------------------------------------------------------------------------


class FakeEngine(EngineAdapter):
    """Returns ``labels`` from ``_predict_raw`` (unless None: the base's default) and
    ``(scores, model_classes)`` from ``_predict_proba_raw`` (None: no probabilities)."""

    def __init__(
        self, labels: Any = None, scores: Any = None, model_classes: Any = (), fail: bool = False
    ) -> None:
        super().__init__()
        self.labels, self.scores, self.model_classes, self.fail = labels, scores, model_classes, fail
        self.seen: dict[str, Any] = {}

    def check_task(self, task: TaskInfo) -> None:
        if task.problem_type == "regression" and task.metric == "refused":
            raise TaskNotSupported("refused")

    def _fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        self.seen = {"task": self.task, "fit_start": ctx.fit_start}
        log(Trial(config={}, valid_score=None, fit_s=0.0))
        if self.fail:
            raise RuntimeError("the engine built nothing")

    def _predict_raw(self, X: pd.DataFrame) -> Any:
        return super()._predict_raw(X) if self.labels is None else self.labels

    def _predict_proba_raw(self, X: pd.DataFrame) -> tuple[Any, Any] | None:
        return None if self.scores is None else (self.scores, self.model_classes)


BINARY = TaskInfo("t", "binary", "accuracy", ("no", "yes"))
THREE = TaskInfo("t", "multiclass", "accuracy", ("a", "b", "c"))
REGRESSION = TaskInfo("t", "regression", "rmse")
X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})


def fitted(engine: FakeEngine, task: TaskInfo, fit_start: float = 1.0) -> FakeEngine:
    data = FitData(X, np.zeros(3), X, np.zeros(3), task)
    engine.fit(data, FitContext(10.0, 0, 1, 1.0, "/nonexistent", fit_start=fit_start), lambda trial: None)
    return engine


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0.0, 2.0, 1.0]),  # a model that predicts floats
        np.array(["0", "2", "1"]),  # a label encoder's strings
        np.array(["0.0", "2.0", "1.0"], dtype=object),
        [np.int64(0), np.int64(2), np.int64(1)],
        np.array([0, 2, 1], dtype=np.uint8),
    ],
)
def test_predict_gives_integer_class_codes(labels: Any) -> None:
    pred = fitted(FakeEngine(labels=labels), THREE).predict(X)
    assert isinstance(pred, np.ndarray) and np.issubdtype(pred.dtype, np.integer)
    assert pred.tolist() == [0, 2, 1]


def test_labels_that_are_not_codes_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not class codes"):
        fitted(FakeEngine(labels=np.array(["a", "c", "b"])), THREE).predict(X)
    assert as_class_codes([True, False]).tolist() == [1, 0]


def test_proba_is_aligned_to_the_tasks_classes_when_the_model_saw_fewer() -> None:
    scores = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])  # the model saw classes 0 and 2 only
    engine = fitted(FakeEngine(scores=scores, model_classes=np.array([0.0, 2.0])), THREE)
    proba = engine.predict_proba(X)
    assert proba is not None and proba.shape == (3, 3) and proba.dtype == float
    assert proba.tolist() == [[0.2, 0.0, 0.8], [0.6, 0.0, 0.4], [0.5, 0.0, 0.5]]
    assert engine.predict(X).tolist() == [2, 0, 0]  # default labels: the most probable task class


def test_proba_in_another_column_order_is_put_in_the_tasks_order() -> None:
    scores = np.array([[0.7, 0.1, 0.2]])
    proba = fitted(FakeEngine(scores=scores, model_classes=["2", "0", "1"]), THREE).predict_proba(X)
    assert proba is not None and proba.tolist() == [[0.1, 0.2, 0.7]]


def test_binary_proba_of_the_positive_class_alone_gets_both_columns() -> None:
    proba = fitted(FakeEngine(scores=np.array([0.25, 1.0, 0.0]), model_classes=[0, 1]), BINARY).predict_proba(
        X
    )
    assert proba is not None and proba.tolist() == [[0.75, 0.25], [0.0, 1.0], [1.0, 0.0]]


def test_a_model_without_probabilities_gives_none() -> None:
    engine = fitted(FakeEngine(labels=[1, 0, 1]), BINARY)
    assert engine.predict_proba(X) is None
    assert engine.predict(X).tolist() == [1, 0, 1]


def test_regression_gives_floats_and_no_proba() -> None:
    engine = fitted(
        FakeEngine(labels=np.array([1, 2, 3], dtype=np.int32), scores=np.ones((3, 2))), REGRESSION
    )
    pred = engine.predict(X)
    assert pred.dtype == np.float64 and pred.tolist() == [1.0, 2.0, 3.0]
    assert engine.predict_proba(X) is None


def test_regression_without_predictions_says_so() -> None:
    with pytest.raises(NotImplementedError, match="FakeEngine implements no predictions"):
        fitted(FakeEngine(), REGRESSION).predict(X)


def test_predict_before_fit_raises_a_clear_error() -> None:
    engine = FakeEngine(labels=[0, 1, 0], scores=np.ones((3, 2)) / 2, model_classes=[0, 1])
    with pytest.raises(RuntimeError, match=r"FakeEngine\.predict called before a successful fit"):
        engine.predict(X)
    with pytest.raises(RuntimeError, match=r"FakeEngine\.predict_proba called before a successful fit"):
        engine.predict_proba(X)


def test_predict_after_a_failed_fit_raises_a_clear_error() -> None:
    engine = FakeEngine(labels=[0, 1, 0], fail=True)
    with pytest.raises(RuntimeError, match="built nothing"):
        fitted(engine, BINARY)
    assert engine.task == BINARY  # the engine's own code saw the task while it ran
    with pytest.raises(RuntimeError, match="before a successful fit"):
        engine.predict(X)


def test_fit_checks_the_task_and_keeps_it_for_the_engine() -> None:
    engine = fitted(FakeEngine(labels=[0.0, 1.0, 0.0]), BINARY, fit_start=5.0)
    assert engine.seen == {"task": BINARY, "fit_start": 5.0}
    with pytest.raises(TaskNotSupported):
        fitted(FakeEngine(), TaskInfo("t", "regression", "refused"))


def test_fit_outside_the_harness_starts_the_budget_now() -> None:
    engine = fitted(FakeEngine(labels=[0, 0, 0]), BINARY, fit_start=0.0)
    assert engine.seen["fit_start"] > 0.0
