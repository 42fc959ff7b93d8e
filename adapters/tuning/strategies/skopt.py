"""scikit-optimize: a Gaussian process with expected improvement, through its ask/tell Optimizer.

scikit-optimize has no conditional parameters: the space is flattened and a parameter
its parent switches off is dropped from the configuration that is evaluated.
"""

from __future__ import annotations

from typing import Any

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family
from adapters.tuning.loop import Strategy
from adapters.tuning.spaces import Categorical, Float, Int, Space, SpaceError
from adapters.tuning.tuner import TunerAdapter

N_INITIAL = 10
# Expected improvement is maximised over this many random points. skopt's default (L-BFGS from
# restarts, or 10,000 points) took 3.5 to 6.5 s per proposal on 2 cores, charged to the budget;
# 2,000 points took 0.45 s.
ACQ_POINTS = 2000


def check_skopt(space: Space) -> None:
    for name, p in space.params.items():
        if isinstance(p, Categorical):
            kinds = {type(c) for c in p.choices}
            if type(None) in kinds or len(kinds) > 1:
                raise SpaceError(
                    f"scikit-optimize cannot express parameter {name!r}: its choices {list(p.choices)} mix "
                    "types or hold None; use choices of one type (e.g. strings) or another strategy"
                )


def to_skopt(space: Space) -> list[Any]:
    """scikit-optimize dimensions, one per parameter, in the space's order."""
    from skopt.space import Categorical as SkCategorical
    from skopt.space import Integer, Real

    check_skopt(space)
    dims: list[Any] = []
    for name, p in space.params.items():
        if isinstance(p, Float):
            dims.append(Real(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=name))
        elif isinstance(p, Int):
            dims.append(Integer(p.low, p.high, prior="log-uniform" if p.log else "uniform", name=name))
        else:
            dims.append(SkCategorical(list(p.choices), name=name))
    return dims


class SkoptStrategy(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        from skopt import Optimizer

        self.opt = Optimizer(
            to_skopt(space),
            base_estimator="GP",
            acq_func="EI",
            n_initial_points=N_INITIAL,
            random_state=seed,
            acq_optimizer="sampling",
            acq_optimizer_kwargs={"n_points": ACQ_POINTS},
        )
        self.names = list(space.params)
        self.x: list[Any] = []
        self.losses: list[float] = []

    def ask(self) -> dict[str, Any] | None:
        self.x = self.opt.ask()
        return self.space.coerce(dict(zip(self.names, self.x, strict=True)))

    def tell(self, config: dict[str, Any], score: float | None, status: str) -> None:
        if score is None:
            if not self.losses:
                return  # nothing to compare a failure with yet
            loss = max(self.losses)  # a failed point is as bad as the worst seen
        else:
            loss = -score
            self.losses.append(loss)
        self.opt.tell(self.x, loss)


class SkoptAdapter(TunerAdapter):
    requires = ("sklearn", "lightgbm", "skopt")
    extra = "skopt"
    description = "scikit-optimize Gaussian process with expected improvement (seeded)"

    def check_space(self, space: Space) -> None:
        check_skopt(space)

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return SkoptStrategy(space, family, task, seed)
