"""Random forests (scikit-learn)."""

from __future__ import annotations

from typing import Any, ClassVar

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family, Model, Resource, SklearnModel
from adapters.tuning.spaces import Categorical, Float, Int, Space


class RfFamily(Family):
    name = "rf"
    warm_up_config: ClassVar[dict[str, Any]] = {"n_estimators": 5}
    description = "random forest (scikit-learn)"

    def space(self, task: TaskInfo) -> Space:
        return Space(
            {
                "n_estimators": Int(20, 500, log=True),
                "max_depth": Int(2, 40, log=True),
                "max_features": Float(0.05, 1.0),
                "min_samples_leaf": Int(1, 20, log=True),
                "bootstrap": Categorical((True, False)),
            }
        )

    def manual(self, task: TaskInfo) -> list[dict[str, Any]]:
        return [
            {},
            {"n_estimators": 300, "max_features": 0.5},
            {"n_estimators": 300, "min_samples_leaf": 3, "max_features": 0.3},
            {"n_estimators": 200, "max_depth": 10},
        ]

    def resource(self, task: TaskInfo) -> Resource:
        return Resource("n_estimators", 20, 500, integer=True)

    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if task.is_classification else RandomForestRegressor
        return SklearnModel(cls(random_state=seed, n_jobs=cores, **config), scale=False)

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        features = config.get("max_features", 0.3)
        return config.get("n_estimators", 100) * (features + 0.1) * (n_rows / 1000 + 0.1)
