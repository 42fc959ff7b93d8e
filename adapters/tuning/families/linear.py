"""Linear models: logistic regression (L1/L2/elastic net) or ridge/lasso/elastic net regression."""

from __future__ import annotations

from typing import Any

from adapters.base import TaskInfo
from adapters.tuning.families.base import DATA_FRACTION, Family, Model, Resource, SklearnModel
from adapters.tuning.spaces import Categorical, Float, Space

SAGA_MAX_ITER = 200


class LinearFamily(Family):
    name = "linear"
    description = "logistic regression, or ridge/lasso/elastic net for regression"

    def space(self, task: TaskInfo) -> Space:
        if task.is_classification:
            return Space(
                {
                    "C": Float(1e-4, 1e3, log=True),
                    "penalty": Categorical(("l2", "l1", "elasticnet")),
                    "l1_ratio": Float(0.05, 0.95, condition=("penalty", ("elasticnet",))),
                }
            )
        return Space(
            {
                "model": Categorical(("ridge", "lasso", "elasticnet")),
                "alpha": Float(1e-4, 1e2, log=True),
                "l1_ratio": Float(0.05, 0.95, condition=("model", ("elasticnet",))),
            }
        )

    def manual(self, task: TaskInfo) -> list[dict[str, Any]]:
        if task.is_classification:
            return [
                {},
                {"C": 0.1, "penalty": "l2"},
                {"C": 10.0, "penalty": "l2"},
                {"C": 1.0, "penalty": "l1"},
            ]
        return [
            {},
            {"model": "ridge", "alpha": 10.0},
            {"model": "lasso", "alpha": 0.01},
            {"model": "elasticnet", "alpha": 0.1, "l1_ratio": 0.5},
        ]

    def resource(self, task: TaskInfo) -> Resource:
        return Resource(DATA_FRACTION, 0.1, 1.0, integer=False)

    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge

        if task.is_classification:
            penalty = config.get("penalty", "l2")
            l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, config.get("l1_ratio", 0.5))
            if penalty == "l2":
                est = LogisticRegression(C=config.get("C", 1.0), max_iter=1000, random_state=seed)
            else:  # saga: slow to converge, so a looser tolerance and fewer passes
                est = LogisticRegression(
                    C=config.get("C", 1.0),
                    l1_ratio=l1_ratio,
                    solver="saga",
                    tol=1e-3,
                    max_iter=SAGA_MAX_ITER,
                    random_state=seed,
                )
        else:
            kind = config.get("model", "ridge")
            alpha = config.get("alpha", 1.0)
            if kind == "ridge":
                est = Ridge(alpha=alpha)
            elif kind == "lasso":
                est = Lasso(alpha=alpha, max_iter=5000, random_state=seed)
            else:
                est = ElasticNet(
                    alpha=alpha, l1_ratio=config.get("l1_ratio", 0.5), max_iter=5000, random_state=seed
                )
        return SklearnModel(est, scale=True)

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        saga = task.is_classification and config.get("penalty", "l2") != "l2"
        classes = max(1, len(task.classes) - 1)
        return (n_rows / 1000 + 0.1) * classes * (10 if saga else 1)
