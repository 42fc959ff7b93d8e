"""Prepare the data a child may see: train and valid with labels, test features without labels."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from adapters.base import ProblemType, TaskInfo
from harness.execution import protocol
from harness.sweep import owned_tempdir
from tasks.loading import Dataset
from tasks.splits import Split, make_split


def task_info(ds: Dataset) -> TaskInfo:
    """What an adapter may know about a data set's task (never its test labels)."""
    return TaskInfo(
        name=ds.spec.name,
        problem_type=cast(ProblemType, ds.problem_type),  # checked when the data set loaded
        metric=ds.metric,
        classes=tuple(ds.classes),
        image_shape=ds.spec.image_shape,
    )


@dataclass(frozen=True)
class Prepared:
    """One (task, seed): the split, where the child's files are, and the test labels (parent only)."""

    dataset: Dataset
    seed: int
    split: Split
    data_dir: Path
    y_test: np.ndarray

    @property
    def task(self) -> TaskInfo:
        return task_info(self.dataset)

    @property
    def n_classes(self) -> int:
        return len(self.dataset.classes)


def prepare(dataset: Dataset, seed: int, root: Path | None = None, folds: int | None = None) -> Prepared:
    """Split ``dataset`` for ``seed`` (a fold with ``folds``) and write the child's files under ``root``."""
    split = make_split(dataset, seed, folds)
    data_dir = owned_tempdir(f"harness-data-{dataset.spec.name.replace('/', '_')[:40]}-", root)
    X, y = dataset.X, dataset.y
    protocol.write_data(
        data_dir,
        X.iloc[split.train],
        np.asarray(y[split.train]),
        X.iloc[split.valid],
        np.asarray(y[split.valid]),
        X.iloc[split.test],
    )
    return Prepared(dataset, seed, split, data_dir, np.asarray(y[split.test]))


def cleanup(prep: Prepared) -> None:
    shutil.rmtree(prep.data_dir, ignore_errors=True)
