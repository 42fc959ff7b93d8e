"""The split policy: a partition of 60/20/20, stratified, fixed for (task, seed) in every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from harness.errors import HarnessError
from tasks.loading import load_dataset
from tasks.registry import get_task
from tasks.splits import given_fold_split, make_split, split_rows


@pytest.fixture(scope="module")
def cancer():
    return load_dataset(get_task("breast_cancer"))


def test_split_is_a_sorted_partition_of_60_20_20(cancer) -> None:
    s = make_split(cancer, 0)
    n = len(cancer.y)
    parts = [s.train, s.valid, s.test]
    assert sum(map(len, parts)) == n
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(n))
    assert all(np.array_equal(p, np.sort(p)) for p in parts)
    assert len(s.test) == round(0.2 * n) and len(s.valid) == round(0.2 * n)
    d = s.describe()
    assert (d["n_train"], d["n_valid"], d["n_test"], d["seed"]) == (
        len(s.train),
        len(s.valid),
        len(s.test),
        0,
    )
    assert d["policy"] == "stratified 60/20/20" and len(d["test_sha256"]) == 64
    with pytest.raises(ValueError):
        s.test[0] = 1  # read-only


def test_stratification_keeps_class_shares(cancer) -> None:
    s = make_split(cancer, 3)
    y = cancer.y
    for part in (s.train, s.valid, s.test):
        for k in (0, 1):
            expected = np.mean(y == k) * len(part)
            assert abs(np.sum(y[part] == k) - expected) <= 1.0


def test_same_task_and_seed_give_the_same_split_others_differ(cancer) -> None:
    a, b = make_split(cancer, 7), make_split(cancer, 7)
    assert all(
        np.array_equal(x, z)
        for x, z in zip((a.train, a.valid, a.test), (b.train, b.valid, b.test), strict=True)
    )
    assert not np.array_equal(make_split(cancer, 8).test, a.test)
    other = split_rows(cancer.y, "another_task", 7, classification=True)
    assert not np.array_equal(other.test, a.test)


def test_split_is_the_same_in_another_process(cancer) -> None:
    code = (
        "import json; from tasks.loading import load_dataset; from tasks.registry import get_task; "
        "from tasks.splits import make_split; ds = load_dataset(get_task('breast_cancer')); "
        "print(json.dumps([make_split(ds, 11).describe(), ds.fingerprint, "
        "load_dataset(get_task('titanic')).fingerprint]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    described, fingerprint, titanic = json.loads(out.stdout)
    assert described == make_split(cancer, 11).describe()
    assert fingerprint == cancer.fingerprint
    assert titanic == load_dataset(get_task("titanic")).fingerprint  # categoricals hash the same too


def test_regression_is_split_at_random() -> None:
    ds = load_dataset(get_task("diabetes"))
    s = make_split(ds, 0)
    assert s.describe()["policy"] == "random 60/20/20"
    assert len(s.train) + len(s.valid) + len(s.test) == 442


def test_tiny_class_falls_back_to_unstratified_with_a_note() -> None:
    y = np.array([0] * 20 + [1] * 20 + [2] * 2)
    s = split_rows(y, "t", 0, classification=True)
    assert s.policy == "random 60/20/20" and "fewer than 3 rows" in s.notes[0]
    many = np.repeat(np.arange(6), 3)  # 18 rows, 6 classes, test of 4 rows cannot hold them all
    s = split_rows(many, "t", 0, classification=True)
    assert s.policy == "random 60/20/20" and "do not fit" in s.notes[0]


def test_too_few_rows_is_an_error() -> None:
    with pytest.raises(HarnessError, match="needs at least 5"):
        split_rows(np.array([0, 1, 0, 1]), "t", 0, classification=True)


# --- the fold protocols --------------------------------------------------------------------------


def test_kfold_tests_every_row_exactly_once_and_carves_valid_from_the_rest(cancer) -> None:
    k, n = 5, len(cancer.y)
    splits = [make_split(cancer, fold, folds=k) for fold in range(k)]
    tested = np.concatenate([s.test for s in splits])
    assert np.array_equal(np.sort(tested), np.arange(n)), "each row is in exactly one test fold"
    for fold, s in enumerate(splits):
        assert s.protocol == "cv5" and s.fold == fold
        assert not set(s.train) & set(s.valid) and not (set(s.train) | set(s.valid)) & set(s.test)
        assert len(s.train) + len(s.valid) + len(s.test) == n
        assert abs(len(s.valid) - 0.25 * (n - len(s.test))) <= 1  # a quarter of the rest, as the holdout
        assert abs(cancer.y[s.test].mean() - cancer.y.mean()) < 0.05  # stratified
        assert s.describe()["protocol"] == "cv5" and s.describe()["fold"] == fold
    assert np.array_equal(make_split(cancer, 2, folds=5).test, splits[2].test), "fixed per (task, fold)"
    assert "protocol" not in make_split(cancer, 0).describe(), "a holdout split is described as before"


def test_kfold_bad_arguments_are_one_line(cancer) -> None:
    with pytest.raises(HarnessError, match="fold 5 does not exist"):
        make_split(cancer, 5, folds=5)
    with pytest.raises(HarnessError, match="too few for 400 folds"):
        make_split(cancer, 0, folds=400)


def test_given_test_rows_are_the_same_for_every_seed_and_valid_differs() -> None:
    y = np.array([0, 1] * 50)
    fold_of_row = np.where(np.arange(100) >= 80, 0, -1)
    a = given_fold_split(y, fold_of_row, "t", 0, "given-test", classification=True)
    b = given_fold_split(y, fold_of_row, "t", 1, "given-test", classification=True)
    assert np.array_equal(a.test, np.arange(80, 100)) and np.array_equal(a.test, b.test)
    assert not np.array_equal(a.valid, b.valid)
    assert set(a.train) | set(a.valid) == set(range(80)) and a.fold is None


def test_given_folds_test_fold_k_in_run_k() -> None:
    y = np.arange(60, dtype=float)
    fold_of_row = np.arange(60) % 3
    for k in range(3):
        s = given_fold_split(y, fold_of_row, "t", k, "openml-cv3", classification=False)
        assert np.array_equal(s.test, np.flatnonzero(fold_of_row == k)) and s.fold == k
    with pytest.raises(HarnessError, match="fold 3 does not exist"):
        given_fold_split(y, fold_of_row, "t", 3, "openml-cv3", classification=False)
