"""A small dense-ARFF reader built on ``pandas.read_csv``.

Used for scikit-learn's bundled copy of Titanic (the offline fallback) and for OpenML downloads that
scikit-learn's own pandas ARFF parser cannot read (with pandas 3 it fails on nominal attributes whose
values are integers, such as Titanic's ``survived {0,1}``). Numeric attributes become float64,
nominal ones ``category`` with string categories in declared order, string and date ones ``str``.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path
from typing import IO

import pandas as pd

from harness.errors import HarnessError

_ATTR = re.compile(r"""^@attribute\s+('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)\s+(.+?)\s*$""", re.IGNORECASE)
_NUMERIC = {"numeric", "real", "integer"}


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1].replace("\\" + s[0], s[0])
    return s


def _nominal_values(spec: str) -> list[str]:
    body = spec.strip()[1:-1]
    return [
        _unquote(v) for v in next(csv.reader([body], quotechar="'", skipinitialspace=True, escapechar="\\"))
    ]


def _read_header(stream: IO[str], source: str) -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
    names: list[str] = []
    kinds: dict[str, str] = {}
    nominal: dict[str, list[str]] = {}
    for line in stream:
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        low = text.lower()
        if low.startswith("@data"):
            if not names:
                raise HarnessError(f"{source} is not an ARFF file: no @attribute lines before @data")
            return names, kinds, nominal
        if low.startswith("@attribute"):
            m = _ATTR.match(text)
            if m is None:
                raise HarnessError(f"{source}: cannot parse the ARFF line {text[:80]!r}")
            name, kind = _unquote(m.group(1)), m.group(2).strip()
            names.append(name)
            if kind.startswith("{"):
                kinds[name] = "nominal"
                nominal[name] = _nominal_values(kind)
            else:
                word = kind.split()[0].lower()
                kinds[name] = "numeric" if word in _NUMERIC else ("date" if word == "date" else "string")
        elif not low.startswith("@relation"):
            raise HarnessError(f"{source} is not an ARFF file: unexpected line {text[:80]!r}")
    raise HarnessError(f"{source} is not an ARFF file: no @data section")


def read_arff(stream: IO[str], source: str = "ARFF data") -> pd.DataFrame:
    """Parse a dense ARFF text stream into a frame (see the module docstring for the dtypes)."""
    names, kinds, nominal = _read_header(stream, source)
    text_cols = {i: str for i, n in enumerate(names) if kinds[n] != "numeric"}
    try:
        frame = pd.read_csv(
            stream,
            header=None,
            names=names,
            index_col=False,
            na_values=["?"],
            keep_default_na=False,
            comment="%",
            quotechar='"',
            skipinitialspace=True,
            escapechar="\\",
            dtype=text_cols,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise HarnessError(f"{source}: cannot parse the ARFF data ({str(exc).splitlines()[0]})") from exc
    if len(frame) and isinstance(frame.iloc[0, 0], str) and frame.iloc[0, 0].startswith("{"):
        raise HarnessError(f"{source} is a sparse ARFF file, which is not supported")
    for name in names:
        col = frame[name]
        if kinds[name] == "numeric":
            frame[name] = pd.to_numeric(col, errors="raise").astype("float64")
            continue
        col = col.map(_unquote, na_action="ignore").astype("str")
        col = col.where(frame[name].notna(), None)
        if kinds[name] == "nominal":
            frame[name] = pd.Categorical(col, categories=pd.Index(nominal[name], dtype="str"))
        else:
            frame[name] = col
    return frame


def read_arff_file(path: Path) -> pd.DataFrame:
    """Read a ``.arff`` or ``.arff.gz`` file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
        return read_arff(text, str(path))
