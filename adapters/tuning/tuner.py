"""The base of every tuning-strategy adapter: resolve the family, run the loop, keep the best model."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from adapters.base import SEARCH_EXHAUSTED, Adapter, FitContext, FitData, TaskInfo, TrialLogger
from adapters.tuning.evaluate import full_proba
from adapters.tuning.families import FAMILY_NAMES, NN_FAMILIES, check_family, default_family, get_family
from adapters.tuning.families.base import Family
from adapters.tuning.loop import Strategy, TuneOutcome, TuningLoop
from adapters.tuning.spaces import Space

log = logging.getLogger(__name__)


class TunerAdapter(Adapter):
    """Subclasses set ``strategy_name`` and implement ``make_strategy`` (and ``check_space`` if needed).

    ``best_config()`` holds the chosen configuration plus ``_family``, ``_validation``, ``_refitted``,
    ``SEARCH_EXHAUSTED`` (the strategy had nothing more to try: the run could not use more of its
    budget), ``_search_end`` (why the search ended, in words) and ``_space`` (the search space as
    JSON); ``search_space()`` returns that JSON alone.
    """

    requires: ClassVar[tuple[str, ...]] = ("sklearn", "lightgbm")
    families: ClassVar[tuple[str, ...]] = FAMILY_NAMES
    max_trials: ClassVar[int | None] = None

    def __init__(self, family: str | None = None) -> None:
        super().__init__(family)
        self._task: TaskInfo | None = None
        self._outcome: TuneOutcome | None = None
        self._space: Space | None = None

    # --- the strategy-specific part ---
    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        raise NotImplementedError

    def check_space(self, space: Space) -> None:
        """Raise ``SpaceError`` naming the parameter if this strategy's library cannot express ``space``."""

    def space_for(self, family: Family, task: TaskInfo) -> Space:
        return family.space(task)

    # --- the life cycle ---
    def family_name(self, task: TaskInfo) -> str:
        return self.family or default_family(task)

    def check_task(self, task: TaskInfo) -> None:
        family = check_family(self.family_name(task), task)
        self.check_space(self.space_for(family, task))
        self._task = task

    def start(self, ctx: FitContext) -> None:
        """Import and warm up the family's libraries (torch with the job's threads) on synthetic rows,
        so the budget does not pay for one-off start-up costs.

        The family is known when the harness called ``check_task`` first; otherwise it is the
        one named, else gradient boosting.
        """
        name = self.family_name(self._task) if self._task else (self.family or "gbm")
        if name in NN_FAMILIES:
            import torch

            torch.set_num_threads(max(1, ctx.cores))
        get_family(name).warm_up()

    def fit(self, data: FitData, ctx: FitContext, log: TrialLogger) -> None:
        task = data.task
        family = check_family(self.family_name(task), task)
        self._space = self.space_for(family, task)
        self.check_space(self._space)
        strategy = self.make_strategy(self._space, family, task, ctx.seed)
        loop = TuningLoop(strategy, family, data, ctx, log, max_trials=self.max_trials)
        self._task = task
        self._outcome = loop.run()

    def _model(self):
        if self._outcome is None:
            raise RuntimeError(f"{type(self).__name__}.predict called before a successful fit")
        return self._outcome.model

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        pred = self._model().predict(X)
        assert self._task is not None
        return pred.astype(np.int64) if self._task.is_classification else pred.astype(float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray | None:
        assert self._task is not None
        if not self._task.is_classification:
            return None
        model = self._model()
        proba = model.predict_proba(X)
        return None if proba is None else full_proba(model, np.asarray(proba, float), len(self._task.classes))

    def search_space(self) -> dict[str, Any]:
        return self._space.to_json() if self._space is not None else {}

    def best_config(self) -> dict[str, Any]:
        if self._outcome is None:
            return {}
        return {
            **self._outcome.best_config,
            "_family": self._outcome.trials[0].family if self._outcome.trials else None,
            "_validation": self._outcome.validation,
            "_refitted": self._outcome.refitted,
            SEARCH_EXHAUSTED: self._outcome.search_exhausted,
            "_search_end": self._outcome.search_end,
            "_space": self.search_space(),
        }
