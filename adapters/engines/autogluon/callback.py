"""The AutoGluon callback of a run: logs each model as it finishes, starts none near our deadline.

Imported in the child only (it imports ``autogluon.core``). AutoGluon pickles its trainer, callbacks
included, each time it saves a model, so the callback is a module-level class whose pickled state
drops the run's live objects (the deadline and the trial log): a copy that is loaded again does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from autogluon.core.callbacks import AbstractCallback

logger = logging.getLogger(__name__)


class DeadlineCallback(AbstractCallback):
    """Stops AutoGluon from starting a model after ``stop_at`` (``time.monotonic()``); reports finished models."""

    def __init__(self, stop_at: float, on_model: Callable[[Any, str], None]) -> None:
        super().__init__()
        self.stop_at: float | None = stop_at
        self.on_model: Callable[[Any, str], None] | None = on_model

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "stop_at": None, "on_model": None}

    def _before_model_fit(self, trainer: Any, model: Any, **kwargs: Any) -> tuple[bool, bool]:
        if self.stop_at is not None and time.monotonic() >= self.stop_at:
            logger.info("our deadline is near: AutoGluon starts no more models (next was %s)", model.name)
            return True, True  # early_stop, skip_model
        return False, False

    def _after_model_fit(self, trainer: Any, model_names: list[str], **kwargs: Any) -> bool:
        for name in model_names:
            if self.on_model is None:
                break
            try:
                self.on_model(trainer, name)
            except Exception:  # a model we cannot read must not stop the fit
                logger.warning("could not log AutoGluon model %s", name, exc_info=True)
        return False  # never stops the fit by itself
