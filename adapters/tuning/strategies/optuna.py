"""Optuna's TPE sampler through ask/tell, with a median pruner on neural-network epochs."""

from __future__ import annotations

from typing import Any

from adapters.base import TaskInfo
from adapters.tuning.families.base import EpochCallback, Family
from adapters.tuning.loop import Strategy, TrialPruned
from adapters.tuning.spaces import Categorical, Float, Int, Space
from adapters.tuning.tuner import TunerAdapter


def to_optuna(space: Space) -> dict[str, Any]:
    """Optuna distributions of every parameter (conditional ones included; the sampler skips inactive ones)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, p in space.params.items():
        if isinstance(p, Float):
            out[name] = FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            out[name] = IntDistribution(p.low, p.high, log=p.log)
        else:
            out[name] = CategoricalDistribution(p.choices)
    return out


def suggest(space: Space, trial: Any) -> dict[str, Any]:
    """Sample a configuration define-by-run, so conditional parameters appear only when active."""
    config: dict[str, Any] = {}
    for name, p in space.params.items():
        if not space.is_active(name, config):
            continue
        if isinstance(p, Float):
            config[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            config[name] = trial.suggest_int(name, p.low, p.high, log=p.log)
        elif isinstance(p, Categorical):
            config[name] = trial.suggest_categorical(name, p.choices)
    return config


class OptunaStrategy(Strategy):
    def __init__(self, space: Space, family: Family, task: TaskInfo, seed: int) -> None:
        super().__init__(space, family, task, seed)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
        )
        self.trial: Any = None

    def ask(self) -> dict[str, Any] | None:
        self.trial = self.study.ask()
        return suggest(self.space, self.trial)

    def tell(self, config: dict[str, Any], score: float | None, status: str) -> None:
        from optuna.trial import TrialState

        if status == "ok":
            self.study.tell(self.trial, score)
        else:
            self.study.tell(self.trial, state=TrialState.PRUNED if status == "pruned" else TrialState.FAIL)

    def epoch_callback(self) -> EpochCallback | None:
        trial = self.trial

        def report(epoch: int, train_loss: float, valid_loss: float | None) -> None:
            if valid_loss is None:
                return
            trial.report(-valid_loss, epoch)  # the study maximises
            if trial.should_prune():
                raise TrialPruned(f"pruned at epoch {epoch + 1}")

        return report


class OptunaAdapter(TunerAdapter):
    requires = ("sklearn", "lightgbm", "optuna")
    description = "Optuna TPE (seeded), median pruning of neural-network epochs"

    def make_strategy(self, space: Space, family: Family, task: TaskInfo, seed: int) -> Strategy:
        return OptunaStrategy(space, family, task, seed)
