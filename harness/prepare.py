"""Prepare the data a child may see: train and valid with labels, test features without labels."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tasks.loading import Dataset
from tasks.splits import Split, make_split


@dataclass(frozen=True)
class Prepared:
    """One (task, seed): the split, where the child's files are, and the test labels (parent only)."""

    dataset: Dataset
    seed: int
    split: Split
    data_dir: Path
    y_test: np.ndarray

    def task_info(self) -> dict[str, Any]:
        ds = self.dataset
        return {
            "name": ds.spec.name,
            "problem_type": ds.problem_type,
            "metric": ds.metric,
            "classes": list(ds.classes),
            "image_shape": list(ds.spec.image_shape) if ds.spec.image_shape else None,
        }

    @property
    def n_classes(self) -> int:
        return len(self.dataset.classes)


def prepare(dataset: Dataset, seed: int, root: Path | None = None) -> Prepared:
    """Split ``dataset`` for ``seed`` and write the child's files into a fresh directory under ``root``."""
    split = make_split(dataset, seed)
    data_dir = Path(
        tempfile.mkdtemp(prefix=f"harness-data-{dataset.spec.name.replace('/', '_')[:40]}-", dir=root)
    )
    X, y = dataset.X, dataset.y
    for name, idx in (("train", split.train), ("valid", split.valid)):
        X.iloc[idx].reset_index(drop=True).to_parquet(data_dir / f"X_{name}.parquet")
        np.save(data_dir / f"y_{name}.npy", np.asarray(y[idx]), allow_pickle=False)
    X.iloc[split.test].reset_index(drop=True).to_parquet(data_dir / "X_test.parquet")
    for f in data_dir.iterdir():
        f.chmod(0o444)
    return Prepared(dataset, seed, split, data_dir, np.asarray(y[split.test]))


def cleanup(prep: Prepared) -> None:
    shutil.rmtree(prep.data_dir, ignore_errors=True)
