"""OpenML tasks and benchmark suites through the verified cache: ``openml-task:ID``, ``suite:openml:ID``.

An OpenML task is a data set, a target and an estimation procedure with its official splits. Loading
one fetches the task's JSON description, its split file (OpenML's ``datasplits.arff``: type TRAIN
or TEST, rowid, repeat, fold and, for some tasks, sample) and the data set (through
:func:`tasks.openml.load_openml`). Of the splits, repeat 0 and sample 0 are used: each row's TEST fold
becomes its fold id (-1 for a row never tested), and the task runs as protocol ``openml-cvK``.

A suite (``/api/v1/json/study/ID``) resolves to its task ids. Both are stored in the data cache like
the data sets (:mod:`tasks.cache`: Parquet plus a manifest, sha256-checked before every use): the
task as ``openml-task-ID`` (the fold of each row; the description in the manifest), the suite as
``openml-study-ID`` (its task ids). A cached suite is not refreshed, so a benchmark keeps its task
list; delete ``openml-study-ID.*`` to fetch the current one.

The official ``openml`` client is not used: it reads the XML API, keeps pickles in its cache and
loads them back, checks no checksum when it reads its cache, and has no offline mode (without
network it retries for seconds, then raises a connection error).
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from tasks import cache
from tasks.lite import METRIC
from tasks.metrics import metrics_for
from tasks.openml import OFFLINE_ENV, Offline, api_url, load_openml, offline_forced, read_json, stream_gz
from tasks.spec import TaskSpec

log = logging.getLogger(__name__)

CLASSIFICATION_TYPE = "1"  # OpenML's task type ids: supervised classification and regression
REGRESSION_TYPE = "2"
SPLIT_COLUMNS = ("type", "rowid", "repeat", "fold")
CHUNK_ROWS = 1 << 20  # split files of large data sets have tens of millions of lines
_ATTRIBUTE = re.compile(r"^@attribute\s+('[^']*'|\"[^\"]*\"|\S+)", re.IGNORECASE)


def task_page(tid: int) -> str:
    return f"https://www.openml.org/t/{tid}"


def study_page(sid: int) -> str:
    return f"https://www.openml.org/s/{sid}"


@dataclass(frozen=True)
class OpenMLTask:
    """A task's description and its official folds (``fold_of_row``: one entry per data set row)."""

    task_id: int
    data_set_id: int
    target: str
    regression: bool
    n_folds: int
    fold_of_row: np.ndarray

    @property
    def protocol(self) -> str:
        return f"openml-cv{self.n_folds}"


# --- suites ---


def study_task_ids(sid: int, data_dir: Path | None = None) -> tuple[int, ...]:
    """The task ids of OpenML suite ``sid``: from the cache, else from OpenML (then cached)."""
    data_dir = Path(data_dir) if data_dir is not None else cache.default_data_dir()
    key = f"openml-study-{sid}"
    cached = cache.read(data_dir, key)
    if cached is not None:
        return tuple(int(t) for t in cached[0]["task_id"])
    try:
        if offline_forced():
            raise Offline(f"{OFFLINE_ENV} is set")
        doc = read_json(api_url(f"study/{sid}"), f"suite {sid}", study_page(sid))
    except Offline as exc:
        raise HarnessError(
            f"OpenML suite {sid} is not in the cache {data_dir} and OpenML cannot be reached ({exc}); "
            f"run once with network to fetch its task list ({study_page(sid)}), or point --data-dir / "
            f"HARNESS_DATA_DIR at a cache that has {key}.parquet and {key}.json"
        ) from None
    study = doc.get("study") or {}
    if str(study.get("main_entity_type", "task")) != "task":
        raise HarnessError(
            f"OpenML study {sid} is a study of {study.get('main_entity_type')}s, not a benchmark suite of "
            f"tasks; give the id of a suite ({study_page(sid)})"
        )
    ids = _ints((study.get("tasks") or {}).get("task_id"))
    if not ids:
        raise HarnessError(f"OpenML suite {sid} lists no tasks; check the id at {study_page(sid)}")
    meta = {"source": "openml-study", "study_id": sid, "alias": study.get("alias"), "name": study.get("name")}
    cache.write(data_dir, key, pd.DataFrame({"task_id": np.asarray(ids, dtype=np.int64)}), meta)
    log.debug("fetched OpenML suite %s (%s tasks) into %s", sid, len(ids), data_dir)
    return ids


def _ints(value: Any) -> tuple[int, ...]:
    """Ids from OpenML's JSON: a list of numbers as strings, or one alone (XML turned into JSON)."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    try:
        return tuple(dict.fromkeys(int(str(v)) for v in items))
    except ValueError:
        raise HarnessError(
            f"OpenML sent task ids that are not numbers ({items[:3]}); try again later"
        ) from None


# --- tasks ---


def load_task_data(
    tid: int, data_dir: Path, spec: TaskSpec
) -> tuple[pd.DataFrame, OpenMLTask, TaskSpec, list[str]]:
    """The raw frame of task ``tid``'s data set, the task, ``spec`` with its problem type and metric, notes."""
    task, notes = load_task(tid, data_dir)
    frame, _, data_notes = load_openml(task.data_set_id, data_dir)
    notes += data_notes
    if len(frame) != len(task.fold_of_row):
        raise HarnessError(
            f"the splits of OpenML task {tid} cover {len(task.fold_of_row)} rows but its data set "
            f"{task.data_set_id} has {len(frame)}; delete openml-task-{tid}.* and openml-{task.data_set_id}.* "
            f"in {data_dir} and run again with network"
        )
    if spec.target is not None and spec.target != task.target:
        raise HarnessError(
            f"task {spec.name} should have the target {spec.target!r} but OpenML task {tid} has "
            f"{task.target!r}; the suite's table is out of date: report it"
        )
    problem_type = _problem_type(task, frame)
    if problem_type is not None:
        if spec.problem_type not in (None, problem_type):
            raise HarnessError(
                f"task {spec.name} should be {spec.problem_type} but OpenML task {tid} is {problem_type}; "
                "the suite's table is out of date: report it"
            )
        spec = dataclasses.replace(
            spec,
            problem_type=problem_type,
            metric=spec.metric or METRIC[problem_type],  # AMLB's metric unless the user chose one
            metrics=tuple(metrics_for(problem_type)),
        )
    return frame, task, spec, notes


def _problem_type(task: OpenMLTask, frame: pd.DataFrame) -> str | None:
    """Regression, or binary or multiclass by the classes present; None when the target is missing."""
    if task.regression:
        return "regression"
    if task.target not in frame.columns:
        return None  # cleaning names the missing column
    return "binary" if frame[task.target].dropna().nunique() == 2 else "multiclass"


def load_task(tid: int, data_dir: Path) -> tuple[OpenMLTask, list[str]]:
    """Task ``tid`` from the verified cache, else downloaded (description and splits) and cached."""
    key = f"openml-task-{tid}"
    cached = cache.read(data_dir, key)
    if cached is not None:
        return _from_cache(tid, key, data_dir, *cached), []
    try:
        if offline_forced():
            raise Offline(f"{OFFLINE_ENV} is set")
        task, meta = _download(tid, data_dir)
    except Offline as exc:
        raise HarnessError(
            f"OpenML task {tid} is not in the cache {data_dir} and OpenML cannot be reached ({exc}); "
            f"run once with network to download {task_page(tid)} (description, splits, data set) into that "
            f"directory, or point --data-dir / HARNESS_DATA_DIR at a cache that has {key}.parquet and {key}.json"
        ) from None
    cache.write(data_dir, key, pd.DataFrame({"fold": task.fold_of_row.astype(np.int32)}), meta)
    note = f"downloaded OpenML task {tid} (data set {task.data_set_id}, {task.n_folds} folds) into {data_dir}"
    log.debug(note)
    return task, [note]


def _from_cache(tid: int, key: str, data_dir: Path, frame: pd.DataFrame, meta: dict[str, Any]) -> OpenMLTask:
    try:
        return OpenMLTask(
            task_id=tid,
            data_set_id=int(meta["data_set_id"]),
            target=str(meta["target"]),
            regression=bool(meta["regression"]),
            n_folds=int(meta["n_folds"]),
            fold_of_row=frame["fold"].to_numpy(dtype=np.int64),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HarnessError(
            f"cache entry {data_dir / key}.json is not an OpenML task ({exc!r}): delete {key}.* and run "
            "again with network"
        ) from None


def _download(tid: int, data_dir: Path) -> tuple[OpenMLTask, dict[str, Any]]:
    what = f"task {tid}"
    desc = read_json(api_url(f"task/{tid}"), what, task_page(tid)).get("task") or {}
    type_id = str(desc.get("task_type_id", ""))
    if type_id not in (CLASSIFICATION_TYPE, REGRESSION_TYPE):
        raise HarnessError(
            f"OpenML task {tid} is a {desc.get('task_type') or 'task of unknown type'} task; only supervised "
            f"classification and regression tasks can run (see {task_page(tid)})"
        )
    inputs = _inputs(desc)
    source = inputs.get("source_data", {}).get("data_set", {}) or {}
    procedure = inputs.get("estimation_procedure", {}).get("estimation_procedure", {}) or {}
    params = {
        str(p.get("name")): p.get("value") for p in _list(procedure.get("parameter")) if isinstance(p, dict)
    }
    target = str(source.get("target_feature") or "")
    if not target or "," in target:
        raise HarnessError(f"OpenML task {tid} has no single target feature; it cannot run here")
    if str(procedure.get("type", "")).lower() != "crossvalidation":
        raise HarnessError(
            f"OpenML task {tid} is evaluated by {procedure.get('type')!r}, not k-fold cross-validation, "
            f"which is what runs here; use its data set as openml:{source.get('data_set_id')} instead"
        )
    try:
        did = int(str(source.get("data_set_id")))
        n_folds = int(str(params.get("number_folds")))
    except ValueError:
        raise HarnessError(f"OpenML's description of task {tid} lacks its data set or fold count") from None
    url = str(procedure.get("data_splits_url") or "")
    if not url:
        raise HarnessError(f"OpenML task {tid} has no split file; it cannot run with official folds")
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".openml-task-{tid}-", dir=data_dir))
    try:
        path = tmp / "datasplits.arff.gz"
        md5 = stream_gz(url, path, f"the split file of task {tid}")
        folds = read_splits(path, f"the split file of OpenML task {tid}", n_folds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    task = OpenMLTask(tid, did, target, type_id == REGRESSION_TYPE, n_folds, folds)
    meta = {
        "source": "openml-task",
        "task_id": tid,
        "name": desc.get("task_name"),
        "task_type": desc.get("task_type"),
        "data_set_id": did,
        "target": target,
        "regression": task.regression,
        "estimation_procedure": procedure.get("type"),
        "n_folds": n_folds,
        "n_repeats": params.get("number_repeats"),
        "splits_url": url,
        "splits_md5": md5,
        "url": task_page(tid),
    }
    return task, meta


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _inputs(desc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The task's inputs by name (``source_data``, ``estimation_procedure``, ...)."""
    return {str(i.get("name")): i for i in _list(desc.get("input")) if isinstance(i, dict)}


def read_splits(path: Path, source: str, n_folds: int) -> np.ndarray:
    """Each row's TEST fold in repeat 0 (sample 0) of an OpenML split file; -1 for rows never tested.

    Read in chunks of :data:`CHUNK_ROWS` lines, keeping only what that needs, so that the split files
    of large data sets (repeats x folds x rows lines) fit in memory.
    """
    test_rows: list[np.ndarray] = []
    test_folds: list[np.ndarray] = []
    n_rows = 0
    with gzip.open(path, "rt", encoding="utf-8") as text:
        names = _split_header(text, source)
        use = [c for c in (*SPLIT_COLUMNS, "sample") if c in names]
        try:
            chunks = pd.read_csv(
                text,
                header=None,
                names=names,
                usecols=use,
                comment="%",
                skipinitialspace=True,
                dtype={"type": "str"},
                chunksize=CHUNK_ROWS,
            )
            for chunk in chunks:
                keep = chunk["repeat"].to_numpy() == 0
                if "sample" in use:  # learning-curve tasks list each fold's test rows once per sample
                    keep &= chunk["sample"].to_numpy() == 0
                chunk = chunk[keep]
                rowid = chunk["rowid"].to_numpy(dtype=np.int64)
                n_rows = max(n_rows, int(rowid.max()) + 1 if len(rowid) else 0)
                test = chunk["type"].str.strip("'\" ").str.upper().to_numpy() == "TEST"
                test_rows.append(rowid[test])
                test_folds.append(chunk["fold"].to_numpy(dtype=np.int64)[test])
        except (ValueError, pd.errors.ParserError) as exc:
            raise HarnessError(f"{source} cannot be read ({str(exc).splitlines()[0]}); run again") from None
    rows = np.concatenate(test_rows) if test_rows else np.zeros(0, dtype=np.int64)
    folds = np.concatenate(test_folds) if test_folds else np.zeros(0, dtype=np.int64)
    if len(rows) and rows.min() < 0:
        raise HarnessError(f"{source} has negative row ids; it cannot be used")
    if len(np.unique(rows)) != len(rows):
        raise HarnessError(f"{source} puts a row into several test folds of repeat 0; it cannot be used")
    if sorted(set(folds.tolist())) != list(range(n_folds)):
        raise HarnessError(
            f"{source} does not have test rows in each of its {n_folds} folds; it cannot be used"
        )
    fold_of_row = np.full(n_rows, -1, dtype=np.int64)
    fold_of_row[rows] = folds
    return fold_of_row


def _split_header(text: Any, source: str) -> list[str]:
    """The attribute names of an ARFF header, read up to ``@data``; the split columns must be there."""
    names: list[str] = []
    for line in text:
        line = line.strip()
        if line.lower().startswith("@data"):
            missing = [c for c in SPLIT_COLUMNS if c not in names]
            if missing:
                raise HarnessError(f"{source} lacks the column(s) {', '.join(missing)}; it cannot be used")
            return names
        m = _ATTRIBUTE.match(line)
        if m:
            names.append(m.group(1).strip("'\"").lower())
    raise HarnessError(f"{source} is not an ARFF file (no @data line); run again")
