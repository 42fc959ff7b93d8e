"""The SQLite store: atomic runs, survival of a killed writer, schema checks."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.store import SCHEMA_VERSION, RunRecord, Store
from tests import ROOT


def record(key: str, n_trials: int = 3) -> RunRecord:
    return RunRecord(
        job_key=key,
        task="wine",
        adapter="random",
        seed=0,
        budget_s=5.0,
        cores=1,
        memory_gb=1.0,
        status="ok",
        metric="accuracy",
        test_score=0.9,
        metrics={"accuracy": 0.9, "f1": 0.88},
        best_config={"lr": 0.1, "layers": [64, 32]},
        trials=[
            {
                "config": {"i": i},
                "valid_score": i / 10,
                "fit_s": 0.1,
                "elapsed_s": i,
                "curve": {"valid_loss": [1.0, 0.5]},
            }
            for i in range(n_trials)
        ],
    )


def test_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as s:
        rid = s.add_run(record("a"))
        [r] = s.runs(with_trials=True)
        assert r.id == rid and r.metrics == {"accuracy": 0.9, "f1": 0.88}
        assert r.best_config == {"lr": 0.1, "layers": [64, 32]}
        assert [t["config"] for t in r.trials] == [{"i": 0}, {"i": 1}, {"i": 2}]
        assert r.trials[0]["curve"] == {"valid_loss": [1.0, 0.5]}
        assert s.done_keys() == {"a"}


def test_same_job_key_replaces_the_run_and_its_trials(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as s:
        s.add_run(record("a", 3))
        s.add_run(record("a", 1))
        runs = s.runs(with_trials=True)
        assert len(runs) == 1 and len(runs[0].trials) == 1


def test_a_run_is_one_transaction_with_its_trials(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as s:
        s.add_run(record("a", 3))
        bad = record("a", 2)
        bad.trials[1]["fit_s"] = [0.1]  # no SQLite type: fails after the run row and the first trial
        with pytest.raises(HarnessError):
            s.add_run(bad)
        [kept] = s.runs(with_trials=True)
        assert len(kept.trials) == 3, "the old run and its trials stay whole, the new one is not there"


WRITER = """
import sys
from harness.store import Store
from tests.harness.test_store import record
s = Store(sys.argv[1])
i = 0
while True:
    s.add_run(record(f"k{i}", 50))
    i += 1
    if i == 5:
        print("ready", flush=True)
"""


def test_store_survives_a_killed_writer(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    root = ROOT
    for _ in range(3):
        p = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        p.send_signal(signal.SIGKILL)
        p.wait()
    with Store(db) as s:
        assert s.integrity_ok()
        runs = s.runs(with_trials=True)
        assert len(runs) >= 5
        assert all(len(r.trials) == 50 for r in runs), "a run is stored whole or not at all"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    Store(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(HarnessError, match="newer harness"):
        Store(db)


def test_not_a_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HarnessError, match="not a harness store"):
        Store(db)
    assert db.read_bytes() == b"this is not sqlite" * 100
