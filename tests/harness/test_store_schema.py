"""The store's schema is checked when it opens: older stores migrate, others are refused untouched.

Every refusal is one line that names its cause (foreign file, damaged version, newer schema, disk
full, read-only) and what to do; a refused file keeps every byte, WAL mode included.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.store import SCHEMA_VERSION, RunRecord, Store
from tests.conftest import mounted_tmpfs
from tests.harness.test_store import record

pytestmark = pytest.mark.usefixtures("no_leaks")

# The schema of version 1 (before runs.fingerprint), here without the split column too: a store an
# older harness wrote, one column short of what this one stores.
V1_SCHEMA = """
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


def old_store(db: Path, version: str = "1") -> None:
    con = sqlite3.connect(db)
    con.executescript(V1_SCHEMA)
    con.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (version,))
    con.execute(
        "INSERT INTO runs(job_key, task, adapter, seed, budget_s, cores, memory_gb, status, test_score) "
        "VALUES ('old', 'wine', 'default', 0, 1.0, 1, 8.0, 'ok', 0.9)"
    )
    con.commit()
    con.close()


def test_an_older_store_is_migrated_when_it_opens(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    old_store(db)
    with Store(db) as s:
        [old] = s.runs()
        assert (old.job_key, old.test_score, old.split, old.fingerprint) == ("old", 0.9, {}, {})
        s.add_run(record("new"))
        assert s.done_keys() == {"old", "new"}
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    con.close()


def test_a_version_2_store_gains_the_cpu_columns_and_keeps_its_runs(tmp_path: Path) -> None:
    """Schema 2 (fingerprints, no CPU use): the CPU columns are added empty, new runs fill them."""
    db = tmp_path / "h.db"
    old_store(db, version="2")
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE runs ADD COLUMN split TEXT NOT NULL DEFAULT '{}'")
    con.execute("ALTER TABLE runs ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '{}'")
    con.commit()
    con.close()
    with Store(db) as s:
        [old] = s.runs()
        assert (old.job_key, old.fit_cpu_s, old.cpu_use, old.cpu_method, old.energy_j) == (
            "old",
            None,
            None,
            None,
            None,
        )
        rec = record("new")
        rec.fit_cpu_s, rec.cpu_use, rec.cpu_method = 4.5, 0.45, "cgroup"
        s.add_run(rec)
        new = next(r for r in s.runs() if r.job_key == "new")
        assert (new.fit_cpu_s, new.cpu_use, new.cpu_method, new.energy_j) == (4.5, 0.45, "cgroup", None)
    con = sqlite3.connect(db)
    cols = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
    version = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    con.close()
    assert cols[-4:] == ["fit_cpu_s", "cpu_use", "cpu_method", "energy_j"] and version == str(SCHEMA_VERSION)


def test_an_older_store_through_the_cli_runs_and_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    old_store(out / "harness.db")
    assert (
        main(["--task", "wine", "--budget", "1", "--adapters", "default", "--out", str(out), "--quiet"]) == 0
    )
    with Store(out / "harness.db") as s:
        assert sorted(r.job_key == "old" for r in s.runs()) == [False, True]


def one_line(exc: pytest.ExceptionInfo[HarnessError]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_a_schema_version_that_is_not_a_number_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    old_store(db, version="abc")
    before = db.read_bytes()
    with pytest.raises(HarnessError) as exc:
        Store(db)
    line = one_line(exc)
    assert "'abc'" in line and "not a whole number" in line and "another --out" in line
    assert db.read_bytes() == before


def test_a_newer_store_names_the_version_and_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    old_store(db, version=str(SCHEMA_VERSION + 7))
    before = db.read_bytes()
    with pytest.raises(HarnessError) as exc:
        Store(db)
    line = one_line(exc)
    assert f"store schema {SCHEMA_VERSION + 7}" in line and "upgrade the harness" in line
    assert db.read_bytes() == before


def test_a_foreign_sqlite_file_is_refused_and_not_switched_to_wal(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    db = out / "harness.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE users (name TEXT)")
    con.execute("INSERT INTO users VALUES ('ada')")
    con.commit()
    con.close()
    before = db.read_bytes()
    assert before[18:20] == b"\x01\x01", "a rollback-journal database to begin with"
    with pytest.raises(HarnessError) as exc:
        Store(db)
    assert "not a harness store" in one_line(exc) and "users" in one_line(exc)
    assert main(["--task", "wine", "--budget", "1", "--adapters", "default", "--out", str(out)]) == 2
    assert db.read_bytes() == before, "the file must stay as it was (no WAL switch)"
    assert sorted(p.name for p in out.iterdir()) == [".harness.lock", "harness.db"]


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "small", "2m") as mnt:
        yield mnt


def fill(fs: Path) -> None:
    with open(fs / "filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass


def test_a_disk_full_before_the_first_write_says_the_disk_is_full(
    small_fs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = small_fs / "out"
    out.mkdir()
    (out / ".harness.lock").write_text("1234567")  # there from an earlier command: its page is allocated
    fill(small_fs)
    with pytest.raises(HarnessError) as exc:
        Store(out / "first.db")
    line = one_line(exc)
    assert "is full" in line and "free disk space" in line and "not a readable" not in line
    code = main(["--task", "wine", "--budget", "1", "--adapters", "default", "--out", str(out), "--quiet"])
    assert code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("harness: error:")]
    assert len(err) == 1 and "full" in err[0] and "free disk space" in err[0], err
    assert "not a readable" not in err[0]


def test_a_store_on_a_read_only_disk_says_read_only(small_fs: Path) -> None:
    db = small_fs / "h.db"
    with Store(db) as s:
        s.add_run(record("a"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    with pytest.raises(HarnessError) as exc:
        Store(db).add_run(RunRecord("b", "wine", "default", 0, 1.0, 1, 1.0, "ok"))
    line = one_line(exc)
    assert "read-only" in line and "not a readable" not in line, line
