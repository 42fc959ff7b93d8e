"""``check_adapter``: the whole contract on the generated tasks, and ``run_contract`` on one task."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from adapters.base import Adapter, TaskInfo
from adapters.testing.checks import check_result, same_trials
from adapters.testing.data import GENERATED
from adapters.testing.run import AdapterFactory, ContractResult, run_adapter

log = logging.getLogger(__name__)

TaskChoice = str | TaskInfo


def check_adapter(
    adapter_class_or_factory: type[Adapter] | Callable[[], Adapter],
    task: TaskChoice | Iterable[TaskChoice] | None = None,
    budget_s: float = 3.0,
    seed: int = 0,
    cores: int = 1,
    check_seed: bool = False,
    *,
    memory_gb: float = 2.0,
) -> list[ContractResult]:
    """Run an adapter through the harness's life cycle on small generated tasks and check the contract.

    ``adapter_class_or_factory`` is the adapter class (called without arguments) or any callable that
    returns a new adapter (``lambda: MyTuner(family="rf")``); a fresh one is made for every run.

    ``task`` picks the tasks: ``None`` for all three generated problem types (``"binary"`` with
    log loss, ``"multiclass"`` with accuracy, ``"regression"`` with RMSE; see
    ``adapters.testing.data``), one of those names, a scikit-learn data set name (``"breast_cancer"``,
    ``"diabetes"``, ``"digits"``, ``"mixed"``), a ``TaskInfo`` (generated data of its problem type,
    scored in its metric: ``TaskInfo("r", "regression", "mae")``), or a list of these.

    Each task runs in this process exactly as the harness's child runs it (``check_task``, ``start``,
    ``fit`` with ``ctx.fit_start`` set, ``predict``, ``predict_proba`` for classification,
    ``best_config``, ``close``), with ``budget_s`` seconds, ``seed`` (also of the data), ``cores``
    and ``memory_gb`` in its ``FitContext``. A task whose ``check_task`` raises ``TaskNotSupported``
    is skipped (logged, and returned with ``skipped`` set), but at least one must run. With
    ``check_seed`` each task runs twice and the trials must agree. A ``budget_s`` under the adapter's
    ``min_budget_s`` raises ``ValueError``.

    Raises one ``AssertionError`` naming the problem, the numbers and what to do (see
    ``adapters.testing.checks``); an exception the adapter raises becomes one too, with the
    exception as its cause (the harness records such a run as failed). Returns one
    ``ContractResult`` per task, with ``test_score``, ``valid_score`` and ``baseline_score`` filled.
    """
    factory = _factory(adapter_class_or_factory)
    check_protocol(factory)
    smallest = float(getattr(factory(), "min_budget_s", 0.0))
    if budget_s < smallest:
        raise ValueError(
            f"budget_s={budget_s:g} is under the {smallest:g} s this adapter can keep (its min_budget_s); "
            f"pass budget_s={smallest:g} or more"
        )
    results = []
    for choice in _task_choices(task):
        res = run_adapter(factory, choice, budget_s, seed, cores, memory_gb=memory_gb, raise_errors=False)
        if res.skipped is not None:
            log.info("%s skips task %r: %s", res.adapter_name, res.task.name, res.skipped)
            results.append(res)
            continue
        check_result(res, budget_s)
        if check_seed:
            again = run_adapter(
                factory, choice, budget_s, seed, cores, memory_gb=memory_gb, raise_errors=False
            )
            check_result(again, budget_s)
            same_trials(res.trials, again.trials)
            res.second_trials = again.trials
        log.info(
            "%s keeps the contract on %r: fit %.2f s, %d trials, valid %s %.4g, test %.4g",
            res.adapter_name,
            res.task.name,
            res.fit_s,
            len(res.trials),
            res.task.metric,
            res.valid_score,
            res.test_score,
        )
        results.append(res)
    if all(r.skipped is not None for r in results):
        reasons = "; ".join(f"{r.task.name}: {r.skipped}" for r in results)
        raise AssertionError(
            f"{results[0].adapter_name} skipped every task ({reasons}): check_task raised TaskNotSupported "
            "each time; at least one task must run (pass task= a task the adapter supports)"
        )
    return results


def run_contract(
    adapter_factory: AdapterFactory,
    task_name: TaskChoice,
    budget_s: float,
    seed: int = 0,
    check_seed: bool = True,
    cores: int = 1,
) -> ContractResult:
    """Run the adapter through the contract on one task (twice when ``check_seed``); a skip fails."""
    res = run_adapter(adapter_factory, task_name, budget_s, seed, cores)
    check_result(res, budget_s)
    if check_seed:
        again = run_adapter(adapter_factory, task_name, budget_s, seed, cores)
        check_result(again, budget_s)
        same_trials(res.trials, again.trials)
        res.second_trials = again.trials
    return res


def check_protocol(factory: AdapterFactory) -> None:
    """What the registry refuses, and ``requires`` naming modules that cannot be found."""
    adapter = factory()
    name = type(adapter).__name__
    if not isinstance(adapter, Adapter):
        raise AssertionError(f"{name} is not an adapter: subclass adapters.base.Adapter")
    cls = type(adapter)
    if cls.fit is Adapter.fit or cls.predict is Adapter.predict:
        raise AssertionError(f"{name} does not override fit and predict; the harness refuses it")
    missing = cls.missing()
    if missing:
        raise AssertionError(
            f"{name}.requires names {', '.join(missing)}, which cannot be imported here: the harness "
            "would list the adapter as unavailable; install them, or list import names (not pip names)"
        )


def _factory(obj: type[Adapter] | Callable[[], Adapter]) -> AdapterFactory:
    if isinstance(obj, Adapter):
        raise TypeError("pass the adapter class or a factory, not an instance: every run needs a fresh one")
    if not callable(obj):
        raise TypeError(f"expected an adapter class or a factory, got {type(obj).__name__}")
    return obj


def _task_choices(task: TaskChoice | Iterable[TaskChoice] | None) -> list[TaskChoice]:
    if task is None:
        return list(GENERATED)
    if isinstance(task, str | TaskInfo):
        return [task]
    choices = list(task)
    if not choices:
        raise ValueError("task= is an empty list: name at least one task")
    return choices
