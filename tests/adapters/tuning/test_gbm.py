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


def test_gbm_keeps_time_to_score_its_valid_rows() -> None:
    """A trial's scoring follows its fit and grows with its trees (seen: a fit cut at its deadline,
    then 6 s of scoring, and the run killed past its budget). With many valid rows to score, fit
    stops adding trees long before the deadline; without them it trains up to it."""
    import pandas as pd

    family = get_family("gbm")
    config = {"n_estimators": 100_000, "num_leaves": 63, "learning_rate": 0.01}
    many = pd.concat([DATA.X_valid] * 400, ignore_index=True)  # about 145,000 rows
    alone = family.build(config, DATA.task, seed=0, cores=1)
    alone.fit(DATA.X_train, DATA.y_train, deadline=time.monotonic() + 2.0)
    scored = family.build(config, DATA.task, seed=0, cores=1)
    scored.fit(DATA.X_train, DATA.y_train, valid=(many, None), deadline=time.monotonic() + 2.0)
    assert 0 < scored.trained_share < alone.trained_share / 4, (scored.trained_share, alone.trained_share)
    assert scored.predict_proba(DATA.X_valid).shape == (len(DATA.y_valid), len(DATA.task.classes))
