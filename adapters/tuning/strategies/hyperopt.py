"""Hyperopt's TPE through an ask/tell wrapper around ``tpe.suggest``.

Conditional parameters become nested ``hp.choice`` branches on their parent; a child
that appears under several parent values gets one label per branch (hyperopt labels
are global). ``space_eval`` turns the sampled indices back into values.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from adapters.base import TaskInfo
from adapters.tuning.families.base import Family
from adapters.tuning.loop import Strategy
from adapters.tuning.spaces import Categorical, Float, Int, Param, Space
from adapters.tuning.tuner import TunerAdapter

_BRANCH = "__branch__"
N_STARTUP = 10  # random trials before TPE (Optuna's TPESampler default, for a fair comparison)


def _leaf(p: Param, label: str) -> Any:
    from hyperopt import hp

    if isinstance(p, Float):
        if p.log:
            return hp.loguniform(label, math.log(p.low), math.log(p.high))
        return hp.uniform(label, p.low, p.high)
    if isinstance(p, Int):
        if p.log:
            return hp.qloguniform(label, math.log(p.low), math.log(p.high), 1)
        return hp.uniformint(label, p.low, p.high)
    return hp.choice(label, list(p.choices))


def _node(space: Space, names: list[str], suffix: str) -> dict[str, Any]:
    from hyperopt import hp

    out: dict[str, Any] = {}
    for name in names:
        p = space.params[name]
        children = [c for c, q in space.params.items() if q.condition and q.condition[0] == name]
        label = name + suffix
        if isinstance(p, Categorical) and children:
            branches = []
            for v in p.choices:
                active = [c for c in children if v in space.params[c].condition[1]]  # type: ignore[index]
                branches.append({name: v, **_node(space, active, f"{suffix}|{name}={v}")})
            out[_BRANCH + label] = hp.choice(label, branches)
        else:
            out[name] = _leaf(p, label)
    return out


def to_hyperopt(space: Space) -> dict[str, Any]:
    """A hyperopt search space (a dict of ``hp`` expressions) equivalent to ``space``."""
    return _node(space, [n for n, p in space.params.items() if p.condition is None], "")


def flatten(sample: dict[str, Any]) -> dict[str, Any]:
    """A ``space_eval`` result with its nested branches merged into one flat configuration."""
    out: dict[str, Any] = {}
    for k, v in sample.items():
        if k.startswith(_BRANCH):
            out.update(flatten(v))
        else:
            out[k] = v
    return out


class HyperoptStrategy(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        from hyperopt import Domain, Trials, tpe

        self.hp_space = to_hyperopt(space)
        self.domain = Domain(lambda _: 0.0, self.hp_space)
        self.trials = Trials()
        self.suggest = functools.partial(tpe.suggest, n_startup_jobs=N_STARTUP)
        self.rng = np.random.default_rng(seed)
        self.doc: dict[str, Any] | None = None

    def ask(self) -> dict[str, Any] | None:
        from hyperopt import space_eval

        ids = self.trials.new_trial_ids(1)
        docs = self.suggest(ids, self.domain, self.trials, int(self.rng.integers(2**31 - 1)))
        self.trials.insert_trial_docs(docs)
        self.trials.refresh()
        self.doc = self.trials._dynamic_trials[-1]
        vals = {k: v[0] for k, v in self.doc["misc"]["vals"].items() if v}
        return self.space.coerce(flatten(space_eval(self.hp_space, vals)))

    def tell(self, config: dict[str, Any], score: float | None, status: str) -> None:
        from hyperopt import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK

        assert self.doc is not None
        self.doc["state"] = JOB_STATE_DONE
        self.doc["result"] = (
            {"loss": -score, "status": STATUS_OK} if score is not None else {"status": STATUS_FAIL}
        )
        self.trials.refresh()


class HyperoptAdapter(TunerAdapter):
    requires = ("sklearn", "lightgbm", "hyperopt")
    extra = "hyperopt"
    description = "Hyperopt TPE (seeded), conditional spaces as nested choices"

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return HyperoptStrategy(space, family, task, seed)
