"""Preprocessing that every model family shares, fitted on the training rows only.

Numeric columns: median imputation (and standard scaling for models that need it).
Categorical columns (pandas ``category``, strings, objects, booleans): most-frequent
imputation and one-hot encoding, with rare and unseen levels folded into one
"infrequent" column so a category first seen in test rows never breaks ``transform``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

MAX_CATEGORIES = 20


def categorical_columns(X: pd.DataFrame) -> list[str]:
    """Columns treated as categorical: everything that is not a (non-boolean) number."""
    return [
        c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
    ]


def numeric_columns(X: pd.DataFrame) -> list[str]:
    cats = set(categorical_columns(X))
    return [c for c in X.columns if c not in cats]


def _as_object(X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Categorical values as an object array with ``np.nan`` for missing (what SimpleImputer expects)."""
    frame = pd.DataFrame(X)
    out = frame.to_numpy(dtype=object, copy=True)
    out[pd.isna(frame).to_numpy()] = np.nan
    return out


def make_preprocessor(scale: bool) -> ColumnTransformer:
    """An unfitted transformer from a DataFrame to a dense float matrix.

    ``scale`` adds a StandardScaler on numeric columns (linear models, SVMs, neural networks).
    Column order is kept within the numeric block, so image pixels stay in place.
    """
    numeric_steps: list[tuple[str, object]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical = Pipeline(
        [
            ("as_object", FunctionTransformer(_as_object, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="most_frequent", missing_values=np.nan)),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=MAX_CATEGORIES,
                    sparse_output=False,
                    dtype=np.float32,
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [
            ("num", Pipeline(numeric_steps), numeric_columns),
            ("cat", categorical, categorical_columns),
        ],
        remainder="drop",
        sparse_threshold=0.0,
    )
