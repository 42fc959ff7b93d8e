"""The task registry: built-in tasks, ``openml:ID`` and ``csv:PATH`` tasks, and named suites.

A task is a name, a source to load it from, a target, a problem type, a primary metric with its
secondary metrics, and (in :mod:`tasks.splits`) a split policy that is the same for every adapter.
Nothing here loads data: :func:`get_task` only resolves a name into a :class:`TaskSpec`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from tasks.metrics import DEFAULT_METRIC, check_metric, metrics_for


@dataclass(frozen=True)
class TaskSpec:
    """What a task is, known without loading it.

    ``problem_type`` None means: infer it from the target at load time (``csv:`` and ``openml:``).
    ``n_rows`` and ``n_cols`` (feature columns before cleaning, without the target and ``drop``)
    are set where known without loading. ``target`` None means the OpenML default target.
    """

    name: str
    source: str  # "sklearn:breast_cancer", "openml:40945", "csv:/abs/path.csv"
    problem_type: str | None
    metric: str | None
    metrics: tuple[str, ...]
    target: str | None
    n_rows: int | None
    n_cols: int | None
    image_shape: tuple[int, int, int] | None
    drop: tuple[str, ...] = ()
    description: str = ""

    @property
    def openml_id(self) -> int | None:
        return int(self.source.split(":", 1)[1]) if self.source.startswith("openml:") else None


def _builtin(
    name: str,
    source: str,
    problem_type: str,
    target: str,
    shape: tuple[int, int],
    description: str,
    image_shape: tuple[int, int, int] | None = None,
    drop: tuple[str, ...] = (),
) -> TaskSpec:
    return TaskSpec(
        name=name,
        source=source,
        problem_type=problem_type,
        metric=DEFAULT_METRIC[problem_type],
        metrics=tuple(metrics_for(problem_type)),
        target=target,
        n_rows=shape[0],
        n_cols=shape[1],
        image_shape=image_shape,
        drop=drop,
        description=description,
    )


_BUILTINS: tuple[TaskSpec, ...] = (
    _builtin(
        "titanic",
        "openml:40945",
        "binary",
        "survived",
        (1309, 11),
        "Titanic passengers (OpenML 40945): who survived; boat and body leak the label and are dropped",
        drop=("boat", "body"),
    ),
    _builtin(
        "breast_cancer",
        "sklearn:breast_cancer",
        "binary",
        "target",
        (569, 30),
        "Wisconsin breast cancer (scikit-learn): malignant or benign",
    ),
    _builtin("wine", "sklearn:wine", "multiclass", "target", (178, 13), "Wine cultivars (scikit-learn)"),
    _builtin(
        "digits",
        "sklearn:digits",
        "multiclass",
        "target",
        (1797, 64),
        "Handwritten digits, 8x8 pixels (scikit-learn)",
        image_shape=(8, 8, 1),
    ),
    _builtin(
        "diabetes",
        "sklearn:diabetes",
        "regression",
        "target",
        (442, 10),
        "Diabetes progression after one year (scikit-learn)",
    ),
    _builtin("boston", "openml:531", "regression", "MEDV", (506, 13), "Boston house prices (OpenML 531)"),
    _builtin(
        "mnist",
        "openml:554",
        "multiclass",
        "class",
        (70000, 784),
        "MNIST handwritten digits, 28x28 pixels (OpenML 554)",
        image_shape=(28, 28, 1),
    ),
    _builtin(
        "cifar10",
        "openml:40927",
        "multiclass",
        "class",
        (60000, 3072),
        "CIFAR-10 tiny images, 32x32 RGB (OpenML 40927)",
        image_shape=(32, 32, 3),
    ),
    _builtin(
        "california",
        "openml:537",
        "regression",
        "median_house_value",
        (20640, 8),
        "California housing, 1990 census (OpenML 537)",
    ),
)
BUILTINS: dict[str, TaskSpec] = {t.name: t for t in _BUILTINS}

SUITES: dict[str, tuple[str, ...]] = {
    "smoke": ("breast_cancer", "wine", "diabetes"),
    "tabular": ("titanic", "breast_cancer", "wine", "diabetes", "boston", "california"),
    "vision": ("digits", "mnist", "cifar10"),
}


def list_tasks() -> list[TaskSpec]:
    """The built-in tasks."""
    return list(_BUILTINS)


def _generic(name: str, source: str, target: str | None, description: str) -> TaskSpec:
    return TaskSpec(name, source, None, None, (), target, None, None, None, (), description)


def get_task(name: str, target: str | None = None) -> TaskSpec:
    """Resolve a task name (``titanic``, ``openml:31``, ``csv:/p.csv``); ``HarnessError`` otherwise."""
    name = name.strip()
    target = target.strip() if target else None
    if name.lower() in BUILTINS:
        spec = BUILTINS[name.lower()]
        if target is not None and target != spec.target:
            raise HarnessError(
                f"task {name} has the fixed target {spec.target!r}, not {target!r}; "
                "--target is for csv:PATH and openml:ID tasks"
            )
        return spec
    kind, sep, rest = name.partition(":")
    if sep and kind == "openml":
        if not rest.strip().isdigit() or int(rest) <= 0:
            raise HarnessError(f"{name!r} is not an OpenML id; write openml:ID with a positive integer ID")
        did = int(rest)
        return _generic(f"openml:{did}", f"openml:{did}", target, f"OpenML data set {did}")
    if sep and kind == "csv":
        return _csv_task(name, rest, target)
    if sep and kind == "suite":
        raise HarnessError(f"{name} is a suite, not a task; expand it with tasks.registry.expand first")
    choices = [*BUILTINS, *(f"suite:{s}" for s in SUITES)]
    close = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise HarnessError(
        f"unknown task {name!r}; {hint}built-in tasks: {', '.join(BUILTINS)}; "
        "or use openml:ID, csv:PATH with --target COL, or suite:NAME"
    )


def _csv_task(name: str, raw: str, target: str | None) -> TaskSpec:
    if not raw.strip():
        raise HarnessError("csv: needs a path; write csv:PATH --target COL")
    path = Path(raw).expanduser()
    if not path.exists():
        raise HarnessError(f"data file {raw} does not exist; check the path after csv:")
    if not path.is_file():
        raise HarnessError(f"data file {raw} is not a file; csv:PATH takes a .csv or .parquet file")
    if target is None:
        raise HarnessError(f"task {name} needs the target column: add --target COL")
    return _generic(name, f"csv:{path.resolve()}", target, f"user data {path.name}, target {target}")


def validate_metric(spec: TaskSpec, problem_type: str) -> str:
    """The primary metric of ``spec`` once its problem type is known."""
    metric = spec.metric or DEFAULT_METRIC[problem_type]
    check_metric(metric, problem_type)
    return metric


def expand(names: list[str]) -> list[str]:
    """Replace each ``suite:NAME`` by its tasks; keep the others; drop repeats, keeping order."""
    out: list[str] = []
    for name in names:
        name = name.strip()
        if name.startswith("suite:"):
            suite = name.split(":", 1)[1]
            if suite not in SUITES:
                close = difflib.get_close_matches(suite, list(SUITES), n=1, cutoff=0.5)
                hint = f"did you mean suite:{close[0]}? " if close else ""
                raise HarnessError(
                    f"unknown suite {name!r}; {hint}suites: {', '.join('suite:' + s for s in SUITES)}"
                )
            members = SUITES[suite]
        else:
            members = (name,)
        for m in members:
            if m not in out:
                out.append(m)
    return out
