"""What a model family is: a search space, hand-picked starting points, and a model builder.

Every family builds a ``Model``: preprocessing fitted on the training rows only,
then an estimator. ``Model.fit`` takes optional validation rows, a deadline
(``time.monotonic()``) and a per-epoch callback; neural networks use all three, gradient
boosting the deadline, the others ignore them.
"""

from __future__ import annotations

import logging
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from adapters.base import TaskInfo
from adapters.tuning.preprocess import make_preprocessor
from adapters.tuning.spaces import Space

log = logging.getLogger(__name__)

# Called after each epoch with (epoch index from 0, train loss, valid loss or None).
EpochCallback = Callable[[int, float, float | None], None]

DATA_FRACTION = "_data_fraction"  # a resource key the tuning loop understands (subsample train rows)


@dataclass(frozen=True)
class Resource:
    """The budget knob of successive halving: a config key with the range it may take."""

    name: str
    low: float
    high: float
    integer: bool


class Model(ABC):
    """A fitted-on-train pipeline. ``curve`` holds per-epoch losses for neural networks;
    ``trained_share`` is the share of the asked-for training (epochs, trees) the last ``fit`` did,
    below 1 when it stopped at its deadline."""

    curve: dict[str, list[float]] | None = None
    trained_share: float = 1.0

    @abstractmethod
    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        valid: tuple[pd.DataFrame, np.ndarray] | None = None,
        deadline: float | None = None,
        on_epoch: EpochCallback | None = None,
    ) -> Model: ...

    @abstractmethod
    def predict(self, X: pd.DataFrame) -> np.ndarray: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return None


class SklearnModel(Model):
    """Preprocessing plus a scikit-learn style estimator, fitted as one pipeline."""

    def __init__(self, estimator: BaseEstimator, scale: bool) -> None:
        self.pipeline = Pipeline([("prep", make_preprocessor(scale)), ("model", estimator)])

    def fit(self, X, y, valid=None, deadline=None, on_epoch=None) -> SklearnModel:
        with warnings.catch_warnings():  # stopping at max_iter is a tuning outcome, not news
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.pipeline.fit(X, y, **self.fit_params(deadline))
        return self

    def fit_params(self, deadline: float | None) -> dict[str, Any]:
        """Keyword arguments of the pipeline's ``fit`` (``model__...``: the estimator's)."""
        return {}

    @property
    def classes_(self) -> np.ndarray | None:
        return getattr(self.pipeline, "classes_", None)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        if not hasattr(self.pipeline, "predict_proba"):
            return None
        return np.asarray(self.pipeline.predict_proba(X), dtype=float)


class Family(ABC):
    """One model family. Subclasses set the class attributes and implement the four methods."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    warm_up_config: ClassVar[dict[str, Any]] = {}  # a cheap configuration for ``warm_up``
    image_only: ClassVar[bool] = False
    stops_at_deadline: ClassVar[bool] = False  # its fit stops at a deadline with a usable model

    def unsupported(self, task: TaskInfo) -> str | None:
        """Why this family cannot run ``task`` (None when it can)."""
        if self.image_only and not task.is_image:
            return f"the {self.name} family needs an image task and {task.name!r} is tabular"
        return None

    @abstractmethod
    def space(self, task: TaskInfo) -> Space:
        """The search space for ``task``."""

    @abstractmethod
    def manual(self, task: TaskInfo) -> list[dict[str, Any]]:
        """A few hand-picked configurations, in the order a person would try them."""

    @abstractmethod
    def resource(self, task: TaskInfo) -> Resource:
        """What successive halving scales: trees, epochs or the data fraction."""

    @abstractmethod
    def build(self, config: dict[str, Any], task: TaskInfo, seed: int, cores: int) -> Model:
        """An unfitted model; ``config == {}`` means the library's (or our) defaults."""

    def warm_up(self) -> None:
        """Fit a cheap model on a few synthetic rows, so one-off library costs (lazy imports, first
        optimizer step: about 2.5 s for torch here) fall in ``start`` and not on the first trial."""
        image = (8, 8, 1) if self.image_only else None
        task = TaskInfo("warm-up", "binary", "accuracy", ("a", "b"), image_shape=image)
        width = 64 if image else 4
        rng = np.random.default_rng(0)
        X = pd.DataFrame(rng.normal(size=(40, width)), columns=[f"x{i}" for i in range(width)])
        y = np.arange(40) % 2
        model = self.build(dict(self.warm_up_config), task, seed=0, cores=1)
        model.fit(X, y, valid=(X, y))
        model.predict_proba(X)

    def cost_units(self, config: dict[str, Any], n_rows: int, task: TaskInfo) -> float:
        """A rough proxy of one fit's cost: the loop learns seconds per unit from finished trials."""
        return 1.0
