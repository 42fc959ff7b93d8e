"""Every run records what it ran on; runs of other data or settings are never mixed or duplicated silently."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.config import Job
from harness.fingerprint import COLUMNS
from harness.report.files import CSV_CPU
from harness.report.leaderboard import build_boards
from harness.store import RunRecord, Store

pytestmark = pytest.mark.usefixtures("no_leaks")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def digest(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT * FROM runs ORDER BY id").fetchall()
    con.close()
    return rows


def test_job_keys_are_what_they_were_before_fingerprints() -> None:
    """Stored keys stay valid: these are the keys the harness computed before this change."""
    assert Job("wine", "default", 0, 1.0, 1, 8.0, "abc").key == "56e615f89de02735c9d0351f"
    job = Job("csv:/x.csv", "optuna:mlp", 3, 30.0, 2, 4.0, "f" * 64, protocol="cv5", metric="f1")
    assert job.key == "5abf34938b23a613d1e38b4a"


def test_a_store_written_before_fingerprints_resumes_without_running_again(
    plugin_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["--task", "wine", "--budget", "1", "--adapters", "t-good,default", "--out", str(out), "--quiet"]
    assert main(args) == 0
    db = out / "harness.db"
    con = sqlite3.connect(db)  # back to the schema of before: no fingerprint column, version 1
    for col in ("fingerprint", *CSV_CPU):  # the CPU-use columns came later still
        con.execute(f"ALTER TABLE runs DROP COLUMN {col}")
    con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.commit()
    con.close()
    before = digest(db)
    assert main(args) == 0
    with Store(db) as s:
        runs = s.runs()
    assert [(r.id, r.job_key, r.ended_at, r.test_score) for r in runs] == [
        (b[0], b[1], b[-1], b[11]) for b in before
    ]
    assert all(r.fingerprint == {} for r in runs), "old runs count as done as they are"
    rows = read_csv(out / "runs.csv")
    head = list(rows[0])[: -len(CSV_CPU)]  # the CPU-use columns, added later, come after them
    assert head[-len(COLUMNS) :] == list(COLUMNS), "the fingerprint columns come last but the CPU's"
    assert all(r["data_fingerprint"] and r["split_fingerprint"] and r["fingerprint"] == "" for r in rows)


def write_data(path: Path, flip: bool = False) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    y = (x[:, 0] > 0).astype(int)
    if flip:
        y = 1 - y
    path.write_text("a,b,y\n" + "".join(f"{a:.5f},{b:.5f},{c}\n" for (a, b), c in zip(x, y, strict=True)))


def test_changed_data_is_refused_in_one_line_with_the_two_ways_out(
    plugin_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "mut.csv"
    write_data(data)
    out = tmp_path / "out"
    args = [
        "--task",
        f"csv:{data}",
        "--target",
        "y",
        "--budget",
        "1",
        "--adapters",
        "t-good",
        "--out",
        str(out),
    ]
    assert main([*args, "--quiet"]) == 0
    before = digest(out / "harness.db")
    write_data(data, flip=True)  # the same file, other labels
    capsys.readouterr()
    assert main(args) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("harness: error: "), err
    assert "changed" in err[0] and "--fresh" in err[0] and "another --out" in err[0], err[0]
    assert digest(out / "harness.db") == before, "nothing ran, nothing was stored"
    assert main([*args, "--fresh", "--quiet"]) == 0
    with Store(out / "harness.db") as s:
        assert len(s.runs()) == 1


def test_another_memory_limit_is_said_and_gets_a_board_of_its_own(
    plugin_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    args = ["--task", "wine", "--budget", "1", "--adapters", "t-good", "--out", str(out), "--quiet"]
    assert main([*args, "--memory-gb", "1"]) == 0
    caplog.clear()
    assert main([*args, "--memory-gb", "2"]) == 0
    assert any("--memory-gb 1" in rec.getMessage() and "own" in rec.getMessage() for rec in caplog.records)
    rows = read_csv(out / "runs.csv")
    assert len(rows) == 2 and rows[0]["setup_fingerprint"] != rows[1]["setup_fingerprint"]
    with Store(out / "harness.db") as s:
        boards = build_boards(s.runs())
    assert [b.task for b in boards] == ["wine", "wine [--memory-gb 1]"]
    for b in boards:
        assert [len(row.runs) for row in b.rows] == [1], "one run per row: never both averaged"
    board = (out / "wine" / "leaderboard.md").read_text()
    assert "wine [--memory-gb 1]" in board


def run(
    run_id: int, data: str, score: float, memory_gb: float = 8.0, seed: int = 0, **fp: object
) -> RunRecord:
    return RunRecord(
        job_key=f"k{run_id}",
        task="mut",
        adapter="default",
        seed=seed,
        budget_s=1.0,
        cores=1,
        memory_gb=memory_gb,
        status="ok",
        metric="accuracy",
        test_score=score,
        metrics={"accuracy": score, "f1": score},
        task_info={"fingerprint": data},
        split={"policy": "p", "seed": seed, "test_sha256": "t"},
        fingerprint=dict(fp),
        id=run_id,
    )


def test_boards_never_average_runs_of_other_data_or_versions() -> None:
    runs = [run(1, "a" * 64, 0.5), run(2, "b" * 64, 1.0), run(3, "b" * 64, 0.7, seed=1)]
    boards = build_boards(runs)
    assert [b.task for b in boards] == ["mut", "mut [data aaaaaaaa]"]
    new, old = boards
    assert new.rows[0].scores == {0: 1.0, 1: 0.7} and old.rows[0].scores == {0: 0.5}
    assert old.rows[0].mean_metric("f1") == 0.5, "the other metrics are not averaged across data either"
    v1 = {"adapter": "x1", "versions": {"lightgbm": "4.6.0"}}
    v2 = {"adapter": "x2", "versions": {"lightgbm": "4.7.0"}}
    [board] = build_boards([run(1, "a" * 64, 0.5, **v1), run(2, "a" * 64, 0.9, seed=1, **v2)])
    assert sorted(r.adapter for r in board.rows) == ["default", "default [lightgbm 4.6.0]"]


def test_a_stored_run_of_another_fingerprint_runs_again_and_is_replaced(
    plugin_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    args = ["--task", "wine", "--budget", "1", "--adapters", "t-good", "--out", str(out), "--quiet"]
    assert main(args) == 0
    con = sqlite3.connect(out / "harness.db")  # as if it had run on other library versions
    [(fp,)] = con.execute("SELECT fingerprint FROM runs").fetchall()
    con.execute("UPDATE runs SET fingerprint=?", (json.dumps({**json.loads(fp), "run": "0" * 64}),))
    con.commit()
    con.close()
    caplog.clear()
    assert main(args) == 0
    assert any("running again" in r.getMessage() for r in caplog.records)
    with Store(out / "harness.db") as s:
        [r] = s.runs()
    assert r.fingerprint["run"] == json.loads(fp)["run"]
