"""Reading the user's own data file (``csv:PATH``): CSV or Parquet by suffix, every cell as text.

CSV cells are read as strings and left for :mod:`tasks.clean` to type, so every source goes through
the same rules. Each way a file can be unusable (missing, empty, binary, unparsable, duplicate
column names, no rows, one column) is one ``HarnessError`` line naming the file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError

PARQUET_SUFFIXES = (".parquet", ".pq")
_SNIFF_BYTES = 64 * 1024


def read_table(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The file as a frame (CSV: all cells text, no missing-value conversion yet) and notes."""
    if not path.exists():
        raise HarnessError(f"data file {path} does not exist; check the path after csv:")
    if not path.is_file():
        raise HarnessError(f"data file {path} is not a file; csv:PATH takes a .csv or .parquet file")
    if path.stat().st_size == 0:
        raise HarnessError(f"data file {path} is empty; it needs a header line and rows")
    notes: list[str]
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        frame, notes = _read_parquet(path), []
    else:
        frame, notes = _read_csv(path)
    names = [str(c).strip() for c in frame.columns]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        raise HarnessError(f"data file {path} has duplicate column names ({', '.join(dupes)}); rename them")
    frame.columns = names
    if len(frame) == 0:
        raise HarnessError(f"data file {path} has a header but no data rows")
    if frame.shape[1] < 2:
        raise HarnessError(
            f"data file {path} has only one column ({names[0]!r}); it needs a target and at least one "
            "feature column (is the delimiter a comma?)"
        )
    return frame, notes


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise HarnessError(
            f"cannot read {path} as Parquet ({_first_line(exc)}); is it really a Parquet file?"
        ) from exc
    names = [n.strip() for n in table.column_names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise HarnessError(f"data file {path} has duplicate column names ({', '.join(dupes)}); rename them")
    return table.to_pandas()


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    head = _head_bytes(path, compression)
    if b"\x00" in head:
        raise HarnessError(
            f"data file {path} is not a CSV file (it contains binary data); give a text CSV or Parquet"
        )
    notes: list[str] = []
    try:
        text = head.decode("utf-8-sig")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut at the end of the sample
            text, encoding = head[: exc.start].decode("utf-8-sig"), "utf-8-sig"
        else:
            text, encoding = head.decode("latin-1"), "latin-1"
            notes.append(f"{path.name} is not UTF-8; read it as Latin-1")
    delimiter = _sniff_delimiter(text, path)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if dupes:
        raise HarnessError(f"data file {path} has duplicate column names ({', '.join(dupes)}); rename them")
    try:
        try:
            frame = _parse_csv(path, delimiter, encoding, compression)
        except UnicodeDecodeError:
            if encoding == "latin-1":
                raise
            notes.append(f"{path.name} is not UTF-8; read it as Latin-1")
            frame = _parse_csv(path, delimiter, "latin-1", compression)
    except pd.errors.EmptyDataError as exc:
        raise HarnessError(f"data file {path} is empty; it needs a header line and rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise HarnessError(f"cannot parse {path} as CSV: {_first_line(exc)}") from exc
    if delimiter != ",":
        notes.append(f"{path.name}: columns are separated by {delimiter!r}")
    return frame, notes


def _parse_csv(path: Path, delimiter: str, encoding: str, compression: str | None) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep=delimiter,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        encoding=encoding,
        compression=compression,
    )


def _head_bytes(path: Path, compression: str | None) -> bytes:
    try:
        if compression == "gzip":
            import gzip

            with gzip.open(path, "rb") as fh:
                return fh.read(_SNIFF_BYTES)
        with path.open("rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise HarnessError(f"cannot read data file {path}: {_first_line(exc)}") from exc


def _sniff_delimiter(text: str, path: Path) -> str:
    if path.name.lower().endswith((".tsv", ".tsv.gz")):
        return "\t"
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        raise HarnessError(f"data file {path} is empty; it needs a header line and rows")
    if len(text) == _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an error, cut at ``limit`` characters (pyarrow's repeat the file's path)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."
