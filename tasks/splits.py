"""The split protocols, part of every task and the same for every adapter.

- ``holdout`` (the default): train 60 %, valid 20 %, test 20 % of the rows, drawn anew for each seed.
- ``cvK`` (``--folds K``): outer K-fold cross-validation; run k tests on fold k, and valid is
  carved from the other folds (a quarter of them, as in the holdout).
- ``openml-cvK``: the official folds of an OpenML task, valid carved the same way.
- ``given-test``: the user's own test rows (``--test-file``, a test column); they are the same for
  every seed, and each seed carves another valid set from the training rows.

Parts are stratified by class for classification (unstratified, with a note, when a class is too
small or a part cannot hold every class). Random states come from sha256 of ``"<task name>|<n>"``,
so a split is fixed for a (task, protocol, seed or fold) in every process and on every machine;
:meth:`Split.describe` is what gets recorded with each run. Runs of different protocols are never
paired or averaged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from harness.errors import HarnessError

TEST_SHARE = 0.2
VALID_SHARE = 0.2
VALID_SHARE_OF_REST = VALID_SHARE / (1 - TEST_SHARE)  # a quarter of what is not test
HOLDOUT = "holdout"
GIVEN_TEST = "given-test"
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
    protocol: str = HOLDOUT  # holdout, cvK, openml-cvK, given-test
    fold: int | None = None  # the test fold of a fold protocol

    def describe(self) -> dict:
        out = {
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
        if self.protocol != HOLDOUT:  # a holdout split is described as before folds existed
            out.update(protocol=self.protocol, fold=self.fold)
        return out


def protocol_of(described: dict) -> str:
    """The protocol of a recorded split (:meth:`Split.describe`)."""
    return str(described.get("protocol") or HOLDOUT)


def split_random_state(task: str, seed: int) -> int:
    """A 32-bit random state derived from the task name and seed (stable across processes)."""
    return int(hashlib.sha256(f"{task}|{seed}".encode()).hexdigest()[:8], 16)


def protocol_for(ds, folds: int | None) -> str:
    """The protocol a :class:`tasks.loading.Dataset` is split by, with ``--folds`` or without."""
    if ds.given_protocol:
        return ds.given_protocol
    return f"cv{folds}" if folds else HOLDOUT


def make_split(ds, seed: int, folds: int | None = None) -> Split:
    """Split a :class:`tasks.loading.Dataset` for ``seed``, or fold ``seed`` of ``folds``.

    A data set that comes with its own test rows (``ds.fold_of_row``: OpenML's folds, the user's
    test file) is split by those, whatever ``folds`` says.
    """
    classification = ds.problem_type != "regression"
    given = ds.fold_of_row
    if given is not None:
        return given_fold_split(
            ds.y, given, ds.spec.name, seed, protocol_for(ds, folds), classification=classification
        )
    if folds:
        return kfold_split(ds.y, ds.spec.name, seed, folds, classification=classification)
    return split_rows(ds.y, ds.spec.name, seed, classification=classification)


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


def kfold_split(y: np.ndarray, task: str, fold: int, n_folds: int, *, classification: bool) -> Split:
    """Outer K-fold: the test part is fold ``fold`` of ``n_folds``; valid is carved from the rest."""
    if not n_folds >= 2:
        raise HarnessError(f"--folds must be at least 2, got {n_folds}")
    if not 0 <= fold < n_folds:
        raise HarnessError(f"fold {fold} does not exist: there are {n_folds} (0..{n_folds - 1})")
    y = np.asarray(y)
    if len(y) < n_folds * 2:
        raise HarnessError(f"task {task} has {len(y)} rows, too few for {n_folds} folds; use fewer --folds")
    notes: list[str] = []
    stratify = classification and _can_stratify(y, n_folds, notes)
    from sklearn.model_selection import KFold, StratifiedKFold

    rs = split_random_state(task, -n_folds)  # one assignment of rows to folds for every fold's run
    cv = (StratifiedKFold if stratify else KFold)(n_splits=n_folds, shuffle=True, random_state=rs)
    rest, test = list(cv.split(np.zeros(len(y)), y if stratify else None))[fold]
    return _carve_valid(y, rest, test, task, fold, classification, notes, f"cv{n_folds}", fold)


def given_fold_split(
    y: np.ndarray, fold_of_row: np.ndarray, task: str, seed: int, protocol: str, *, classification: bool
) -> Split:
    """Test rows given with the data: fold ids per row (-1: never test).

    With one given fold (the user's test rows) every seed tests on it and carves its own valid set;
    with several (OpenML's) run ``seed`` tests on fold ``seed``.
    """
    folds = sorted(int(f) for f in np.unique(fold_of_row) if f >= 0)
    fold = folds[0] if len(folds) == 1 else seed
    if fold not in folds:
        raise HarnessError(f"task {task} has {len(folds)} given folds; fold {seed} does not exist")
    test = np.flatnonzero(fold_of_row == fold)
    rest = np.flatnonzero(fold_of_row != fold)
    carve_seed = seed if len(folds) == 1 else fold
    return _carve_valid(
        np.asarray(y),
        rest,
        test,
        task,
        carve_seed,
        classification,
        [],
        protocol,
        None if len(folds) == 1 else fold,
    )


def _can_stratify(y: np.ndarray, parts: int, notes: list[str]) -> bool:
    counts = np.bincount(y.astype(np.int64))
    if counts[counts > 0].min() < max(parts, MIN_PER_CLASS_TO_STRATIFY):
        notes.append(f"a class has fewer than {max(parts, MIN_PER_CLASS_TO_STRATIFY)} rows: not stratified")
        return False
    return True


def _carve_valid(
    y: np.ndarray,
    rest: np.ndarray,
    test: np.ndarray,
    task: str,
    seed: int,
    classification: bool,
    notes: list[str],
    protocol: str,
    fold: int | None,
) -> Split:
    """Train and valid from ``rest`` (a quarter of it valid), the same way for every adapter."""
    if len(rest) < 2 or len(test) < 1:
        raise HarnessError(f"task {task}: {len(rest)} training and {len(test)} test rows cannot be split")
    n_valid = max(1, round(VALID_SHARE_OF_REST * len(rest)))
    rs = split_random_state(task, seed)
    stratify = classification and _can_stratify(y[rest], 2, notes)
    try:
        train, valid = train_test_split(
            rest, test_size=n_valid, random_state=rs, stratify=y[rest] if stratify else None
        )
    except ValueError as exc:
        notes.append(f"stratification failed ({exc}): valid carved without it")
        stratify = False
        train, valid = train_test_split(rest, test_size=n_valid, random_state=rs)
    policy = f"{protocol}: test {'fold ' + str(fold) if fold is not None else 'given'}, valid a quarter of the rest"
    policy += "" if stratify else " (not stratified)"
    return Split(
        _frozen(train), _frozen(valid), _frozen(test), policy, seed, task, tuple(notes), protocol, fold
    )
