"""The leakage flag: a test score above what the run's own valid score and noise allow is marked."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from harness import leakage
from harness.cli import main
from harness.store import Store

pytestmark = pytest.mark.usefixtures("no_leaks")


def random_labels(path: Path, n: int = 400) -> None:
    """Features that say nothing about the label: no honest adapter can beat a coin here."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3))
    y = rng.integers(0, 2, n)
    rows = "".join(f"{a:.4f},{b:.4f},{c:.4f},{t}\n" for (a, b, c), t in zip(x, y, strict=True))
    path.write_text("a,b,c,label\n" + rows)


def test_a_plugin_that_rebuilds_the_test_labels_is_flagged(
    plugin_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "noise.csv"
    random_labels(data)
    out = tmp_path / "out"
    args = ["--task", f"csv:{data}", "--target", "label", "--budget", "2", "--out", str(out), "--quiet"]
    assert main([*args, "--adapters", "t-rebuild,t-good,default"]) == 0
    with Store(out / "harness.db") as s:
        runs = {r.adapter: r for r in s.runs()}
    cheat = runs["t-rebuild"]
    assert cheat.best_config["found"], cheat.best_config
    assert cheat.test_score == 1.0 and cheat.valid_score is not None and cheat.valid_score < 0.7
    assert leakage.flagged(cheat), cheat.task_info.get("leakage")
    assert not leakage.flagged(runs["t-good"]) and not leakage.flagged(runs["default"])
    board = next((out).glob("*/leaderboard.md")).read_text()
    assert f"t-rebuild {leakage.MARK}" in board and f"default {leakage.MARK}" not in board
    summary = (out / "summary.md").read_text()
    [line] = [ln for ln in summary.splitlines() if ln.startswith(f"- {leakage.MARK}")]
    assert "t-rebuild" in line and "--isolate" in line
    rows = list(csv.DictReader(open(out / "runs.csv", newline="")))
    assert {r["adapter"] for r in rows} == {"t-rebuild", "t-good", "default"}


@pytest.mark.parametrize(
    ("metric", "valid", "test", "flag"),
    [
        ("accuracy", 0.944, 1.0, False),  # wine: 34 of 36 on valid, all 36 on test happens
        ("accuracy", 0.80, 0.86, False),
        ("accuracy", 0.45, 1.0, True),
        ("accuracy", 0.50, 0.85, True),
    ],
)
def test_accuracy_flag_uses_the_binomial_bounds(metric: str, valid: float, test: float, flag: bool) -> None:
    n = 200 if valid in (0.80, 0.50) else 36
    y = np.zeros(n, dtype=int)
    res = leakage.check(metric, valid, test, n, y, y, None)
    assert res is not None and res["flagged"] is flag, res


def test_loss_metrics_flag_only_beyond_noise_and_the_refit() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    honest = y + rng.normal(scale=1.0, size=500)  # test rmse about 1.0
    rmse = float(np.sqrt(np.mean((y - honest) ** 2)))
    assert not leakage.check("rmse", 1.05, rmse, 500, y, honest, None)["flagged"]
    assert not leakage.check("rmse", 1.12, rmse, 500, y, honest, None)["flagged"], (
        "a refit may gain this much"
    )
    cheat = y + rng.normal(scale=0.05, size=500)
    c_rmse = float(np.sqrt(np.mean((y - cheat) ** 2)))
    assert leakage.check("rmse", 1.05, c_rmse, 500, y, cheat, None)["flagged"]
    r2 = 1 - np.mean((y - cheat) ** 2) / np.var(y)
    assert leakage.check("r2", 0.0, float(r2), 500, y, cheat, None)["flagged"]
    labels = rng.integers(0, 3, 300)
    sure = np.eye(3)[labels] * 0.98 + 0.02 / 3
    ll = float(-np.mean(np.log(sure[np.arange(300), labels])))
    assert leakage.check("log_loss", 1.05, ll, 300, labels, labels, sure)["flagged"]
    assert not leakage.check("log_loss", ll * 1.2, ll, 300, labels, labels, sure)["flagged"]


def test_roc_auc_flag_uses_the_hanley_mcneil_error() -> None:
    y = np.r_[np.zeros(60, dtype=int), np.ones(40, dtype=int)]
    assert not leakage.check("roc_auc", 0.80, 0.86, 100, y, y, None)["flagged"]
    assert leakage.check("roc_auc", 0.55, 1.0, 100, y, y, None)["flagged"]
    assert leakage.check("accuracy", None, 1.0, 100, y, y, None) is None, "no valid score: nothing to compare"
