"""The tuning loop's prediction of a trial's seconds from the trials so far."""

from __future__ import annotations

import numpy as np


class CostModel:
    """Seconds of a fit from its cost units: ``a + b * units`` (non-negative least squares) once
    three trials after the first are in, scaled up by the 90th percentile of how far past trials ran over it;
    before that, the largest of the observed trials scaled as if half its time were fixed overhead
    (a first trial also pays one-off warm-up costs)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.units: list[float] = []

    def observe(self, seconds: float, units: float) -> None:
        if units > 0:
            self.seconds.append(seconds)
            self.units.append(units)

    def predict(self, units: float) -> float | None:
        if not self.seconds:
            return None
        t, u = np.asarray(self.seconds), np.asarray(self.units)
        if len(t) >= 4:  # the first trial pays one-off costs (first calls, caches): leave it out
            t, u = t[1:], u[1:]
        if len(t) < 3 or np.ptp(u) == 0:
            return float(np.max(t * (0.5 + 0.5 * units / u)))
        from scipy.optimize import nnls

        (a, b), _ = nnls(np.column_stack([np.ones_like(u), u]), t)
        fitted = np.maximum(a + b * u, 1e-9)
        return float((a + b * units) * max(1.0, float(np.quantile(t / fitted, 0.9))))
