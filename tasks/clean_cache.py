"""Cleaned task data cached by fingerprint: a task's data is cleaned once per raw data and cleaning code.

``<data_dir>/cleaned/<key>.parquet`` (the cleaned features, then the target and the kept rows'
positions in the raw frame) and ``<key>.json`` (its manifest: problem type, classes, notes, the
cleaned data's fingerprint), written and verified by :mod:`tasks.cache`. The key is a sha256 over
the raw frame (column names, dtypes, values), the cleaning options, the source of the ``tasks``
package and the versions of pandas and numpy, so changed data, another ``--target`` or changed
cleaning code miss the cache.

An entry is kept only when it reads back as the very data it was made from (every value, dtype
and category code), and it is written with atomic renames: harness processes that clean the same data
at once each write the same file. An entry that cannot be read or verified is a miss, cleaned
again and rewritten; a data directory that cannot be written only costs the cleaning.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from tasks import cache
from tasks.clean import Cleaned, clean

log = logging.getLogger(__name__)

SUBDIR = "cleaned"  # under the data directory, beside the raw downloads
KIND = "cleaned-task"  # the manifest's "kind": an entry of this cache, not some other cached file


def fingerprint(X: pd.DataFrame, y: np.ndarray, classes: tuple[str, ...], problem_type: str) -> str:
    """sha256 over the cleaned data: column names, dtypes, values, target, classes."""
    h = hashlib.sha256()
    header = {
        "columns": [str(c) for c in X.columns],
        "dtypes": [str(d) for d in X.dtypes],
        "shape": list(X.shape),
        "classes": list(classes),
        "problem_type": problem_type,
    }
    h.update(json.dumps(header, sort_keys=True).encode())
    if X.shape[1]:
        h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the code that reads and cleans a task's data: the ``tasks`` package, pandas, numpy."""
    h = hashlib.sha256(f"pandas {pd.__version__} numpy {np.__version__}".encode())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def cleaned(data_dir: Path, frame: pd.DataFrame, target: str, **options: Any) -> tuple[Cleaned, str]:
    """``clean(frame, target, **options)`` and the cleaned data's fingerprint, from the cache if there.

    A ``HarnessError`` of the cleaning (data that cannot be used) is raised as ``clean`` raises it.
    """
    folder = data_dir / SUBDIR
    key = _key(frame, target, options)
    if key is not None:
        hit = _read(folder, key)
        if hit is not None:
            return hit
    result = clean(frame, target, **options)
    fp = fingerprint(result.X, result.y, result.classes, result.problem_type)
    if key is not None:
        _write(folder, key, result, fp)
    return result, fp


def _key(frame: pd.DataFrame, target: str, options: dict[str, Any]) -> str | None:
    """The cache key of cleaning ``frame``; None when its values cannot be hashed (no caching)."""
    h = hashlib.sha256(code_version().encode())
    header = {
        "target": target,
        "options": options,
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(d) for d in frame.dtypes],
        "shape": list(frame.shape),
    }
    try:
        h.update(json.dumps(header, sort_keys=True, default=str).encode())
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    except (TypeError, ValueError) as exc:  # cells such as lists: cleaning decides what they are
        log.debug("not cached: the raw data cannot be hashed (%s)", exc)
        return None
    return h.hexdigest()


def _extra_columns(X: pd.DataFrame) -> tuple[str, str]:
    """Names for the target and row columns that no feature has."""
    y_col, rows_col = "__target__", "__row__"
    while y_col in X.columns or rows_col in X.columns:
        y_col, rows_col = f"_{y_col}_", f"_{rows_col}_"
    return y_col, rows_col


def _write(folder: Path, key: str, c: Cleaned, fp: str) -> None:
    y_col, rows_col = _extra_columns(c.X)
    frame = c.X.assign(**{y_col: c.y, rows_col: c.rows})
    meta = {
        "kind": KIND,
        "problem_type": c.problem_type,
        "classes": list(c.classes),
        "notes": list(c.notes),
        "fingerprint": fp,
        "y_column": y_col,
        "rows_column": rows_col,
    }
    try:
        cache.write(folder, key, frame, meta)
        back = _read(folder, key)
        ok = back is not None and _same(c, back[0])
    # a read-only or full disk, a column Parquet cannot hold: the data is used uncached
    except (OSError, ValueError, TypeError, ImportError) as exc:
        log.debug("cleaned data not cached in %s: %s", folder, exc)
        ok = False
    if not ok:  # what would read back as other data is not kept
        for p in cache.paths(folder, key):
            try:
                p.unlink(missing_ok=True)
            except OSError:  # no folder to hold it: nothing was written
                pass


def _same(a: Cleaned, b: Cleaned) -> bool:
    """Whether ``b`` is ``a`` to the last category code (a fingerprint ignores the categories' order)."""
    if list(a.X.columns) != list(b.X.columns) or [str(d) for d in a.X.dtypes] != [str(d) for d in b.X.dtypes]:
        return False
    for col in a.X.columns:
        x, z = a.X[col], b.X[col]
        if isinstance(x.dtype, pd.CategoricalDtype):
            xc, zc = x.cat.categories, z.cat.categories
            if list(xc) != list(zc) or xc.dtype != zc.dtype or x.cat.ordered != z.cat.ordered:
                return False
            x, z = x.cat.codes, z.cat.codes
        if not x.equals(z):
            return False
    if a.y.dtype != b.y.dtype or not np.array_equal(a.y, b.y) or not np.array_equal(a.rows, b.rows):
        return False
    return (a.problem_type, a.classes, a.notes) == (b.problem_type, b.classes, b.notes)


def _read(folder: Path, key: str) -> tuple[Cleaned, str] | None:
    """The cached cleaning of ``key`` when it verifies (checksum, then fingerprint), else None."""
    try:
        hit = cache.read(folder, key)
    except HarnessError as exc:  # half-written by another process, or corrupt: clean again
        log.debug("cleaned-data cache miss: %s", exc)
        return None
    if hit is None:
        return None
    frame, meta = hit
    if meta.get("kind") != KIND:  # another file under this name: cleaned again and replaced
        return None
    try:
        y = frame.pop(meta["y_column"]).to_numpy()
        rows = frame.pop(meta["rows_column"]).to_numpy()
        c = Cleaned(frame, y, meta["problem_type"], tuple(meta["classes"]), tuple(meta["notes"]), rows)
        fp = str(meta["fingerprint"])
    except (KeyError, TypeError) as exc:
        log.debug("cleaned-data cache miss: manifest of %s lacks %s", key, exc)
        return None
    return c, fp
