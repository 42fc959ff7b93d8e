"""The CLI end to end on real tasks, resume, plugins, and bad input (one line, exit 2, store intact)."""

from __future__ import annotations

import csv
import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.store import Store
from tests.conftest import harness_cmd, sandboxes_of, sigint_as_in_a_terminal

pytestmark = pytest.mark.usefixtures("no_leaks")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_breast_cancer_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert (
        main(["--task", "breast_cancer", "--budget", "3", "--adapters", "default,random", "--out", str(out)])
        == 0
    )
    rows = read_csv(out / "runs.csv")
    assert [r["adapter"] for r in sorted(rows, key=lambda r: r["adapter"])] == ["default", "random"]
    for col in (
        "task",
        "adapter",
        "seed",
        "budget_s",
        "status",
        "fit_s",
        "overrun",
        "metric",
        "test_score",
        "n_trials",
        "accuracy",
        "f1",
        "roc_auc",
        "log_loss",
        "precision",
        "recall",
    ):
        assert col in rows[0], col
    for r in rows:
        assert r["status"] == "ok", r
        assert 0.85 < float(r["test_score"]) <= 1.0
        assert float(r["fit_s"]) <= 3.0 * 1.05
    board = (out / "breast_cancer" / "leaderboard.md").read_text()
    assert "| rank" in board and "random" in board and "default" in board
    assert "breast_cancer" in capsys.readouterr().out


def test_titanic_end_to_end_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["--task", "titanic", "--budget", "5", "--adapters", "default,random", "--out", str(out)]
    assert main(args) == 0
    rows = read_csv(out / "runs.csv")
    assert len(rows) == 2
    for r in rows:
        assert r["status"] == "ok"
        assert 0.70 <= float(r["test_score"]) <= 0.90, r
    with Store(out / "harness.db") as s:
        before = [(r.id, r.ended_at) for r in s.runs()]
    capsys.readouterr()
    assert main(args) == 0
    with Store(out / "harness.db") as s:
        assert [(r.id, r.ended_at) for r in s.runs()] == before, "nothing new may run"


def test_plugin_adapter_found_by_entry_point(plugin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["--task", "wine", "--budget", "2", "--adapters", "t-good,t-raise", "--out", str(out)]) == 0
    rows = {r["adapter"]: r for r in read_csv(out / "runs.csv")}
    assert rows["t-good"]["status"] == "ok"
    assert rows["t-raise"]["status"] == "failed"
    assert "boom" in rows["t-raise"]["reason"]
    board = (out / "wine" / "leaderboard.md").read_text()
    assert "t-raise" in board and "1 failed" in board, "a failed run is shown, never hidden"


def test_plugin_without_the_protocol_is_named(
    plugin_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--task", "wine", "--budget", "2", "--adapters", "t-notadapter", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "t-notadapter" in err[0] and "protocol" in err[0]


def _store_digest(db: Path) -> str:
    con = sqlite3.connect(db)
    rows = (
        con.execute("SELECT * FROM runs ORDER BY id").fetchall()
        + con.execute("SELECT * FROM trials").fetchall()
    )
    con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def filled_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("filled")
    assert (
        main(["--task", "wine", "--budget", "2", "--adapters", "default", "--out", str(out), "--quiet"]) == 0
    )
    return out


BAD = [
    (["--task", "titanc"], "did you mean titanic"),
    (["--adapters", "optuan"], "did you mean optuna"),
    (["--budget", "0"], "positive number"),
    (["--budget", "-5"], "positive number"),
    (["--budget", "abc"], "not a number"),
    (["--budget", "1e9"], "more than a week"),
    (["--seeds", "0"], "--seeds must be a positive whole number"),
    (["--cores", "x"], "--cores must be a positive whole number"),
    (["--cores", "64"], "this machine has"),
    (["--task", "csv:/no/such.csv", "--target", "y"], "does not exist"),
    (["--task", "csv:{bad_csv}", "--target", "y"], "{bad_csv}"),
    (["--task", "csv:{csv}", "--target", "nope"], "nope"),
    (["--task", "csv:{const_csv}", "--target", "y"], "nothing to predict"),
]


@pytest.mark.parametrize(("extra", "needle"), BAD)
def test_bad_input_one_line_exit_2_store_intact(
    extra: list[str], needle: str, filled_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes(b"\x00\x01\x02PK\x03\x04 not a csv \xff\xfe")
    good = tmp_path / "good.csv"
    good.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    const = tmp_path / "const.csv"
    const.write_text("a,y\n" + "".join(f"{i},1\n" for i in range(40)))
    fill = {"bad_csv": str(bad_csv), "csv": str(good), "const_csv": str(const)}
    extra = [e.format(**fill) for e in extra]
    args = {"--task": "wine", "--budget": "2", "--adapters": "default"}
    for k, v in zip(extra[::2], extra[1::2], strict=True):
        args[k] = v
    argv = [x for kv in args.items() for x in kv] + ["--out", str(filled_out), "--quiet"]
    digest = _store_digest(filled_out / "harness.db")
    assert main(argv) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("harness: error: ")
    assert needle.format(**fill) in err[0], err[0]
    assert _store_digest(filled_out / "harness.db") == digest


def test_unwritable_output_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--task", "wine", "--budget", "2", "--out", str(blocker / "sub"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot write to the output directory" in err and "\n" not in err


def test_store_from_a_newer_schema_is_refused_untouched(
    filled_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "newer"
    out.mkdir()
    db = out / "harness.db"
    db.write_bytes((filled_out / "harness.db").read_bytes())
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    before = db.read_bytes()
    assert main(["--task", "wine", "--budget", "2", "--adapters", "default", "--out", str(out)]) == 2
    assert "newer harness" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_resume_after_the_driver_is_killed_runs_only_what_is_missing(
    plugin_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cmd = harness_cmd(
        "--task",
        "wine",
        "--budget",
        "1",
        "--adapters",
        "t-good,t-sleep",
        "--seeds",
        "2",
        "--out",
        str(out),
        "--quiet",
    )
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = out / "harness.db"
    deadline = time.monotonic() + 120
    n = 0
    while time.monotonic() < deadline:
        if db.exists():
            try:
                con = sqlite3.connect(db, timeout=1)
                n = con.execute("SELECT count(*) FROM runs").fetchone()[0]
                con.close()
            except sqlite3.Error:
                n = 0
            if n >= 1:
                break
        time.sleep(0.2)
    driver.kill()
    driver.wait()
    assert n >= 1
    time.sleep(2)  # the orphaned child notices its parent is gone and takes its tree down
    assert not sandboxes_of({driver.pid})
    with Store(db) as s:
        first = {(r.adapter, r.seed): r.id for r in s.runs()}
    assert 1 <= len(first) < 4
    subprocess.run(cmd, check=True, timeout=300)
    with Store(db) as s:
        runs = s.runs()
        assert s.integrity_ok()
    assert sorted((r.adapter, r.seed) for r in runs) == sorted(
        [("t-good", 0), ("t-good", 1), ("t-sleep", 0), ("t-sleep", 1)]
    )
    assert {(r.adapter, r.seed): r.id for r in runs if (r.adapter, r.seed) in first} == first


def test_fresh_starts_a_new_store_and_keeps_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--task", "wine", "--budget", "1", "--adapters", "default", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert main(args + ["--fresh"]) == 0
    backups = list(out.glob("harness.db.*.bak"))
    assert len(backups) == 1
    with Store(backups[0]) as old, Store(out / "harness.db") as new:
        assert len(old.runs()) == 1 and len(new.runs()) == 1
        assert old.runs()[0].ended_at <= new.runs()[0].ended_at


def test_second_command_on_the_same_output_refuses(plugin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = subprocess.Popen(
        harness_cmd("--task", "wine", "--budget", "1", "--adapters", "t-sleep", "--out", str(out), "--quiet"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if (out / ".harness.lock").exists() and (out / ".harness.lock").read_text().strip():
                break
            time.sleep(0.1)
        second = subprocess.run(
            harness_cmd("--task", "wine", "--budget", "1", "--adapters", "t-good", "--out", str(out)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr and "another harness command" in second.stderr
    finally:
        first.wait(timeout=120)
    with Store(out / "harness.db") as s:
        assert [r.adapter for r in s.runs()] == ["t-sleep"]


def test_ctrl_c_stops_runs_keeps_the_store_and_leaves_nothing(plugin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    driver = subprocess.Popen(
        harness_cmd(
            "--task", "wine", "--budget", "30", "--adapters", "t-good,t-sleep", "--out", str(out), "--quiet"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )
    for _ in range(300):
        if [p for p in sandboxes_of({driver.pid}) if "t-sleep" in open(p.cwd() + "/job.json").read()]:
            break
        time.sleep(0.1)
    time.sleep(1)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130
    assert "interrupted" in err and "resume" in err
    assert not sandboxes_of({driver.pid})
    with Store(out / "harness.db") as s:
        assert [r.adapter for r in s.runs()] == ["t-good"], "the interrupted run is not stored"


def test_plugins_are_loaded_only_when_named(plugin_path: Path, tmp_path: Path) -> None:
    import os

    mark = tmp_path / "imported"
    env = dict(os.environ, HARNESS_TEST_IMPORT_MARK=str(mark))
    code = "from harness.runner import resolve_adapters; print(resolve_adapters({})[0])"
    default = subprocess.run(
        [sys.executable, "-c", code.format("None")], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "default" in default and "t-good" not in default
    listing = subprocess.run(
        [sys.executable, "-m", "harness", "list"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "t-good" in listing and "not loaded until named" in listing
    assert not mark.exists(), "a plugin nobody asked for was imported"
    subprocess.run(
        [sys.executable, "-c", code.format("('t-good',)")], env=env, check=True, capture_output=True
    )
    assert mark.exists()


def test_plugin_passing_check_adapter_runs_ok_through_the_cli(plugin_path: Path, tmp_path: Path) -> None:
    """The plugin author's path: check_adapter on the generated tasks, then ``python -m harness``."""
    from harness_test_plugins import LgbmTuner  # the installed copy: the class the CLI loads

    from adapters.testing import GENERATED, check_adapter

    results = check_adapter(LgbmTuner, budget_s=3.0)
    assert [r.task.problem_type for r in results if r.skipped is None] == list(GENERATED)
    out = tmp_path / "out"
    args = ["--task", "breast_cancer", "--budget", "3", "--adapters", "t-lgbm", "--out", str(out), "--quiet"]
    proc = subprocess.run(harness_cmd(*args), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = read_csv(out / "runs.csv")
    assert (row["adapter"], row["status"]) == ("t-lgbm", "ok"), row
    assert int(row["n_trials"]) >= 1 and float(row["test_score"]) > 0.9, row
