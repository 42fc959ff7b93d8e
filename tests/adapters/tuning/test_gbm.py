"""Gradient boosting stops at a deadline with the trees built so far, like the neural networks."""

from __future__ import annotations

import time

from adapters.testing import load_task
from adapters.tuning.families import get_family

DATA, _, _ = load_task("digits")


def test_gbm_stops_adding_trees_at_the_deadline() -> None:
    """A fit cut at its deadline keeps the trees built so far: a usable model, and the share done."""
    family = get_family("gbm")
    model = family.build({"n_estimators": 100_000}, DATA.task, seed=0, cores=1)
    t0 = time.monotonic()
    model.fit(DATA.X_train, DATA.y_train, deadline=t0 + 0.5)
    assert time.monotonic() - t0 < 1.5 and 0 < model.trained_share < 0.1
    assert model.predict_proba(DATA.X_valid).shape == (len(DATA.y_valid), len(DATA.task.classes))
    full = family.build({"n_estimators": 5}, DATA.task, seed=0, cores=1)
    assert full.fit(DATA.X_train, DATA.y_train, deadline=time.monotonic() + 60).trained_share == 1.0
