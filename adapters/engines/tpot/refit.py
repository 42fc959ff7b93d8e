"""The bounded final refit of a TPOT search: which evaluated pipeline to refit, in the time left.

TPOT itself refits its best pipeline on all rows after the search, with no time limit (how long
that took here: ``benchmarks/README.md``, TPOT). The TPOT adapter stops TPOT after its search and
refits here instead: it estimates each pipeline's refit time from its evaluation time (a k-fold
cross-validation fits k models on (k-1)/k of the rows: one fit on all rows takes about
``eval_s / k * REFIT_FACTOR``), refits the best pipeline whose estimate fits in the time left
and, in a second thread, a cheap good one as insurance. Threads cannot be stopped: one that does
not finish in time is abandoned (it ends with the process).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """One pipeline TPOT evaluated without error."""

    key: Any  # its row in TPOT's table
    individual: Any  # TPOT's individual (``export_pipeline()`` gives an unfitted scikit-learn pipeline)
    score: float  # TPOT's objective (greater is better)
    eval_s: float  # wall seconds of its k-fold evaluation
    refit_s: float  # estimated seconds of one fit on all rows


def candidates(
    history: pd.DataFrame | None, score_col: str, folds: int, refit_factor: float
) -> list[Candidate]:
    """The pipelines TPOT scored, best first (ties: the cheaper first)."""
    if history is None or len(history) == 0 or score_col not in history:
        return []
    out = []
    for key, row in history.iterrows():
        score, start, end = row.get(score_col), row.get("Submitted Timestamp"), row.get("Completed Timestamp")
        err = row.get("Eval Error")
        if isinstance(err, str) or not all(_finite(v) for v in (score, start, end)):
            continue
        eval_s = max(0.0, float(end) - float(start))
        out.append(Candidate(key, row["Individual"], float(score), eval_s, eval_s / folds * refit_factor))
    return sorted(out, key=lambda c: (-c.score, c.refit_s))


def plan(
    cands: list[Candidate], time_left_s: float, share: float, insurance_share: float
) -> tuple[list[Candidate], Candidate | None]:
    """The candidates to refit in turn (first: the best whose estimate fits ``share * time_left_s``),
    and an insurance: the best whose estimate fits ``insurance_share * time_left_s``, unless the
    first choice is that cheap already. With no estimate small enough: the cheapest alone.
    """
    if not cands:
        return [], None
    primary = [c for c in cands if c.refit_s <= share * time_left_s]
    if not primary:
        return [min(cands, key=lambda c: c.refit_s)], None
    if primary[0].refit_s <= insurance_share * time_left_s:
        return primary, None
    cheap = [c for c in cands if c.refit_s <= insurance_share * time_left_s]
    return primary, (cheap[0] if cheap else None)


@dataclass
class _Job:
    """Refits candidates in turn in a daemon thread until one succeeds (or it is told to stop)."""

    todo: list[Candidate]
    X: np.ndarray
    y: np.ndarray
    pipeline: Any = None
    chosen: Candidate | None = None
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> _Job:
        threading.Thread(target=self._run, name="tpot-refit", daemon=True).start()
        return self

    def wait(self, until: float) -> bool:
        """Waits until done or ``until`` (a ``time.monotonic()`` value); True if a pipeline is fitted."""
        self.done.wait(max(0.0, until - time.monotonic()))
        return self.pipeline is not None

    def _run(self) -> None:
        t0 = time.monotonic()
        try:
            for cand in self.todo:
                if self.stop.is_set():
                    return
                try:
                    pipeline = cand.individual.export_pipeline()
                    pipeline.fit(self.X, self.y)
                except Exception as exc:  # noqa: BLE001 - TPOT too moves on to the next pipeline when one fails
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                self.pipeline, self.chosen = pipeline, cand
                return
        finally:
            self.seconds = time.monotonic() - t0
            self.done.set()


def refit(
    cands: list[Candidate], X: np.ndarray, y: np.ndarray, until: float, share: float, insurance_share: float
) -> tuple[Any, Candidate]:
    """Refits on all rows by ``until`` (``time.monotonic()``): the planned candidate, else the
    insurance. Raises RuntimeError (with the reason) when neither is fitted in time.
    """
    time_left = until - time.monotonic()
    todo, insurance = plan(cands, time_left, share, insurance_share)
    if not todo:
        raise RuntimeError("TPOT evaluated no pipeline within the budget")
    main = _Job(todo, X, y)
    spare = _Job([insurance], X, y) if insurance is not None else None
    main.start()
    if spare is not None:
        spare.start()
    logger.info(
        "TPOT refit: %.1f s left, first choice score %.4f est. %.2f s%s",
        time_left,
        todo[0].score,
        todo[0].refit_s,
        f", insurance score {insurance.score:.4f} est. {insurance.refit_s:.2f} s" if insurance else "",
    )
    try:
        if main.wait(until):
            return main.pipeline, main.chosen  # type: ignore[return-value]
        if spare is not None and spare.wait(until):
            return spare.pipeline, spare.chosen  # type: ignore[return-value]
    finally:
        main.stop.set()
        if spare is not None:
            spare.stop.set()
    errors = main.errors + (spare.errors if spare else [])
    why = f"; errors: {'; '.join(errors[:3])}" if errors else ""
    raise RuntimeError(
        f"TPOT's refit of its best pipelines did not finish within the budget "
        f"({len(cands)} evaluated, {time_left:.1f} s left after the search, first choice estimated "
        f"{todo[0].refit_s:.1f} s){why}"
    )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float | np.floating | np.integer) and math.isfinite(float(value))
