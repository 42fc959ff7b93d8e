"""The parent/child exchange: what the harness hands a sandboxed run and what comes back.

This module owns the contract between the parent (:mod:`harness.execution.sandbox`, the Dask
executor and worker, :mod:`harness.prepare`) and the child (:mod:`harness.execution.child`): the
file names in a run directory and in a prepared data directory, the progress events, the job
(``SandboxJob``, written as ``job.json``) and the result (``SandboxResult``). Every file name and
event name is spelled here once; both sides write and read through these functions.

A run directory holds::

    job.json        the SandboxJob (parent -> child)
    events.jsonl    progress events as they happen (child -> parent): started, fit_start, ...
    trials.jsonl    one Trial per line, appended as each ends (survives a kill)
    result.json     the child's outcome, written atomically at the very end
    y_pred.npy      test predictions; proba.npy class probabilities (classification)
    work/           the adapter's scratch directory (FitContext.workdir)

A prepared data directory holds train and valid with labels and the test features without
labels (``DATA_FILES``); the test labels never leave the parent.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adapters.base import FitData, TaskInfo, Trial

# --- file names -----------------------------------------------------------------------------
JOB_FILE = "job.json"
EVENTS_FILE = "events.jsonl"
TRIALS_FILE = "trials.jsonl"
RESULT_FILE = "result.json"
Y_PRED_FILE = "y_pred.npy"
PROBA_FILE = "proba.npy"
WORK_DIR = "work"
X_FILE = "X_{part}.parquet"  # part: train, valid, test
Y_FILE = "y_{part}.npy"  # part: train, valid (never test)
DATA_FILES = (
    X_FILE.format(part="train"),
    X_FILE.format(part="valid"),
    X_FILE.format(part="test"),
    Y_FILE.format(part="train"),
    Y_FILE.format(part="valid"),
)

# --- events, in the order a run emits them ----------------------------------------------------
STARTED = "started"  # the child is up (pid)
FIT_START = "fit_start"  # start-up done: the budget starts now (startup_s, cpu)
FIT_END = "fit_end"  # fit returned (fit_s, cpu)
PREDICT_END = "predict_end"  # predictions made (predict_s)
CPU = "cpu"  # a field of FIT_START and FIT_END: the child's CPU counters (harness.execution.cpu_use.reading)


@dataclass(frozen=True)
class SandboxJob:
    """What the child needs to run one job; written to ``job.json``."""

    adapter: str
    task: TaskInfo
    data_dir: str  # holds DATA_FILES
    budget_s: float
    seed: int
    cores: int
    memory_gb: float
    core_ids: tuple[int, ...] = ()
    startup_limit_s: float = 300.0
    predict_limit_s: float | None = None  # default max(120 s, budget)
    isolate: bool = False  # run the child inside bubblewrap (harness.execution.isolate)
    hide: tuple[str, ...] = ()  # with isolate: data caches and the user's data files the child must not see


@dataclass
class SandboxResult:
    """The outcome of one sandboxed run, whatever happened (never an exception)."""

    status: str  # harness.store.STATUSES, or "aborted" (interrupted: runs again on resume, never stored)
    reason: str | None = None
    startup_s: float | None = None
    fit_s: float | None = None
    predict_s: float | None = None
    cpu_s: float | None = None
    peak_mem_mb: float | None = None
    fit_cpu_s: float | None = None  # core-seconds of the whole tree during fit (harness.execution.cpu_use)
    cpu_use: float | None = None  # fit_cpu_s / (cores x fit_s)
    cpu_method: str | None = None  # "cgroup" or "psutil-sampled"
    energy_j: float | None = None  # the machine's processors during fit (RAPL); None without a meter
    y_pred: np.ndarray | None = None
    proba: np.ndarray | None = None
    best_config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    killed: int = 0
    forked: bool = False  # the child was forked by a fork server (else spawned)


# --- the task ---------------------------------------------------------------------------------
def task_to_dict(task: TaskInfo) -> dict[str, Any]:
    """``TaskInfo`` as JSON-able values (classes and image shape as lists)."""
    return {
        "name": task.name,
        "problem_type": task.problem_type,
        "metric": task.metric,
        "classes": list(task.classes),
        "image_shape": list(task.image_shape) if task.image_shape else None,
    }


def task_from_dict(d: dict[str, Any]) -> TaskInfo:
    shape = d.get("image_shape")
    return TaskInfo(
        name=d["name"],
        problem_type=d["problem_type"],
        metric=d["metric"],
        classes=tuple(d.get("classes") or ()),
        image_shape=(int(shape[0]), int(shape[1]), int(shape[2])) if shape else None,
    )


# --- the job ----------------------------------------------------------------------------------
def job_to_dict(job: SandboxJob) -> dict[str, Any]:
    d = {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}
    d["task"] = task_to_dict(job.task)
    d["core_ids"] = list(job.core_ids)
    return d


def job_from_dict(d: dict[str, Any]) -> SandboxJob:
    return SandboxJob(
        **{
            **d,
            "task": task_from_dict(d["task"]),
            "core_ids": tuple(d.get("core_ids") or ()),
            "hide": tuple(d.get("hide") or ()),
        }
    )


def write_job(run_dir: Path, job: SandboxJob) -> None:
    (run_dir / JOB_FILE).write_text(json.dumps(job_to_dict(job)), encoding="utf-8")


def read_job(run_dir: Path) -> SandboxJob:
    return job_from_dict(json.loads((run_dir / JOB_FILE).read_text(encoding="utf-8")))


# --- the data ---------------------------------------------------------------------------------
def write_data(
    data_dir: Path,
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    X_test: pd.DataFrame,
) -> None:
    """Write what a child may see, read-only: train and valid with labels, test features only."""
    for part, X, y in (("train", X_train, y_train), ("valid", X_valid, y_valid), ("test", X_test, None)):
        X.reset_index(drop=True).to_parquet(data_dir / X_FILE.format(part=part))
        if y is not None:
            np.save(data_dir / Y_FILE.format(part=part), np.asarray(y), allow_pickle=False)
    for name in DATA_FILES:
        (data_dir / name).chmod(0o444)


def read_data(data_dir: Path, task: TaskInfo) -> tuple[FitData, pd.DataFrame]:
    """The adapter's ``FitData`` and the test features, as :func:`write_data` wrote them."""

    def y(part: str) -> np.ndarray:
        return np.load(data_dir / Y_FILE.format(part=part), allow_pickle=False)

    data = FitData(
        X_train=pd.read_parquet(data_dir / X_FILE.format(part="train")),
        y_train=y("train"),
        X_valid=pd.read_parquet(data_dir / X_FILE.format(part="valid")),
        y_valid=y("valid"),
        task=task,
    )
    return data, pd.read_parquet(data_dir / X_FILE.format(part="test"))


def read_data_files(data_dir: Path) -> dict[str, bytes]:
    """The prepared files' bytes by name (what a Dask worker caches)."""
    return {name: (data_dir / name).read_bytes() for name in DATA_FILES if (data_dir / name).exists()}


# --- events -----------------------------------------------------------------------------------
def emit(run_dir: Path, event: str, **fields: Any) -> None:
    """Append one progress event (with the wall-clock time) for the parent to see at once."""
    with open(run_dir / EVENTS_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")
        fh.flush()


class EventReader:
    """Reads a run's events incrementally; ``seen`` maps each event name to its first occurrence."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / EVENTS_FILE
        self.offset = 0
        self.seen: dict[str, dict[str, Any]] = {}

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        self.offset += end + 1
        for line in chunk[: end + 1].splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and "event" in ev:
                self.seen.setdefault(ev["event"], ev)

    def phase(self) -> str:
        """The phase the run was in at its last event."""
        for ev, name in ((PREDICT_END, "clean-up"), (FIT_END, "predict"), (FIT_START, "fit")):
            if ev in self.seen:
                return name
        return "start-up"


# --- trials -----------------------------------------------------------------------------------
class TrialWriter:
    """Appends each trial as a JSON line the moment it is logged, so trials survive a kill."""

    def __init__(self, run_dir: Path) -> None:
        self._fh = open(run_dir / TRIALS_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, trial: Trial) -> None:
        self._fh.write(json.dumps(dataclasses.asdict(trial), default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_trials(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / TRIALS_FILE
    trials: list[dict[str, Any]] = []
    if not path.exists():
        return trials
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            t = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if isinstance(t, dict) and isinstance(t.get("config", {}), dict):
            trials.append(t)
    return trials


# --- the child's result -------------------------------------------------------------------------
def write_result(run_dir: Path, result: dict[str, Any]) -> None:
    """The child's last word, written atomically: a reader sees all of it or nothing."""
    path = run_dir / RESULT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_result(run_dir: Path) -> dict[str, Any]:
    """The child's result, or ``{}`` when it wrote none (killed, crashed) or an unreadable one."""
    try:
        out = json.loads((run_dir / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def write_predictions(run_dir: Path, y_pred: Any, proba: Any | None) -> None:
    np.save(run_dir / Y_PRED_FILE, _numeric(y_pred), allow_pickle=False)
    if proba is not None:
        np.save(run_dir / PROBA_FILE, np.asarray(proba, dtype=float), allow_pickle=False)


def read_predictions(run_dir: Path) -> tuple[np.ndarray, np.ndarray | None]:
    y_pred = np.load(run_dir / Y_PRED_FILE, allow_pickle=False)
    proba_path = run_dir / PROBA_FILE
    return y_pred, (np.load(proba_path, allow_pickle=False) if proba_path.exists() else None)


def _numeric(a: Any) -> np.ndarray:
    """Predictions as a numeric array (never object dtype, which would need pickling)."""
    arr = np.asarray(a)
    return arr.astype(float) if arr.dtype == object else arr


# --- a result as plain data (a Dask worker -> the driver) ----------------------------------------
_ARRAYS = ("y_pred", "proba")


def result_to_payload(res: SandboxResult) -> dict[str, Any]:
    """JSON-able values and ``.npy`` bytes, never pickled objects."""
    out: dict[str, Any] = {f.name: getattr(res, f.name) for f in dataclasses.fields(res)}
    for name in _ARRAYS:
        if out[name] is not None:
            buf = io.BytesIO()
            np.save(buf, out[name], allow_pickle=False)
            out[name] = buf.getvalue()
    return out


def result_from_payload(p: dict[str, Any]) -> SandboxResult:
    known = {f.name for f in dataclasses.fields(SandboxResult)}
    kwargs = {k: v for k, v in p.items() if k in known and k not in _ARRAYS}
    kwargs["status"] = kwargs.get("status") or "failed"
    res = SandboxResult(**kwargs)
    res.best_config = res.best_config or {}
    res.versions = res.versions or {}
    res.trials = res.trials or []
    res.killed = int(res.killed or 0)
    res.forked = bool(res.forked)
    for name in _ARRAYS:
        blob = p.get(name)
        if blob is not None:
            setattr(res, name, np.load(io.BytesIO(blob), allow_pickle=False))
    return res
