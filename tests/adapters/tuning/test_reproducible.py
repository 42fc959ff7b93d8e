"""Seeded strategies give the same trials in another process (fresh hash seed, fresh imports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests import ROOT

SCRIPT = """
import json, sys
from adapters.base import TaskInfo
from adapters.tuning.families import get_family
from adapters.tuning.strategies.grid import GridStrategy
from adapters.tuning.strategies.halving import HalvingStrategy
from adapters.tuning.strategies.hyperopt import HyperoptStrategy
from adapters.tuning.strategies.optuna import OptunaStrategy
from adapters.tuning.strategies.random import RandomStrategy
from adapters.tuning.strategies.skopt import SkoptStrategy

task = TaskInfo("b", "binary", "roc_auc", ("a", "b"))
family = get_family("svm")
out = {}
for cls in (GridStrategy, HalvingStrategy, HyperoptStrategy, OptunaStrategy, RandomStrategy, SkoptStrategy):
    s = cls(family.space(task), family, task, 7)
    configs = []
    for i in range(12):
        c = s.ask()
        configs.append(c)
        s.tell(c, -abs(c["C"] - 3.0), "ok")  # a deterministic stand-in for a validation score
    out[cls.__name__] = configs
print(json.dumps(out))
"""

END_TO_END = """
import json
from adapters.tuning.strategies.random import RandomAdapter
from adapters.testing import run_adapter
res = run_adapter(lambda: RandomAdapter("gbm"), "breast_cancer", 8.0, seed=5)
print(json.dumps([[t.config, t.valid_score] for t in res.trials]))
"""


def run(script: str) -> object:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "random"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_strategy_proposals_match_across_processes() -> None:
    first, second = run(SCRIPT), run(SCRIPT)
    assert first == second
    assert len({json.dumps(c, sort_keys=True) for c in first["OptunaStrategy"]}) == 12


def test_trials_and_scores_match_across_processes() -> None:
    first, second = run(END_TO_END), run(END_TO_END)
    # only where the search ends depends on time, and the score of a last trial cut at its deadline
    k = min(len(first), len(second)) - 1
    assert k >= 2 and first[:k] == second[:k]
