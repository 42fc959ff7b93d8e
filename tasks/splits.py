"""The split policy, part of every task and the same for every adapter.

Train 60 %, valid 20 %, test 20 % of the rows, stratified by class for classification (unstratified,
with a note, when a class is too small or the test set cannot hold every class). The random state
comes from sha256 of ``"<task name>|<seed>"``, so the split is fixed for a (task, seed) in every
process and on every machine; :meth:`Split.describe` is what gets recorded with each run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from harness.errors import HarnessError

TEST_SHARE = 0.2
VALID_SHARE = 0.2
MIN_ROWS = 5
MIN_PER_CLASS_TO_STRATIFY = 3


@dataclass(frozen=True)
class Split:
    """Sorted row positions of the three parts (read-only arrays)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    policy: str = ""
    seed: int = 0
    task: str = ""
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> dict:
        return {
            "policy": self.policy,
            "task": self.task,
            "seed": self.seed,
            "n_train": len(self.train),
            "n_valid": len(self.valid),
            "n_test": len(self.test),
            "test_sha256": _sha(self.test),
            "valid_sha256": _sha(self.valid),
            "notes": list(self.notes),
        }


def split_random_state(task: str, seed: int) -> int:
    """A 32-bit random state derived from the task name and seed (stable across processes)."""
    return int(hashlib.sha256(f"{task}|{seed}".encode()).hexdigest()[:8], 16)


def make_split(ds, seed: int) -> Split:
    """Split a :class:`tasks.loading.Dataset` for ``seed`` (see the module docstring)."""
    return split_rows(ds.y, ds.spec.name, seed, classification=ds.problem_type != "regression")


def split_rows(y: np.ndarray, task: str, seed: int, *, classification: bool) -> Split:
    """The split of rows with targets ``y``; ``make_split`` without a Dataset."""
    y = np.asarray(y)
    n = len(y)
    if n < MIN_ROWS:
        raise HarnessError(
            f"task {task} has {n} rows; it needs at least {MIN_ROWS} to split into train/valid/test"
        )
    n_test = max(1, round(TEST_SHARE * n))
    n_valid = max(1, round(VALID_SHARE * n))
    rs = split_random_state(task, seed)
    notes: list[str] = []
    stratify = classification
    if classification:
        counts = np.bincount(y.astype(np.int64))
        counts = counts[counts > 0]
        k = len(counts)
        if counts.min() < MIN_PER_CLASS_TO_STRATIFY:
            notes.append(
                f"a class has fewer than {MIN_PER_CLASS_TO_STRATIFY} rows: split without stratification"
            )
            stratify = False
        elif min(n_test, n_valid) < k:
            notes.append(f"{k} classes do not fit a test set of {n_test} rows: split without stratification")
            stratify = False
    try:
        train, valid, test = _three_way(y, n_test, n_valid, rs, stratify)
    except ValueError as exc:  # a stratified split that cannot be made for these counts
        if not stratify:
            raise
        notes.append(f"stratification failed ({exc}): split without stratification")
        stratify = False
        train, valid, test = _three_way(y, n_test, n_valid, rs, stratify)
    policy = f"{'stratified' if stratify else 'random'} 60/20/20"
    return Split(_frozen(train), _frozen(valid), _frozen(test), policy, seed, task, tuple(notes))


def _three_way(
    y: np.ndarray, n_test: int, n_valid: int, rs: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=n_test, random_state=rs, stratify=y if stratify else None)
    train, valid = train_test_split(
        rest, test_size=n_valid, random_state=(rs + 1) % 2**32, stratify=y[rest] if stratify else None
    )
    return train, valid, test


def _frozen(a: np.ndarray) -> np.ndarray:
    out = np.sort(np.asarray(a, dtype=np.int64))
    out.setflags(write=False)
    return out


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<i8").tobytes()).hexdigest()
