"""Loading a task into a cleaned :class:`Dataset`: the one place the parent gets its data from.

Sources: scikit-learn's bundled data sets (``sklearn:NAME``), OpenML through the verified cache
(``openml:ID``, :mod:`tasks.openml`), and the user's CSV or Parquet file (``csv:PATH``). Whatever
the source, the frame goes through :func:`tasks.clean.clean`, and the result carries a sha256
fingerprint of the cleaned data that is the same in every process.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from tasks.cache import default_data_dir
from tasks.clean import clean
from tasks.files import read_table
from tasks.metrics import metrics_for
from tasks.openml import load_openml
from tasks.registry import TaskSpec, validate_metric

__all__ = ["Dataset", "default_data_dir", "fingerprint", "load_dataset"]


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

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def load_dataset(spec: TaskSpec, data_dir: Path | None = None) -> Dataset:
    """Load and clean ``spec``; ``data_dir`` defaults to :func:`default_data_dir`."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    kind, _, ref = spec.source.partition(":")
    class_names: tuple[str, ...] | None = None
    if kind == "sklearn":
        frame, class_names = _sklearn_frame(ref)
        target, notes, label = spec.target or "target", [], spec.name
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
    elif kind == "csv":
        path = Path(ref)
        frame, notes = read_table(path)
        target, label = spec.target, path.name
        if not target:
            raise HarnessError(f"task {spec.name} needs the target column: add --target COL")
    else:
        raise HarnessError(f"task {spec.name} has an unknown source {spec.source!r}")
    cleaned = clean(
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
    return Dataset(
        spec=spec,
        X=cleaned.X,
        y=cleaned.y,
        problem_type=cleaned.problem_type,
        metric=metric,
        metrics=spec.metrics or tuple(metrics_for(cleaned.problem_type)),
        classes=cleaned.classes,
        fingerprint=fingerprint(cleaned.X, cleaned.y, cleaned.classes, cleaned.problem_type),
        notes=tuple(notes) + cleaned.notes,
    )


def fingerprint(X: pd.DataFrame, y: np.ndarray, classes: tuple[str, ...], problem_type: str) -> str:
    """sha256 over the cleaned data: column names, dtypes, values, target, classes."""
    h = hashlib.sha256()
    header = {
        "columns": [str(c) for c in X.columns],
        "dtypes": [str(d) for d in X.dtypes],
        "shape": list(X.shape),
        "classes": list(classes),
        "problem_type": problem_type,
    }
    h.update(json.dumps(header, sort_keys=True).encode())
    if X.shape[1]:
        h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()


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
