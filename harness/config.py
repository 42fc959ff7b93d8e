"""The frozen run configuration and the jobs it expands into."""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.fingerprint import Fingerprint

MAX_BUDGET_S = 7 * 24 * 3600.0
MIN_MEMORY_GB = 0.1  # a child's interpreter with numpy and pandas alone takes about this much
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class RunConfig:
    tasks: tuple[str, ...]
    budgets: tuple[float, ...]
    adapters: tuple[str, ...] | None = None  # None: every available built-in
    seeds: int = 1
    cores: int = 1
    parallel: int = 1
    memory_gb: float = 8.0
    out: Path = Path("results")
    data_dir: Path | None = None
    target: str | None = None
    fresh: bool = False
    executor: str = "local"  # local or dask
    scheduler: str | None = None  # tcp://HOST:PORT for an existing Dask cluster
    startup_limit_s: float = 300.0
    folds: int | None = None  # outer K-fold instead of seeded holdout splits
    metric: str | None = None  # the primary metric instead of each task's own
    test_file: Path | None = None  # csv: tasks: the user's own test rows
    test_column: str | None = None  # csv: tasks: the column that marks the test rows
    image_shape: tuple[int, int, int] | None = None  # csv: tasks: pixel columns as an image
    impute: str = "default"  # how the reports score failed runs across tasks: default, worst or drop
    isolate: bool = False  # run each child inside bubblewrap: no home, data cache, network or other files
    wait_for_cores_s: float | None = None  # how long a job may wait for free cores (None: no limit)

    def __post_init__(self) -> None:
        for b in self.budgets:
            check_budget(b)
        if not self.tasks:
            raise HarnessError("no task given: name one with --task (see `python -m harness list`)")
        machine = os.cpu_count() or 1
        if self.scheduler is None and self.cores > machine:
            raise HarnessError(
                f"--cores {self.cores} is more than this machine has ({machine} cores); lower it"
            )
        if self.scheduler is None and self.cores * self.parallel > machine:
            raise HarnessError(
                f"--cores {self.cores} x --parallel {self.parallel} needs {self.cores * self.parallel} cores "
                f"but this machine has {machine}; lower one of them"
            )
        check_memory_gb(self.memory_gb)
        if self.folds is not None and self.seeds != 1:
            raise HarnessError(
                "--folds and --seeds both set how often each adapter runs on a task; give one of them "
                "(--folds K runs each fold once)"
            )
        if self.folds is not None and self.folds < 2:
            raise HarnessError(f"--folds must be at least 2, got {self.folds}")
        w = self.wait_for_cores_s
        if w is not None and (not math.isfinite(w) or w <= 0):
            raise HarnessError(f"--wait-for-cores must be a positive number of seconds, got {w!r}; e.g. 600")
        if self.impute not in ("default", "worst", "drop"):
            raise HarnessError(f"--impute must be default, worst or drop, got {self.impute!r}")
        if self.executor not in EXECUTORS:
            raise HarnessError(f"--executor must be local or dask, got {self.executor!r}")

    @property
    def repetitions(self) -> int:
        """How often each adapter runs on a task: once per seed, or once per fold."""
        return self.folds or self.seeds


@dataclass(frozen=True)
class Job:
    task: str
    adapter: str
    seed: int
    budget_s: float
    cores: int
    memory_gb: float
    data_fingerprint: str
    protocol: str = "holdout"  # tasks.splits: holdout, cvK, openml-cvK, given-test
    metric: str | None = None  # set when the user chose the primary metric (--metric)
    # what the job runs on (data, split, settings, adapter versions); not part of the key, so that a
    # store written before fingerprints existed keeps resuming
    fingerprint: Fingerprint | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """Identifies a job with the same configuration across runs of the harness (for resume)."""
        parts: list[object] = [
            self.task,
            self.adapter,
            self.seed,
            self.budget_s,
            self.cores,
            self.memory_gb,
            self.data_fingerprint,
        ]
        # only what differs from a holdout job with the task's own metric, so stored keys stay valid
        if self.protocol != "holdout":
            parts.append(f"protocol={self.protocol}")
        if self.metric is not None:
            parts.append(f"metric={self.metric}")
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]

    @property
    def is_fold(self) -> bool:
        """Whether ``seed`` numbers a test fold (``cvK``, ``openml-cvK``) rather than a seed."""
        return "cv" in self.protocol

    def label(self) -> str:
        rep = f"fold {self.seed}" if self.is_fold else f"seed {self.seed}"
        return f"{self.task}/{self.adapter} {rep} budget {self.budget_s:g}s"


Text = str | Sequence[str]  # a comma-separated value as given on the command line, or its items


def make_config(
    *,
    task: Text,
    budget: str | float | Sequence[float],
    adapters: Text | None = None,
    seeds: str | int = 1,
    cores: str | int = 1,
    parallel: str | int = 1,
    memory_gb: str | float = 8.0,
    out: str | Path = "results",
    data_dir: str | Path | None = None,
    target: str | None = None,
    fresh: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
    folds: str | int | None = None,
    metric: str | None = None,
    test_file: str | Path | None = None,
    test_column: str | None = None,
    image_shape: str | Sequence[int] | None = None,
    impute: str = "default",
    isolate: bool = False,
    wait_for_cores: str | float | None = None,
) -> RunConfig:
    """The checked :class:`RunConfig` of the command line's text or of Python values (``harness.run``).

    One path for both, so a bad value gets the same one-line error (named by its command-line flag).
    """
    try:
        memory = float(memory_gb)
    except (TypeError, ValueError):
        raise HarnessError(f"--memory-gb must be a number of gigabytes, got {memory_gb!r}") from None
    chosen = tuple(a.strip() for a in _items(adapters) if a.strip()) if adapters is not None else None
    if adapters is not None and not chosen:
        raise HarnessError("--adapters is empty; name at least one (see `python -m harness list`)")
    if executor == "local" and scheduler:
        raise HarnessError("--scheduler needs --executor dask")
    if isinstance(image_shape, Sequence) and not isinstance(image_shape, str):
        image_shape = ",".join(str(d) for d in image_shape)
    return RunConfig(
        tasks=parse_tasks(task) if isinstance(task, str) else tuple(str(t).strip() for t in task if t),
        budgets=parse_budgets(budget) if isinstance(budget, str) else _budgets(budget),
        adapters=chosen,
        seeds=parse_positive_int(seeds, "--seeds"),
        cores=parse_positive_int(cores, "--cores"),
        parallel=parse_positive_int(parallel, "--parallel"),
        memory_gb=memory,
        out=Path(out),
        data_dir=Path(data_dir) if data_dir else None,
        target=target,
        fresh=fresh,
        executor=executor,
        scheduler=scheduler,
        folds=parse_positive_int(folds, "--folds") if folds is not None else None,
        metric=metric.strip() if metric else None,
        test_file=Path(test_file) if test_file else None,
        test_column=test_column.strip() if test_column else None,
        image_shape=parse_image_shape(image_shape) if image_shape else None,
        impute=impute,
        isolate=isolate,
        wait_for_cores_s=parse_seconds(wait_for_cores, "--wait-for-cores"),
    )


def _items(value: Text) -> list[str]:
    return value.split(",") if isinstance(value, str) else [str(v) for v in value]


def _budgets(value: float | Sequence[float]) -> tuple[float, ...]:
    values = value if isinstance(value, Sequence) else [value]
    # numpy's numbers too; a bool is no number of seconds
    budgets = tuple(
        check_budget(float(b) if isinstance(b, numbers.Real) and not isinstance(b, bool) else b)
        for b in values
    )
    if not budgets:
        raise HarnessError("no budget given; e.g. --budget 60")
    return budgets


def parse_seconds(text: str | float | None, flag: str) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        raise HarnessError(f"{flag} must be a number of seconds, got {text!r}; e.g. {flag} 600") from None


def check_budget(b: float) -> float:
    if not isinstance(b, int | float) or math.isnan(b) or b <= 0:
        raise HarnessError(f"budget must be a positive number of seconds, got {b!r}; e.g. --budget 60")
    if math.isinf(b) or b > MAX_BUDGET_S:
        raise HarnessError(
            f"budget {b:g} s is more than a week per run ({MAX_BUDGET_S:g} s); give a smaller --budget"
        )
    return float(b)


def check_memory_gb(gb: float) -> float:
    """A finite memory limit of at least :data:`MIN_MEMORY_GB`; ``HarnessError`` otherwise."""
    if not isinstance(gb, int | float) or not math.isfinite(gb) or gb <= 0:
        raise HarnessError(f"--memory-gb must be a positive, finite number of gigabytes, got {gb!r}; e.g. 8")
    if gb < MIN_MEMORY_GB:
        raise HarnessError(
            f"--memory-gb {gb:g} is below the minimum of {MIN_MEMORY_GB:g} GB (a child's Python with numpy "
            f"and pandas needs about that to start); give at least --memory-gb {MIN_MEMORY_GB:g}"
        )
    return float(gb)


TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".gz", ".bz2", ".zip", ".xz", ".zst")


def parse_tasks(text: str) -> tuple[str, ...]:
    """``--task``: names separated by commas; a ``csv:`` path that a comma cut in two gets a hint."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    for i, part in enumerate(parts[:-1]):
        if not part.startswith("csv:") or Path(part[4:]).exists():
            continue
        rest = parts[i + 1]
        joined = ",".join(parts[i : i + 2])
        if Path(joined[4:]).exists() or (":" not in rest and rest.lower().endswith(TABLE_SUFFIXES)):
            raise HarnessError(
                f"data file {part[4:]} does not exist; commas separate tasks in --task, so {joined!r} was "
                f"read as the two tasks {part!r} and {rest!r}: give the file a name without a comma"
            )
    return tuple(parts)


def parse_budgets(text: str) -> tuple[float, ...]:
    out = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            value = float(part)
        except ValueError:
            raise HarnessError(
                f"budget {part!r} is not a number of seconds; give e.g. --budget 60 or --budget 30,60"
            ) from None
        out.append(check_budget(value))
    if not out:
        raise HarnessError("no budget given; e.g. --budget 60")
    return tuple(out)


def parse_image_shape(text: str) -> tuple[int, int, int]:
    """``H,W,C`` (or ``H,W`` for one channel) as three positive whole numbers."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        dims = []
    if len(dims) == 2:
        dims.append(1)
    if len(dims) != 3 or min(dims) <= 0:
        raise HarnessError(
            f"--image-shape takes height,width,channels as positive whole numbers, got {text!r}; "
            "e.g. --image-shape 28,28,1"
        )
    return dims[0], dims[1], dims[2]


def parse_positive_int(text: str | int, what: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise HarnessError(f"{what} must be a positive whole number, got {text!r}") from None
    if value <= 0:
        raise HarnessError(f"{what} must be a positive whole number, got {text!r}")
    return value
