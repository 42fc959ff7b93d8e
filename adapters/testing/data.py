"""The small tasks the contract checks run on: generated ones, and scikit-learn's bundled data sets.

Generated tasks (``binary``, ``multiclass``, ``regression``) are what ``check_adapter`` uses. They are
built with ``make_classification`` / ``make_regression``, deterministic per seed, and made to catch a
valid score reported in the wrong metric:

* a categorical column (``group``, pandas ``category`` with string categories, as the harness's
  cleaning makes text columns) and missing values in it and in two numeric columns, so an adapter's
  preprocessing is exercised;
* noise: label noise for classification, Gaussian noise of half the signal's spread for regression,
  on a target of mean 500 and standard deviation about 100. The best achievable score is then far
  from perfect and far from the other metrics' values: a binary log loss near 0.35 where accuracy
  is near 0.87 (a constant scores 0.69), a 4-class accuracy near 0.65 where the log loss is above 1,
  an RMSE near 60 where R² is near 0.65.

Each task's metric is one every built-in adapter accepts: binary ``log_loss``, multiclass
``accuracy``, regression ``rmse``. Rows: 300 train, 100 valid, 400 test (far more test rows than the
harness's 20 %: the checker's own test score must be precise enough to compare with valid scores,
and test rows cost an adapter only its predict time).

The scikit-learn tasks (``breast_cancer``, ``diabetes``, ``digits``, and ``mixed``: breast cancer with
a categorical column and missing values) are real data, split 60/20/20.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from adapters.base import FitData, TaskInfo

GENERATED: tuple[str, ...] = ("binary", "multiclass", "regression")
TASKS: tuple[str, ...] = ("breast_cancer", "diabetes", "digits", "mixed")  # scikit-learn's data sets

GENERATED_METRIC = {"binary": "log_loss", "multiclass": "accuracy", "regression": "rmse"}
N_TRAIN, N_VALID, N_TEST = 300, 100, 400
N_FEATURES = 8
MULTICLASS_K = 4
LABEL_NOISE = {"binary": 0.05, "multiclass": 0.2}  # make_classification's flip_y: a share of random labels
TARGET_MEAN, SIGNAL_STD, NOISE_STD = 500.0, 90.0, 45.0  # regression: noise half the signal's spread
MISSING_SHARE = 0.08

Split = tuple[FitData, pd.DataFrame, np.ndarray]


def load_task(task: str | TaskInfo, seed: int = 0) -> Split:
    """Train/valid ``FitData``, test features and test labels of a named task (or a ``TaskInfo``).

    ``task`` is a generated problem type (``GENERATED``), a scikit-learn data set (``TASKS``), or a
    ``TaskInfo``: generated data of its problem type, scored with its metric and named by it.
    """
    if isinstance(task, TaskInfo):
        return make_task(task, seed)
    if task in GENERATED:
        return make_task(task, seed)
    if task in TASKS:
        return _sklearn_task(task, seed)
    raise ValueError(f"unknown contract task {task!r}; choose one of {', '.join(GENERATED + TASKS)}")


def make_task(task: str | TaskInfo, seed: int = 0) -> Split:
    """A generated task of a problem type (see the module docstring); deterministic per ``seed``."""
    info = task if isinstance(task, TaskInfo) else None
    problem_type = info.problem_type if info else str(task)
    if problem_type not in GENERATED:
        raise ValueError(f"cannot generate a {problem_type!r} task; choose one of {', '.join(GENERATED)}")
    if info is not None and info.is_image:
        raise ValueError("generated tasks are tables: pass a TaskInfo without image_shape")
    n = N_TRAIN + N_VALID + N_TEST
    X, y = _features_and_target(problem_type, n, seed)
    frame = _mixed_frame(X, seed)
    k = len(np.unique(y)) if problem_type != "regression" else 0
    classes = tuple(f"class_{i}" for i in range(k))
    generated = TaskInfo(problem_type, problem_type, GENERATED_METRIC[problem_type], classes)  # type: ignore[arg-type]
    if info is not None:  # the caller's name and metric, on the generated data's classes
        generated = replace(info, classes=classes)
    return _split(frame, y, generated, seed, test=N_TEST, valid=N_VALID)


def _features_and_target(problem_type: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification, make_regression

    if problem_type == "regression":
        # shuffle=False: the informative features come first, so the categorical column made from x0
        # carries signal
        X, signal = make_regression(
            n_samples=n, n_features=N_FEATURES, n_informative=5, noise=0.0, shuffle=False, random_state=seed
        )
        signal = SIGNAL_STD * (signal - signal.mean()) / signal.std()
        noise = np.random.default_rng(seed).normal(0.0, NOISE_STD, n)
        return X, TARGET_MEAN + signal + noise
    k = 2 if problem_type == "binary" else MULTICLASS_K
    X, y = make_classification(
        n_samples=n,
        n_features=N_FEATURES,
        n_informative=5,
        n_redundant=1,
        n_classes=k,
        n_clusters_per_class=2 if k == 2 else 1,
        flip_y=LABEL_NOISE[problem_type],
        shuffle=False,
        random_state=seed,
    )
    return X, y.astype(np.int64)


def _mixed_frame(X: np.ndarray, seed: int) -> pd.DataFrame:
    """Features as a frame: x0 binned into a categorical ``group``, missing values in three columns."""
    rng = np.random.default_rng(seed + 10_000)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    bins = pd.cut(frame.pop("x0"), [-np.inf, -0.7, 0.0, 0.7, np.inf], labels=["a", "b", "c", "d"])
    group = pd.Categorical(bins.astype(str), categories=["a", "b", "c", "d"])
    frame.insert(0, "group", group)
    n = len(frame)
    frame.loc[rng.random(n) < MISSING_SHARE, "group"] = np.nan
    for col in ("x1", "x2"):
        frame.loc[rng.random(n) < MISSING_SHARE, col] = np.nan
    return frame


def _split(X: pd.DataFrame, y: np.ndarray, info: TaskInfo, seed: int, *, test: float, valid: float) -> Split:
    """Stratified (classification) train/valid/test split; ``test`` and ``valid`` as rows or shares."""
    from sklearn.model_selection import train_test_split

    strat = y if info.is_classification else None
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=test, random_state=seed, stratify=strat)
    strat = y_rest if info.is_classification else None
    X_tr, X_va, y_tr, y_va = train_test_split(
        X_rest, y_rest, test_size=valid, random_state=seed, stratify=strat
    )
    data = FitData(X_tr.reset_index(drop=True), y_tr, X_va.reset_index(drop=True), y_va, info)
    return data, X_test.reset_index(drop=True), y_test


def _sklearn_task(name: str, seed: int) -> Split:
    """A scikit-learn bundled data set, 60/20/20 (``mixed``: breast cancer with categorical and NaN)."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

    if name in ("breast_cancer", "mixed"):
        d = load_breast_cancer(as_frame=True)
        X, y = d.frame.drop(columns="target"), d.target.to_numpy()
        info = TaskInfo(name, "binary", "roc_auc", ("malignant", "benign"))
        if name == "mixed":
            X = X.iloc[:, :8].copy()
            X["size"] = pd.Categorical(pd.cut(X["mean radius"], 4, labels=["s", "m", "l", "xl"]).astype(str))
            X.loc[X.index % 7 == 0, "size"] = np.nan
            X.loc[X.index % 5 == 0, "mean texture"] = np.nan
    elif name == "diabetes":
        d = load_diabetes(as_frame=True)
        X, y = d.data, d.target.to_numpy(dtype=float)
        info = TaskInfo(name, "regression", "rmse")
    else:  # digits
        d = load_digits(as_frame=True)
        X, y = d.data, d.target.to_numpy()
        info = TaskInfo(
            name, "multiclass", "accuracy", tuple(str(i) for i in range(10)), image_shape=(8, 8, 1)
        )
    return _split(X, y, info, seed, test=0.2, valid=0.25)
