"""Split protocols through the CLI: --folds, the user's own test rows, --metric and --image-shape.

Runs of different protocols are never on one board; bad combinations are one line and exit 2.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli import main
from tests import ROOT

pytestmark = pytest.mark.usefixtures("no_leaks", "plugin_path")

MNIST = ROOT.parent / "shared" / "data" / "mnist10k.csv.gz"


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "runs.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A small binary CSV with a column that marks 30 test rows."""
    rng = np.random.default_rng(0)
    n = 150
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n)})
    df["label"] = np.where(df["a"] + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    df["holdout"] = np.where(np.arange(n) >= 120, "test", "")
    path = tmp_path / "table.csv"
    df.to_csv(path, index=False)
    return path


def test_folds_run_each_fold_once_and_never_share_a_board_with_seeded_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    common = ["--task", "wine", "--budget", "1", "--adapters", "t-good,default", "--out", str(out), "--quiet"]
    assert main([*common, "--folds", "3"]) == 0
    fold_runs = rows(out)
    assert sorted((r["adapter"], r["fold"]) for r in fold_runs) == [
        (a, str(k)) for a in ("default", "t-good") for k in range(3)
    ]
    assert {r["protocol"] for r in fold_runs} == {"cv3"} and all(r["status"] == "ok" for r in fold_runs)
    assert main([*common, "--seeds", "2"]) == 0  # the same store: seeded runs are other jobs
    all_runs = rows(out)
    assert len(all_runs) == 6 + 4
    assert {r["protocol"] for r in all_runs if r["fold"] == ""} == {"holdout"}
    board = (out / "wine" / "leaderboard.md").read_text()
    assert "Leaderboard at 1 s, cv3" in board and "folds ok" in board and "seeds ok" in board
    fold_table = board.split("Leaderboard at 1 s, cv3")[1]
    assert "3/3" in fold_table.split("\n## ")[0] and "2/2" not in fold_table.split("\n## ")[0]
    assert main([*common, "--folds", "3"]) == 0 and len(rows(out)) == 10, "resumes: nothing runs twice"


def test_folds_and_seeds_together_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["--task", "wine", "--budget", "1", "--folds", "3", "--seeds", "2", "--out", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "give one of them" in err


def test_own_test_rows_from_a_file_are_the_same_for_every_seed(table: Path, tmp_path: Path) -> None:
    df = pd.read_csv(table).drop(columns="holdout")
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    df.iloc[:120].to_csv(train, index=False)
    df.iloc[120:].to_csv(test, index=False)
    out = tmp_path / "out"
    args = ["--task", f"csv:{train}", "--target", "label", "--test-file", str(test), "--budget", "1"]
    assert main([*args, "--adapters", "t-good", "--seeds", "2", "--out", str(out), "--quiet"]) == 0
    got = rows(out)
    assert [r["protocol"] for r in got] == ["given-test"] * 2 and all(r["status"] == "ok" for r in got)
    from harness.store import Store

    with Store(out / "harness.db") as store:
        splits = [r.split for r in store.runs()]
    assert [s["n_test"] for s in splits] == [30, 30]
    assert splits[0]["test_sha256"] == splits[1]["test_sha256"]
    assert splits[0]["valid_sha256"] != splits[1]["valid_sha256"]


def test_own_test_rows_from_a_column(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--task", f"csv:{table}", "--target", "label", "--test-column", "holdout", "--budget", "1"]
    assert main([*args, "--adapters", "t-good", "--out", str(out), "--quiet"]) == 0
    from harness.store import Store

    with Store(out / "harness.db") as store:
        (run,) = store.runs()
    assert run.split["n_test"] == 30 and run.split["protocol"] == "given-test"
    assert run.task_info["n_cols"] == 2, "the marking column is not a feature"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--metric", "rmse"], "rmse"),
        (["--metric", "nonsense"], "nonsense"),
        (["--image-shape", "28,28"], "--image-shape"),
        (["--test-file", "/no/such/file.csv"], "for csv:PATH tasks"),
        (["--folds", "1"], "at least 2"),
    ],
)
def test_bad_protocol_and_metric_inputs_are_one_line(
    extra: list[str], needle: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--task", "wine", "--budget", "1", *extra, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("harness: error:") and err.count("\n") == 0 and needle in err, err
    assert not (tmp_path / "o" / "harness.db").exists()


def test_metric_is_the_users_choice(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--task", "breast_cancer", "--budget", "1", "--adapters", "t-good", "--metric", "roc_auc"]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    (run,) = rows(out)
    assert run["metric"] == "roc_auc" and run["test_score"] == run["roc_auc"]
    assert main(["--task", "breast_cancer", "--budget", "1", "--adapters", "t-good", "--out", str(out)]) == 0
    assert sorted(r["metric"] for r in rows(out)) == ["accuracy", "roc_auc"], "another metric, another job"


@pytest.mark.skipif(not MNIST.exists(), reason="needs ../shared/data/mnist10k.csv.gz")
def test_pixels_in_a_table_become_an_image_task(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with gzip.open(MNIST, "rt") as fh:
        head = [next(fh) for _ in range(301)]
    data = tmp_path / "digits.csv"
    data.write_text("".join(head))
    out = tmp_path / "out"
    args = ["--task", f"csv:{data}", "--target", "label", "--budget", "1", "--adapters", "t-good"]
    with caplog.at_level("INFO"):
        assert main([*args, "--out", str(out)]) == 0
    assert "add --image-shape 28,28,1" in caplog.text
    from harness.store import Store

    assert main([*args, "--image-shape", "28,28,1", "--out", str(tmp_path / "img"), "--quiet"]) == 0
    with Store(tmp_path / "img" / "harness.db") as store:
        (run,) = store.runs()
    assert run.task_info["image_shape"] == [28, 28, 1] and run.task_info["n_cols"] == 784
    assert main([*args, "--image-shape", "20,20,1", "--out", str(tmp_path / "bad"), "--quiet"]) == 2
