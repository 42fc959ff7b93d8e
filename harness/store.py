"""The results store: one SQLite file, one row per run and one row per trial.

Each run is committed with its trials in a single transaction the moment it
ends, so a killed benchmark keeps every finished run and never a half-written
one. Nothing is pickled: configurations, metrics and curves are JSON text.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
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
    ended_at TEXT
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

STATUSES = ("ok", "failed", "timeout", "memory", "skipped")


@dataclass
class RunRecord:
    """One finished run, as stored. ``metrics`` maps every metric name to its test score."""

    job_key: str
    task: str
    adapter: str
    seed: int
    budget_s: float
    cores: int
    memory_gb: float
    status: str
    reason: str | None = None
    metric: str | None = None
    test_score: float | None = None
    valid_score: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    fit_s: float | None = None
    overrun: float | None = None
    startup_s: float | None = None
    predict_s: float | None = None
    cpu_s: float | None = None
    peak_mem_mb: float | None = None
    n_trials: int = 0
    best_config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    task_info: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    log_path: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    id: int | None = None


_JSON_COLS = ("metrics", "best_config", "versions", "task_info", "split")
_RUN_COLS = [f for f in RunRecord.__dataclass_fields__ if f not in ("trials", "id")]
_TRIAL_COLS = ("idx", "family", "config", "valid_score", "fit_s", "elapsed_s", "status", "error", "curve")


class Store:
    """SQLite results store at ``path`` (created if absent)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HarnessError(
                f"cannot open the results store {self.path}: {exc}; choose a writable --out directory"
            ) from exc
        self._conn.row_factory = sqlite3.Row
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._check_and_create()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise HarnessError(
                f"{self.path} is not a readable harness store ({exc}); move it away or use another --out"
            ) from exc

    def _check_and_create(self) -> None:
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                self._conn.close()
                raise HarnessError(
                    f"{self.path} was written by a newer harness (store schema {version}, this one reads "
                    f"up to {SCHEMA_VERSION}); upgrade the harness or use another --out"
                )
        with self.transaction() as c:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    c.execute(stmt)
            c.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---
    def add_run(self, rec: RunRecord) -> int:
        """Store a run and its trials atomically. A run with the same job key is replaced."""
        try:
            return self._add_run(rec)
        except sqlite3.Error as exc:
            raise HarnessError(
                f"cannot write to the results store {self.path} ({exc}); free disk space or make the "
                "directory writable, then run the same command again to resume (finished runs are kept)"
            ) from exc

    def _add_run(self, rec: RunRecord) -> int:
        row = asdict(rec)
        values = [json.dumps(row[c], default=str) if c in _JSON_COLS else row[c] for c in _RUN_COLS]
        with self.transaction() as c:
            old = c.execute("SELECT id FROM runs WHERE job_key=?", (rec.job_key,)).fetchone()
            if old is not None:
                c.execute("DELETE FROM trials WHERE run_id=?", (old[0],))
                c.execute("DELETE FROM runs WHERE id=?", (old[0],))
            cur = c.execute(
                f"INSERT INTO runs({', '.join(_RUN_COLS)}) VALUES ({', '.join('?' * len(_RUN_COLS))})",
                values,
            )
            run_id = int(cur.lastrowid or 0)
            c.executemany(
                f"INSERT INTO trials(run_id, {', '.join(_TRIAL_COLS)}) VALUES (?{', ?' * len(_TRIAL_COLS)})",
                [(run_id, *_trial_values(i, t)) for i, t in enumerate(rec.trials)],
            )
        rec.id = run_id
        return run_id

    # --- reading ---
    def done_keys(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT job_key FROM runs")}

    def runs(self, task: str | None = None, with_trials: bool = False) -> list[RunRecord]:
        q = "SELECT * FROM runs" + (" WHERE task=?" if task else "") + " ORDER BY id"
        out = []
        for r in self._conn.execute(q, (task,) if task else ()):
            d = {k: r[k] for k in r.keys()}
            for c in _JSON_COLS:
                d[c] = json.loads(d[c] or "{}")
            rec = RunRecord(**d)
            if with_trials:
                rec.trials = self.trials(rec.id or 0)
            out.append(rec)
        return out

    def trials(self, run_id: int) -> list[dict[str, Any]]:
        out = []
        for r in self._conn.execute("SELECT * FROM trials WHERE run_id=? ORDER BY idx", (run_id,)):
            d = {k: r[k] for k in r.keys()}
            d["config"] = json.loads(d["config"])
            d["curve"] = json.loads(d["curve"]) if d["curve"] else None
            out.append(d)
        return out

    def tasks(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT task FROM runs ORDER BY task")]

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _trial_values(i: int, t: dict[str, Any]) -> tuple[Any, ...]:
    return (
        i,
        t.get("family"),
        json.dumps(t.get("config", {}), default=str),
        t.get("valid_score"),
        t.get("fit_s"),
        t.get("elapsed_s"),
        t.get("status", "ok"),
        t.get("error"),
        json.dumps(t["curve"]) if t.get("curve") else None,
    )
