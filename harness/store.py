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
from harness.store_schema import SCHEMA_VERSION, check_file, explain, inspect, migrate, statements

__all__ = ["SCHEMA_VERSION", "STATUSES", "RunRecord", "Store", "check_store"]

log = logging.getLogger(__name__)

STORE_FILE = "harness.db"  # the store's file name in an output directory
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
    # what the run ran on (harness.fingerprint): data, split, settings, adapter; {} for runs stored before
    fingerprint: dict[str, Any] = field(default_factory=dict)
    # CPU use during fit (harness.execution.cpu_use): core-seconds of the whole process tree, their share
    # of cores x fit_s, how they were counted ("cgroup", "psutil-sampled"), and the processors' energy
    # (RAPL; None without a meter). None for runs stored before, and for runs that never reached fit.
    fit_cpu_s: float | None = None
    cpu_use: float | None = None
    cpu_method: str | None = None
    energy_j: float | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    id: int | None = None


_JSON_COLS = ("metrics", "best_config", "versions", "task_info", "split", "fingerprint")
_RUN_COLS = [f for f in RunRecord.__dataclass_fields__ if f not in ("trials", "id")]
_TRIAL_COLS = ("idx", "family", "config", "valid_score", "fit_s", "elapsed_s", "status", "error", "curve")


def check_store(path: str | Path) -> None:
    """Refuse a store this harness cannot use (see :mod:`harness.store_schema`), reading only."""
    path = Path(path)
    check_file(path)
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error as exc:
        raise HarnessError(explain(exc, path, "open")) from exc
    try:
        inspect(conn, path)
    except sqlite3.Error as exc:
        raise HarnessError(explain(exc, path, "open")) from exc
    finally:
        conn.close()


class Store:
    """SQLite results store at ``path`` (created if absent, migrated if older).

    The file is checked before anything is written to it: another kind of file, another program's
    database or a newer store is refused untouched; only then is it switched to WAL and migrated.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_file(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise HarnessError(explain(exc, self.path, "open")) from exc
        self._conn.row_factory = sqlite3.Row
        try:
            version = inspect(self._conn, self.path)  # reads only: a refused file stays as it was
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            with self.transaction() as c:
                if version is None:
                    for stmt in statements():
                        c.execute(stmt)
                    c.execute(
                        "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                    )
                else:
                    added = migrate(c, self.path, version)
                    if added:
                        log.info(
                            "store %s: schema %d migrated to %d (%s)",
                            self.path,
                            version,
                            SCHEMA_VERSION,
                            ", ".join(added),
                        )
        except HarnessError:
            self._conn.close()
            raise
        except sqlite3.Error as exc:
            self._conn.close()
            raise HarnessError(explain(exc, self.path, "open")) from exc

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
            raise HarnessError(explain(exc, self.path, "write to")) from exc

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

    def fingerprints(self) -> dict[str, str]:
        """Each stored job key with its run's fingerprint ("" for a run stored before fingerprints)."""
        out = {}
        for key, fp in self._conn.execute("SELECT job_key, fingerprint FROM runs"):
            out[key] = str(json.loads(fp or "{}").get("run") or "")
        return out

    def settings(self) -> list[dict[str, Any]]:
        """Per stored run: task, cores, memory_gb, metric, the data's fingerprint and the split."""
        q = "SELECT task, cores, memory_gb, metric, task_info, split FROM runs ORDER BY id"
        return [
            {
                "task": task,
                "cores": cores,
                "memory_gb": memory_gb,
                "metric": metric,
                "data": json.loads(info or "{}").get("fingerprint") or "",
                "split": json.loads(split or "{}"),
            }
            for task, cores, memory_gb, metric, info, split in self._conn.execute(q)
        ]

    def runs(self, task: str | None = None, with_trials: bool = False) -> list[RunRecord]:
        q = "SELECT * FROM runs" + (" WHERE task=?" if task else "") + " ORDER BY id"
        out = []
        for r in self._conn.execute(q, (task,) if task else ()):
            d = dict(r)
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
            d = dict(r)
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
