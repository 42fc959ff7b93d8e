"""Cleaning: one set of rules, applied in the parent, so every adapter gets the same data.

Rules, in order: column names are stripped (duplicates are an error); ``?``, ``NA``, ``N/A``, empty
and whitespace-only cells are missing; string values are stripped; rows with a missing target are
dropped. Features: text columns of numbers become numeric (a column of mostly numbers with a few
stray words gets those cells as missing), ``true``/``false`` and boolean columns become 0/1, other
text becomes ``category`` with string categories; infinities become missing; id-like columns and
constant columns are dropped. Every change is reported as a note. Image tasks keep all pixel
columns as float32. The target becomes integer codes 0..K-1 (classes sorted, numerically where they
are numbers) or floats for regression; see :func:`infer_problem_type`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.errors import HarnessError

MISSING_TOKENS = frozenset({"", "?", "na", "n/a", "nan", "null", "#n/a", "<na>"})
ID_NAMES = frozenset({"id", "index", "idx", "row_id", "rowid", "unnamed: 0"})
MAX_CLASSES_FOR_INT_TARGET = 20
ID_UNIQUE_SHARE = 0.9
ID_MIN_DISTINCT = 50
MOSTLY_NUMERIC = 0.9


@dataclass(frozen=True)
class Cleaned:
    X: pd.DataFrame
    y: np.ndarray
    problem_type: str
    classes: tuple[str, ...]
    notes: tuple[str, ...]
    rows: np.ndarray  # positions in the input frame of the rows kept, in order


def clean(
    frame: pd.DataFrame,
    target: str,
    *,
    problem_type: str | None = None,
    drop: tuple[str, ...] = (),
    class_names: tuple[str, ...] | None = None,
    image: bool = False,
    source: str = "the data",
) -> Cleaned:
    """Apply the rules of the module docstring; ``HarnessError`` when the data cannot be used."""
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    names = list(frame.columns)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise HarnessError(f"{source} has duplicate column names ({', '.join(dupes)}); rename them")
    if target not in frame.columns:
        close = difflib.get_close_matches(target, names, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise HarnessError(f"target column {target!r} is not in {source}; {hint}columns: {shown}")
    notes: list[str] = []
    frame = frame.drop(columns=[c for c in drop if c in frame.columns and c != target])
    raw_target = frame.pop(target)
    if _is_numeric(raw_target):
        values = raw_target.astype("float64")
        values = values.mask(~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan)))
    else:
        values = _text(raw_target)
    keep = values.notna().to_numpy()
    rows = np.flatnonzero(keep)
    if not keep.any():
        raise HarnessError(f"target column {target!r} of {source} has no values (all missing)")
    if not keep.all():
        notes.append(f"dropped {int((~keep).sum())} rows whose target {target!r} is missing")
        values = values[keep]
        frame = frame.loc[keep]
    frame = frame.reset_index(drop=True)
    y, ptype, classes = encode_target(
        values.reset_index(drop=True), target, problem_type, class_names, source
    )
    if frame.shape[1] == 0:
        raise HarnessError(f"{source} has no feature columns besides the target {target!r}")
    if image:
        X = _image_features(frame, source)
    else:
        X = clean_features(frame, notes)
        if X.shape[1] == 0:
            raise HarnessError(f"{source} has no usable feature columns after cleaning ({'; '.join(notes)})")
    return Cleaned(X, y, ptype, classes, tuple(notes), rows)


# --- target ---


def infer_problem_type(numbers: np.ndarray) -> str:
    """Numbers with non-integer values or more than 20 distinct values: regression; else classes."""
    distinct = np.unique(numbers)
    if not np.all(distinct == np.round(distinct)) or len(distinct) > MAX_CLASSES_FOR_INT_TARGET:
        return "regression"
    return "binary" if len(distinct) == 2 else "multiclass"


def encode_target(
    values: pd.Series,
    target: str,
    problem_type: str | None,
    class_names: tuple[str, ...] | None,
    source: str,
) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """``(y, problem_type, classes)`` for the non-missing target ``values``."""
    numbers = _as_numbers(values)
    distinct = values.nunique()
    if distinct < 2:
        raise HarnessError(
            f"target column {target!r} of {source} is constant ({_show(values.iloc[0])} in all "
            f"{len(values)} rows): there is nothing to predict"
        )
    if numbers is None:
        as_num = pd.to_numeric(values, errors="coerce")
        if problem_type == "regression":
            bad = values[as_num.isna()].iloc[0]
            raise HarnessError(
                f"regression target {target!r} of {source} has text such as {bad!r}, not numbers"
            )
        if as_num.notna().mean() >= 0.5 and distinct > MAX_CLASSES_FOR_INT_TARGET:
            bad = values[as_num.isna()].iloc[0]
            raise HarnessError(
                f"target column {target!r} of {source} mixes numbers and text (e.g. {bad!r}); "
                "fix or remove those rows"
            )
    ptype = problem_type or (infer_problem_type(numbers) if numbers is not None else None)
    if ptype == "regression":
        assert numbers is not None
        return numbers.astype(np.float64), "regression", ()
    if numbers is not None:
        labels = np.unique(numbers)
        codes = np.searchsorted(labels, numbers)
        if class_names is not None and np.array_equal(labels, np.arange(len(class_names))):
            classes = tuple(class_names)
        else:
            classes = tuple(_format_number(v) for v in labels)
    else:
        text = values.astype("str")
        classes = tuple(sorted(text.unique()))
        codes = np.searchsorted(np.array(classes, dtype=object), text.to_numpy(dtype=object))
    counts = np.bincount(codes, minlength=len(classes))
    single = [classes[i] for i in np.flatnonzero(counts == 1)]
    if single:
        shown = ", ".join(repr(c) for c in single[:5]) + (", ..." if len(single) > 5 else "")
        raise HarnessError(
            f"target column {target!r} of {source} has {len(single)} class(es) with a single row ({shown}); "
            "each class needs at least 2 rows: remove or merge them"
        )
    ptype = "binary" if len(classes) == 2 else "multiclass"
    return codes.astype(np.int64), ptype, classes


def _as_numbers(values: pd.Series) -> np.ndarray | None:
    """The values as floats when every one of them is a finite number, else None."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if isinstance(values.dtype, pd.CategoricalDtype) or not _is_numeric(values):
        values = pd.to_numeric(values.astype("str"), errors="coerce")
        if values.isna().any():
            return None
    arr = values.to_numpy(dtype=np.float64)
    return arr if np.all(np.isfinite(arr)) else None


def _show(v: object) -> str:
    return _format_number(float(v)) if isinstance(v, int | float | np.number) else repr(str(v))


def _format_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# --- features ---


def clean_features(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Type every column, then drop id-like and constant ones (with notes)."""
    out: dict[str, pd.Series] = {}
    for name in frame.columns:
        out[name] = _clean_column(name, frame[name], notes)
    X = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    dropped_id = [c for c in X.columns if _id_like(c, X[c])]
    if dropped_id:
        notes.append(f"dropped id-like column(s) {', '.join(repr(c) for c in dropped_id)}")
    constant = [c for c in X.columns if c not in dropped_id and X[c].nunique(dropna=True) <= 1]
    if constant:
        notes.append(f"dropped constant column(s) {', '.join(repr(c) for c in constant)}")
    return X.drop(columns=dropped_id + constant)


def _clean_column(name: str, col: pd.Series, notes: list[str]) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        return _booleans(col.astype("boolean").astype("Float64"))
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _category(_text(col))
    if pd.api.types.is_datetime64_any_dtype(col):
        notes.append(f"column {name!r}: dates converted to seconds since 1970")
        return (col.astype("datetime64[ns]").astype("int64") / 1e9).where(col.notna())
    if pd.api.types.is_timedelta64_dtype(col):
        return col.dt.total_seconds()
    if _is_numeric(col):
        return _finite(name, pd.to_numeric(col), notes)
    text = _text(col)
    present = text.dropna()
    if present.empty:
        return pd.Series(np.nan, index=col.index)
    as_num = pd.to_numeric(present, errors="coerce")
    share = float(as_num.notna().mean())
    if share == 1.0:
        return _finite(name, pd.to_numeric(text), notes)
    if share >= MOSTLY_NUMERIC:
        stray = present[as_num.isna()]
        notes.append(
            f"column {name!r} mixes numbers and text: {len(stray)} text cell(s) such as "
            f"{stray.iloc[0]!r} treated as missing"
        )
        return _finite(name, pd.to_numeric(text, errors="coerce"), notes)
    lowered = present.str.lower()
    if set(lowered.unique()) <= {"true", "false"}:
        return _booleans(text.str.lower().map({"true": 1.0, "false": 0.0}).astype("Float64"))
    if share >= 0.5:
        notes.append(f"column {name!r} mixes numbers and text; treated as categorical")
    return _category(text)


def _booleans(col: pd.Series) -> pd.Series:
    if col.isna().any():
        return col.astype("float64")
    return col.astype("int64")


def _category(text: pd.Series) -> pd.Series:
    return pd.Series(pd.Categorical(text.astype("str")), index=text.index)


def _finite(name: str, col: pd.Series, notes: list[str]) -> pd.Series:
    if col.dtype.kind == "f":
        inf = np.isinf(col.to_numpy(dtype=np.float64, na_value=np.nan))
        if inf.any():
            notes.append(f"column {name!r}: {int(inf.sum())} infinite value(s) treated as missing")
            col = col.mask(inf)
    if not isinstance(col.dtype, np.dtype):  # nullable Int64/Float64 -> plain numpy dtypes
        col = col.astype("float64") if col.isna().any() else col.astype(col.dtype.numpy_dtype)
    return col


def _id_like(name: str, col: pd.Series) -> bool:
    n = len(col)
    present = col.dropna()
    distinct = present.nunique()
    id_name = name.strip().lower() in ID_NAMES or name.strip().lower().endswith("_id")
    if id_name and len(present) == n and distinct == n and n > 1:
        return True
    if isinstance(col.dtype, pd.CategoricalDtype):
        return distinct > ID_MIN_DISTINCT and distinct > ID_UNIQUE_SHARE * len(present)
    if col.dtype.kind in "iu" and n >= 10 and distinct == n:
        return int(col.max()) - int(col.min()) + 1 == n
    return False


def _image_features(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Pixels as float32; text of numbers (a CSV file read as text) is read as numbers."""
    bad: list[str] = []

    def numbers(col: pd.Series) -> pd.Series:
        if _is_numeric(col):
            return col
        text = _text(col)
        out = pd.to_numeric(text, errors="coerce")
        if (out.isna() & text.notna()).any():
            bad.append(str(col.name))
        return out

    pixels = frame.apply(numbers)
    if bad:
        raise HarnessError(f"image data {source} has non-numeric pixel columns ({', '.join(bad[:5])})")
    return pixels.astype(np.float32).reset_index(drop=True)


# --- helpers ---


def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _text(col: pd.Series) -> pd.Series:
    """Values as stripped strings; missing tokens and whitespace-only cells become missing."""
    text = col.astype("str").str.strip()
    return text.mask(text.isna() | text.str.lower().isin(MISSING_TOKENS))
