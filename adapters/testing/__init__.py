"""Contract checks for adapter authors, like scikit-learn's ``check_estimator``.

::

    from adapters.testing import check_adapter

    check_adapter(MyTuner)  # raises AssertionError saying what is wrong and what to do

``check_adapter`` runs the adapter in this process through the harness child's life cycle on small
generated tasks (binary with log loss, multiclass with accuracy, regression with RMSE; a categorical
column and missing values in each) and checks predictions, probabilities, the trial log, the budget,
``best_config``, and that valid scores are in the task's metric. Nothing here imports pytest or a
heavy library at import time.

Modules: ``data`` (the generated and scikit-learn tasks), ``run`` (one life cycle, recorded as a
``ContractResult``), ``checks`` (the checks on a recorded run), ``contract`` (``check_adapter`` and
``run_contract``).
"""

from adapters.testing.checks import check_result, check_valid_score, result_as_json, same_trials
from adapters.testing.contract import check_adapter, run_contract
from adapters.testing.data import GENERATED, TASKS, load_task, make_task
from adapters.testing.run import ContractResult, budget_slack, run_adapter

__all__ = [
    "GENERATED",
    "TASKS",
    "ContractResult",
    "budget_slack",
    "check_adapter",
    "check_result",
    "check_valid_score",
    "load_task",
    "make_task",
    "result_as_json",
    "run_adapter",
    "run_contract",
    "same_trials",
]
