"""The adapter contract: what every tuning strategy and AutoML engine implements.

An adapter runs inside a sandboxed child process. The harness gives it the
train and valid rows (with labels), the test features (without labels), a
budget in seconds and the job's cores; the adapter searches, keeps its best
model, and predicts. It never sees test labels and never computes the
reported metrics: the parent process does that.

Life cycle inside the child (the harness calls these, in this order)::

    adapter = AdapterClass(family=...)      # cheap: no heavy imports here
    adapter.start(ctx)                      # start-up: imports, JVM launch (timed, not charged)
    adapter.fit(data, ctx, log)             # charged to the budget
    adapter.predict(X_test)                 # timed as predict seconds
    adapter.predict_proba(X_test)           # classifiers; None if the model has none
    adapter.best_config()                   # JSON-serialisable
    adapter.close()                         # always called, also after a failure
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

ProblemType = Literal["binary", "multiclass", "regression"]


@dataclass(frozen=True)
class TaskInfo:
    """What an adapter may know about the task (never the test labels)."""

    name: str
    problem_type: ProblemType
    metric: str  # primary metric name in tasks.metrics.METRICS
    classes: tuple[str, ...] = ()  # class names; y holds their integer codes 0..K-1
    image_shape: tuple[int, int, int] | None = None  # (height, width, channels) for image tasks

    @property
    def is_classification(self) -> bool:
        return self.problem_type != "regression"

    @property
    def is_image(self) -> bool:
        return self.image_shape is not None

    @property
    def greater_is_better(self) -> bool:
        """Whether a higher ``metric`` is better (accuracy, roc_auc, r2) or a lower one (log_loss, rmse)."""
        from tasks.metrics import METRICS  # lazily: adapters import this module in a cheap child start-up

        return METRICS[self.metric].greater_is_better

    def score(self, y_true: Any, y_pred: Any = None, proba: Any = None) -> float:
        """The task's own metric (``self.metric``) of predictions, computed as the harness scores tests.

        Use it for ``Trial.valid_score``: valid scores are in the metric's own units and direction
        (an RMSE, not a negated RMSE or an R²; a log loss, not an accuracy), because the harness
        compares and reports them with the metric's direction (``greater_is_better``).

        ``y_true`` and ``y_pred`` are class codes 0..K-1 (classification) or numbers (regression);
        ``proba`` is the (n, K) probabilities, needed by ``roc_auc`` and ``log_loss``. For
        classification ``y_pred`` may be left out when ``proba`` is given (its argmax is used).
        Raises ``ValueError`` when the metric cannot be computed from what was given.
        """
        from tasks.metrics import METRICS

        metric = METRICS.get(self.metric)
        if metric is None:
            raise ValueError(f"task {self.name!r} has metric {self.metric!r}, which tasks.metrics lacks")
        if metric.needs_proba and proba is None:
            raise ValueError(f"{self.metric} needs probabilities: pass proba=model.predict_proba(X)")
        if y_pred is None:
            if proba is None or not self.is_classification:
                raise ValueError("score needs y_pred (or, for classification, proba)")
            y_pred = np.asarray(proba).argmax(axis=1)
        n_classes = len(self.classes) if self.is_classification and self.classes else None
        return metric.score(y_true, y_pred, proba, n_classes=n_classes)


@dataclass(frozen=True)
class FitContext:
    """The job's resources. ``deadline`` is a ``time.monotonic()`` value: the end of the budget."""

    budget_s: float
    seed: int
    cores: int
    memory_gb: float
    workdir: str  # a scratch directory of this run, removed by the harness afterwards
    fit_start: float = 0.0  # time.monotonic() when fit was called
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def deadline(self) -> float:
        return self.fit_start + self.budget_s

    def remaining(self) -> float:
        """Seconds of budget left (negative once past it)."""
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.fit_start


@dataclass(frozen=True)
class FitData:
    """Train and valid rows with labels. For classification ``y`` holds integer codes 0..K-1."""

    X_train: pd.DataFrame
    y_train: np.ndarray
    X_valid: pd.DataFrame
    y_valid: np.ndarray
    task: TaskInfo

    def train_valid(self) -> tuple[pd.DataFrame, np.ndarray]:
        """Train and valid together (what AutoML engines get, with their own validation inside)."""
        X = pd.concat([self.X_train, self.X_valid], ignore_index=True)
        y = np.concatenate([self.y_train, self.y_valid])
        return X, y


@dataclass
class Trial:
    """One evaluated configuration, as it goes into the trial log."""

    config: dict[str, Any]
    valid_score: float | None  # task's primary metric on the adapter's validation; None if failed
    fit_s: float
    elapsed_s: float = 0.0  # seconds since fit started, at the end of the trial (set by the logger)
    status: str = "ok"  # "ok", "failed", "pruned"
    error: str | None = None
    family: str | None = None
    curve: dict[str, list[float]] | None = None  # e.g. {"train_loss": [...], "valid_loss": [...]}


TrialLogger = Callable[[Trial], None]


# a ``best_config`` key: true when the search ended because nothing was left to try (``default``'s one
# configuration, a finished grid), not because the budget ended; the leaderboard marks such runs
SEARCH_EXHAUSTED = "_search_exhausted"


class AdapterUnavailable(RuntimeError):
    """Raised when an adapter cannot run here (a missing library, no Java)."""


class TaskNotSupported(RuntimeError):
    """Raised by ``check_task`` when the adapter cannot handle this task; the run is ``skipped``."""


class Adapter:
    """Base class of every adapter. Subclasses implement ``fit``, ``predict`` and ``best_config``.

    Class attributes a subclass sets:

    * ``requires``: import names of the libraries it needs (checked without importing them);
    * ``extra``: the optional-dependency extra that installs them (``pip install .[extra]``);
    * ``families``: model families it can tune (tuners), empty for engines;
    * ``min_budget_s``: the smallest budget it can keep; the harness refuses a smaller one in one
      line (or records the run ``skipped`` when the user did not name the adapter).
    """

    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    families: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    min_budget_s: ClassVar[float] = 0.0

    def __init__(self, family: str | None = None) -> None:
        if family is not None and family not in self.families:
            raise ValueError(
                f"{type(self).__name__} has no model family {family!r}; "
                f"choose one of {', '.join(self.families) or '(none)'}"
            )
        self.family = family

    # --- availability, checked in the parent without importing heavy libraries ---
    @classmethod
    def missing(cls) -> list[str]:
        """Names of required libraries that are not installed (empty when available)."""
        return [m for m in cls.requires if importlib.util.find_spec(m) is None]

    def check_task(self, task: TaskInfo) -> None:
        """Raise ``TaskNotSupported`` with a reason if this adapter cannot run the task."""

    # --- life cycle in the child ---
    def start(self, ctx: FitContext) -> None:
        """Start-up work that is not charged to the budget: imports, an engine launch."""

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        return None

    def best_config(self) -> dict[str, Any]:
        """What the adapter chose, as JSON. An adapter that ran out of things to try before its budget
        ended sets ``SEARCH_EXHAUSTED`` true in it, so its low fit / budget reads as by design."""
        return {}

    def versions(self) -> dict[str, str]:
        """Versions of the libraries this adapter uses (``{"lightgbm": "4.7.0"}``)."""
        from importlib.metadata import PackageNotFoundError, version

        out: dict[str, str] = {}
        for mod in self.requires:
            dist = _DIST_NAMES.get(mod, mod)
            try:
                out[dist] = version(dist)
            except PackageNotFoundError:
                pass
        return out

    def close(self) -> None:
        """Release resources (shut down a JVM or a cluster). Always called."""


# import name -> distribution name, where they differ
_DIST_NAMES = {
    "sklearn": "scikit-learn",
    "skopt": "scikit-optimize",
    "h2o": "h2o",
}
