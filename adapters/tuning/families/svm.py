"""Support vector machines (scikit-learn SVC/SVR) with conditional kernel parameters."""

from __future__ import annotations

import math
from typing import Any

from adapters.base import TaskInfo
from adapters.tuning.families.base import DATA_FRACTION, Family, Model, Resource, SklearnModel
from adapters.tuning.spaces import Categorical, Float, Int, Param, Space

MAX_ITER = 200_000  # libsvm iterations: bounds the rare configuration that would run for minutes


class SvmFamily(Family):
    name = "svm"
    description = "support vector machine (SVC with sigmoid-calibrated probabilities, or SVR)"

    def space(self, task: TaskInfo) -> Space:
        params: dict[str, Param] = {
            "C": Float(1e-2, 1e2, log=True),
            "kernel": Categorical(("rbf", "poly", "linear")),
            "gamma": Float(1e-4, 0.3, log=True, condition=("kernel", ("rbf", "poly"))),
            "degree": Int(2, 3, condition=("kernel", ("poly",))),
        }
        if not task.is_classification:
            params["epsilon"] = Float(1e-3, 1.0, log=True)
        return Space(params)

    def manual(self, task: TaskInfo) -> list[dict[str, Any]]:
        return [
            {},
            {"C": 10.0, "kernel": "rbf"},
            {"C": 0.1, "kernel": "linear"},
            {"C": 100.0, "kernel": "rbf", "gamma": 0.001},
        ]

    def resource(self, task: TaskInfo) -> Resource:
        return Resource(DATA_FRACTION, 0.1, 1.0, integer=False)

    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC, SVR

        params = {"max_iter": MAX_ITER, **config}
        if task.is_classification:
            calibrated = CalibratedClassifierCV(SVC(random_state=seed, **params), cv=3, ensemble=False)
            return SklearnModel(calibrated, scale=True)
        return SklearnModel(
            TransformedTargetRegressor(SVR(**params), transformer=StandardScaler()), scale=True
        )

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        hardness = (1 + math.log10(max(config.get("C", 1.0), 1.0))) * (
            3 if config.get("kernel") == "poly" else 1
        )
        classes = 4 * max(1, len(task.classes) // 2) if task.is_classification else 1  # calibration: 4 fits
        return ((n_rows / 1000) ** 2 + 0.05) * hardness * classes
