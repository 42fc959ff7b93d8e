"""Built-in tasks load offline, cleaned the same way for every adapter, with a stable fingerprint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.loading import default_data_dir, load_dataset
from tasks.registry import get_task


def test_titanic_loads_offline_from_scikit_learns_copy() -> None:
    ds = load_dataset(get_task("titanic"))
    assert ds.X.shape[0] == 1309 and len(ds.y) == 1309
    assert not {"boat", "body", "name", "survived"} & set(ds.X.columns)
    assert {"pclass", "sex", "age", "fare", "embarked"} <= set(ds.X.columns)
    assert ds.problem_type == "binary" and ds.classes == ("0", "1") and ds.metric == "accuracy"
    assert int(ds.y.sum()) == 500  # 500 of the 1309 passengers survived
    assert isinstance(ds.X["sex"].dtype, pd.CategoricalDtype)
    assert list(ds.X["sex"].cat.categories) == ["female", "male"]
    assert ds.X["age"].isna().sum() == 263
    offline = [n for n in ds.notes if "offline" in n]
    assert len(offline) == 1 and "scikit-learn" in offline[0]
    assert any("'name'" in n and "id-like" in n for n in ds.notes)
    assert isinstance(ds.X.index, pd.RangeIndex)


@pytest.mark.parametrize(
    ("name", "shape", "ptype", "n_classes"),
    [
        ("breast_cancer", (569, 30), "binary", 2),
        ("wine", (178, 13), "multiclass", 3),
        ("digits", (1797, 64), "multiclass", 10),
        ("diabetes", (442, 10), "regression", 0),
    ],
)
def test_bundled_tasks(name: str, shape: tuple[int, int], ptype: str, n_classes: int) -> None:
    spec = get_task(name)
    ds = load_dataset(spec)
    assert ds.X.shape == shape == (spec.n_rows, spec.n_cols)
    assert ds.problem_type == ptype and len(ds.classes) == n_classes
    if n_classes:
        assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == set(range(n_classes))
    else:
        assert ds.y.dtype == np.float64 and ds.metric == "rmse" and ds.metrics == ("rmse", "mae", "r2")


def test_class_names_follow_the_codes() -> None:
    ds = load_dataset(get_task("breast_cancer"))
    assert ds.classes == ("malignant", "benign")  # scikit-learn's coding: 0 = malignant
    assert int(np.sum(ds.y == 0)) == 212


def test_digits_is_an_image_task_with_every_pixel() -> None:
    ds = load_dataset(get_task("digits"))
    assert ds.spec.image_shape == (8, 8, 1)
    assert ds.X.shape[1] == 64 and all(ds.X.dtypes == np.float32)  # constant border pixels are kept
    first = ds.X.iloc[0].to_numpy().reshape(8, 8)
    assert first[0, 0] == 0 and first.max() == 15


def test_fingerprint_is_stable_and_changes_with_the_data() -> None:
    a, b = load_dataset(get_task("wine")), load_dataset(get_task("wine"))
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 64
    assert a.fingerprint != load_dataset(get_task("breast_cancer")).fingerprint


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("HARNESS_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "harness"
