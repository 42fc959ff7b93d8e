"""The results store's schema: checked before anything writes to a store file, migrated when older.

:func:`check_file` and :func:`inspect` only read: a file that is not SQLite, an SQLite database of
something else, a store of a newer harness or one whose ``schema_version`` is not a whole number is
refused in one line and left exactly as it was (no WAL switch, no table created). :func:`migrate`
brings an older store up to date (missing columns added with ``ALTER TABLE``, so its runs keep
counting as done), and :func:`explain` turns an SQLite error into one line that names its cause:
a full disk, a read-only file or directory, a foreign or damaged file.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from pathlib import Path

from harness.errors import HarnessError

# 1: the first schema. 2: runs.fingerprint (JSON: what each run ran on; '{}' for runs stored before).
# 3: runs.fit_cpu_s, cpu_use, cpu_method, energy_j (CPU use during fit; NULL for runs stored before).
SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_key TEXT NOT NULL UNIQUE,
    task TEXT NOT NULL,
    adapter TEXT NOT NULL,
    seed INTEGER NOT NULL,
    budget_s REAL NOT NULL,
    cores INTEGER NOT NULL,
    memory_gb REAL NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    metric TEXT,
    test_score REAL,
    valid_score REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    fit_s REAL,
    overrun REAL,
    startup_s REAL,
    predict_s REAL,
    cpu_s REAL,
    peak_mem_mb REAL,
    n_trials INTEGER NOT NULL DEFAULT 0,
    best_config TEXT NOT NULL DEFAULT '{}',
    versions TEXT NOT NULL DEFAULT '{}',
    task_info TEXT NOT NULL DEFAULT '{}',
    split TEXT NOT NULL DEFAULT '{}',
    log_path TEXT,
    started_at TEXT,
    ended_at TEXT,
    fingerprint TEXT NOT NULL DEFAULT '{}',
    fit_cpu_s REAL,
    cpu_use REAL,
    cpu_method TEXT,
    energy_j REAL
);
CREATE TABLE IF NOT EXISTS trials (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    idx INTEGER NOT NULL,
    family TEXT,
    config TEXT NOT NULL,
    valid_score REAL,
    fit_s REAL,
    elapsed_s REAL,
    status TEXT NOT NULL,
    error TEXT,
    curve TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE INDEX IF NOT EXISTS runs_task ON runs(task, adapter);
"""

SQLITE_MAGIC = b"SQLite format 3\x00"
TABLES = ("meta", "runs", "trials")
WAYS_OUT = "move it away or use another --out"


def statements() -> list[str]:
    return [s.strip() for s in SCHEMA.split(";") if s.strip()]


def expected_columns(table: str) -> dict[str, str]:
    """A table's columns as the schema defines them: name -> definition (``TEXT NOT NULL DEFAULT '{}'``)."""
    m = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \((.*?)\);", SCHEMA, re.S)
    if m is None:
        raise KeyError(table)
    out = {}
    for part in re.split(r",(?![^()]*\))", m.group(1)):  # commas outside parentheses
        part = " ".join(part.split())
        if part and not part.startswith("PRIMARY KEY"):
            name, _, definition = part.partition(" ")
            out[name] = definition
    return out


def check_file(path: Path) -> None:
    """Refuse a file that is not an SQLite database, reading only its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HarnessError(f"cannot read the results store {path} ({exc.strerror}); {WAYS_OUT}") from exc
    if head and head != SQLITE_MAGIC:
        raise HarnessError(f"{path} is not a harness store (it is not an SQLite database); {WAYS_OUT}")


def inspect(conn: sqlite3.Connection, path: Path) -> int | None:
    """The schema version of the store behind ``conn`` (None: an empty database), reading only.

    Raises :class:`HarnessError` for an SQLite database of something else, a store of a newer
    harness, or a ``schema_version`` that is not a whole number.
    """
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return None
    if not {"meta", "runs"} <= tables:
        shown = ", ".join(sorted(t for t in tables if not t.startswith("sqlite_"))[:6])
        raise HarnessError(
            f"{path} is an SQLite database but not a harness store (its tables: {shown}); {WAYS_OUT}"
        )
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    raw = row[0] if row else None
    try:
        version = int(str(raw).strip())
    except ValueError:
        raise HarnessError(
            f"{path} has the store schema version {raw!r}, not a whole number: the store is damaged or was "
            f"written by another program; {WAYS_OUT} (--fresh keeps it as a backup and starts a new one)"
        ) from None
    if version > SCHEMA_VERSION:
        raise HarnessError(
            f"{path} was written by a newer harness (store schema {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade the harness (pip install -U) or use another --out"
        )
    if version < 1:
        raise HarnessError(
            f"{path} has the store schema version {version}, which no harness wrote; {WAYS_OUT}"
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path, version: int) -> list[str]:
    """Bring a store of an older (or incomplete) schema up to date inside the caller's transaction.

    Adds every missing column that has a default or may be empty; a missing column that old runs
    cannot be given (``task``, ``seed``, ...) refuses the store. Returns the columns added.
    """
    added = []
    for s in statements():  # tables and indexes that are missing
        conn.execute(s)
    for table in TABLES:
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for name, definition in expected_columns(table).items():
            if name in have:
                continue
            if ("NOT NULL" in definition and "DEFAULT" not in definition) or "PRIMARY KEY" in definition:
                raise HarnessError(
                    f"{path} lacks the column {table}.{name}, which its stored runs cannot be given; "
                    "start a new store with --fresh (the old one is kept as a backup) or use another --out"
                )
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")
            added.append(f"{table}.{name}")
    if version != SCHEMA_VERSION:
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))
    return added


def explain(exc: sqlite3.Error | OSError, path: Path, doing: str) -> str:
    """One line for a failed store operation (``doing``: "open", "write to") that names its cause."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    err = getattr(exc, "errno", None)
    resume = "run the same command again to resume (finished runs are kept)"
    if primary == sqlite3.SQLITE_FULL or err == errno.ENOSPC or _disk_full(path.parent):
        return f"the disk holding {path} is full ({exc}); free disk space, then {resume}"
    if primary == sqlite3.SQLITE_READONLY or err == errno.EROFS or not _writable(path):
        return f"cannot {doing} the results store {path}: it is read-only ({exc}); make it writable or use another --out"
    if primary in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return f"{path} is not a readable harness store ({exc}); {WAYS_OUT}"
    return f"cannot {doing} the results store {path} ({exc}); choose a writable --out, then {resume}"


def _disk_full(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail == 0 or (st.f_bavail * st.f_frsize) < 64 * 1024


def _writable(path: Path) -> bool:
    folder = path.parent
    if folder.exists() and not os.access(folder, os.W_OK):
        return False
    try:
        st = os.statvfs(folder)
    except OSError:
        return True
    if st.f_flag & os.ST_RDONLY:
        return False
    return not path.exists() or os.access(path, os.W_OK)
