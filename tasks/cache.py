"""The data cache: downloaded data sets stored as Parquet plus a JSON manifest with their sha256.

Layout: ``<data_dir>/<key>.parquet`` and ``<data_dir>/<key>.json`` (e.g. ``openml-40945``). A cached
file is read into memory once, its sha256 compared with the manifest, and only then parsed, so a
tampered or corrupt file is refused. Only Parquet and JSON are read: no pickled objects.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import HarnessError

MANIFEST_VERSION = 1


def default_data_dir() -> Path:
    """``$HARNESS_DATA_DIR``, else ``$XDG_CACHE_HOME/harness``, else ``~/.cache/harness``."""
    env = os.environ.get("HARNESS_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "harness"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def paths(data_dir: Path, key: str) -> tuple[Path, Path]:
    """The Parquet file and the manifest of ``key``."""
    return data_dir / f"{key}.parquet", data_dir / f"{key}.json"


def is_cached(data_dir: Path, key: str) -> bool:
    return any(p.exists() for p in paths(data_dir, key))


def write(data_dir: Path, key: str, frame: pd.DataFrame, meta: dict[str, Any]) -> dict[str, Any]:
    """Store ``frame`` under ``key`` atomically and return the manifest written next to it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_path, manifest_path = paths(data_dir, key)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    data = buf.getvalue()
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "key": key,
        "file": data_path.name,
        "sha256": sha256_bytes(data),
        "bytes": len(data),
        "n_rows": int(frame.shape[0]),
        "n_cols": int(frame.shape[1]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **meta,
    }
    _atomic_write(data_path, data)
    _atomic_write(manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return manifest


def read(data_dir: Path, key: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The verified cached frame and its manifest; None when not cached; ``HarnessError`` when bad."""
    data_path, manifest_path = paths(data_dir, key)
    if not data_path.exists() and not manifest_path.exists():
        return None
    redo = "delete it and run again with network"
    if not data_path.exists():
        raise HarnessError(f"cache manifest {manifest_path} has no data file {data_path.name}: {redo}")
    if not manifest_path.exists():
        raise HarnessError(f"cached file {data_path} has no manifest {manifest_path.name}: {redo}")
    try:
        manifest = json.loads(manifest_path.read_text())
        expected = str(manifest["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"cache manifest {manifest_path} is unreadable ({exc}): {redo}") from exc
    data = data_path.read_bytes()
    if sha256_bytes(data) != expected:
        raise HarnessError(f"cached file {data_path} fails its checksum (tampered or corrupt): {redo}")
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise HarnessError(f"cached file {data_path} cannot be read as Parquet ({exc}): {redo}") from exc
    return frame, manifest


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
