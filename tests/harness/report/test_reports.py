"""The files a run leaves behind: leaderboards, summary, plots and HTML, from real and synthetic stores."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from PIL import Image

from harness.report.files import write_reports
from harness.store import Store
from tests.harness.report.conftest import fill_synthetic, run_record


def render(out: Path, force: bool = False) -> list[Path]:
    with Store(out / "harness.db") as s:
        return write_reports(s, out, force=force)


def pngs(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(folder.glob("*.png"))}


def assert_real_png(path: Path) -> None:
    assert path.stat().st_size > 5000, path
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width >= 300 and im.height >= 200, (path, im.size)
        assert len(im.convert("L").getcolors(maxcolors=1 << 16) or []) > 20, f"{path} looks blank"


@pytest.mark.slow
def test_every_plot_for_a_small_real_run(real_run: Path) -> None:
    d = real_run / "breast_cancer"
    plots = pngs(d / "plots")
    assert {
        "anytime.png",
        "test_scores.png",
        "loss_curves.png",
        "importance-gbm.png",
        "heatmap-gbm.png",
    } <= set(plots)
    for p in plots.values():
        assert_real_png(p)
    board = (d / "leaderboard.md").read_text()
    for piece in (
        "## The answer",
        "| rank",
        "vs default",
        "valid − test",
        "worst overrun",
        "killed",
        "plots/anytime.png",
    ):
        assert piece in board, piece
    assert re.search(r"(explains|dominates) .* valid accuracy of gbm on breast_cancer", board)
    assert re.search(
        r"The best neural-network trial \(mlp from optuna:mlp, seed 0\) (overfits|underfits|looks well fitted|cannot be judged): ",
        board,
    )
    assert "with 1 seed no difference can be tested" in board
    html = (d / "report.html").read_text()
    assert html.count("<img ") == len(plots) and "data:image/png;base64," in html
    assert 'src="plots/' not in html, "the page must be self-contained"
    summary = (real_run / "summary.md").read_text()
    assert "| adapter" in summary and "average rank" in summary and "breast_cancer" in summary
    assert "breast_cancer/report.html" in (real_run / "index.html").read_text()


def test_synthetic_store_answers_the_questions(synthetic_store: Path) -> None:
    paths = render(synthetic_store)
    d = synthetic_store / "synth"
    assert [p.name for p in paths] == ["leaderboard.md", "summary.md", "index.html"]
    board = (d / "leaderboard.md").read_text()
    # random is clearly better than default over 3 seeds (constant gain 0.06)
    assert "random has the best mean test accuracy" in board
    assert "significantly worse" in board
    assert re.search(
        r"learning_rate explains most \(\d+%\) of the variation in valid accuracy of gbm on synth", board
    )
    assert re.search(
        r"learning_rate explains most \(\d+%\) of the variation in valid accuracy of mlp on synth", board
    )
    assert "flaml failed 1 of 2 runs (RuntimeError: boom)" in board
    assert "flaml ran up to 3.0 s (30.0%) over its budget" in board
    assert "## Runs that did not finish" in board and "flaml seed 0" in board
    assert "flaml:lgbm (only 3 finished trials)" in board  # engines are analysed per learner, not mixed in
    plots = pngs(d / "plots")
    assert {"importance-gbm.png", "importance-mlp.png", "heatmap-gbm.png", "loss_curves.png"} <= set(plots)
    summary = (synthetic_store / "summary.md").read_text()
    row = next(line for line in summary.splitlines() if line.startswith("| random"))
    assert "| 1/1" in row and "1.00" in row
    assert "flaml 1 of 2" in summary


def test_heatmap_comes_from_the_grid(synthetic_store: Path) -> None:
    render(synthetic_store)
    board = (synthetic_store / "synth" / "leaderboard.md").read_text()
    assert "trials of the grid strategy" in board
    assert re.search(r"For gbm, the best region is \w+ = [^ ]+ with \w+ = [^ ]+", board)


def test_only_failed_runs_still_render(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Store(out / "harness.db") as s:
        for seed in range(2):
            s.add_run(
                run_record("dead", "random", seed, None, status="failed", reason="ValueError: bad data")
            )
            s.add_run(
                run_record(
                    "dead", "flaml", seed, None, status="timeout", reason="killed at 11 s", overrun=1.1
                )
            )
    render(out)
    board = (out / "dead" / "leaderboard.md").read_text()
    assert "no run finished, so no method can be recommended" in board
    assert "no run finished, so there is nothing to rank" in board
    assert "2 runs of flaml were killed at the hard deadline" in board
    assert "hyperparameter importance: no model family" in board
    assert "loss curves: no neural-network trial" in board
    assert pngs(out / "dead" / "plots") == {}
    assert "<img" not in (out / "dead" / "report.html").read_text()
    assert "random 2 of 2" in (out / "summary.md").read_text()


def test_one_seed_and_no_network(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Store(out / "harness.db") as s:
        fill_synthetic(s, task="solo", seeds=1, failed=False)
        s.add_run(run_record("other", "default", 0, 0.9))
        s.add_run(run_record("other", "random", 0, 0.9))
    render(out)
    board = (out / "solo" / "leaderboard.md").read_text()
    assert "with 1 seed no difference can be tested" in board
    other = (out / "other" / "leaderboard.md").read_text()
    assert "No strategy beat the default configuration" in other
    assert "loss curves: no neural-network trial logged a loss curve" in other
    summary = (out / "summary.md").read_text()
    assert "the default adapter was the best, so the normalised score is undefined" in summary
    assert "How sure: with 1 seed per task no difference can be tested (a paired test needs 3" in summary


def test_several_budgets_say_who_wins_where(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Store(out / "harness.db") as s:
        for task in ("t1", "t2"):
            for seed in range(3):
                for budget, fast, slow in ((5.0, 0.85, 0.80), (60.0, 0.86, 0.90)):
                    s.add_run(run_record(task, "default", seed, 0.7, budget=budget))
                    s.add_run(run_record(task, "random", seed, fast + 0.001 * seed, budget=budget))
                    s.add_run(run_record(task, "optuna", seed, slow + 0.001 * seed, budget=budget))
    render(out)
    summary = (out / "summary.md").read_text()
    assert "Which strategy wins at which budget (best average rank): 5 s: random; 60 s: optuna." in summary
    assert "run on different tasks" not in summary
    # the steady seed-to-seed differences are significant: the summary says which ones
    assert re.search(
        r"How sure: over 3 seeds the paired tests separate few adapters at 5 s: 1 of 3 are in the top "
        r"rank group on every task, and significantly worse than another adapter somewhere are only "
        r"optuna \(2 tasks\), default \(2 tasks\)\.",
        summary,
    ), summary
    assert "## Leaderboard at 60 s" in (out / "t1" / "leaderboard.md").read_text()


def test_differences_within_noise_are_called_so(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Store(out / "harness.db") as s:
        for seed, (a, b) in enumerate(((0.80, 0.82), (0.84, 0.81), (0.79, 0.83))):
            s.add_run(run_record("noisy", "default", seed, a))
            s.add_run(run_record("noisy", "random", seed, b))
    render(out)
    summary = (out / "summary.md").read_text()
    assert (
        "How sure: over 3 seeds the paired tests cannot tell any two adapters apart at 10 s on this "
        "task: the order above is within noise." in summary
    ), summary


def test_budgets_over_different_tasks_are_compared_with_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Store(out / "harness.db") as s:
        for task, budget in (("t1", 30.0), ("t2", 30.0), ("t1", 120.0)):
            s.add_run(run_record(task, "default", 0, 0.7, budget=budget))
            s.add_run(run_record(task, "random", 0, 0.8, budget=budget))
    render(out)
    assert (
        "30 s: random; 120 s: random (the budgets were run on different tasks: compare them with care)."
        in (out / "summary.md").read_text()
    )


def test_stale_plots_are_removed_and_output_is_deterministic(synthetic_store: Path) -> None:
    render(synthetic_store)
    plots = synthetic_store / "synth" / "plots"
    (plots / "importance-gone.png").write_bytes(b"old")
    first = {n: p.read_bytes() for n, p in pngs(plots).items() if n != "importance-gone.png"}
    render(synthetic_store, force=True)
    again = {n: p.read_bytes() for n, p in pngs(plots).items()}
    assert again == first


def test_unchanged_tasks_are_not_rendered_again(synthetic_store: Path) -> None:
    with Store(synthetic_store / "harness.db") as s:
        s.add_run(run_record("other", "default", 0, 0.7))
    render(synthetic_store)
    synth, other = synthetic_store / "synth", synthetic_store / "other"
    before = {p: p.stat().st_mtime_ns for p in [synth / "report.html", other / "report.html"]}
    time.sleep(0.05)
    with Store(synthetic_store / "harness.db") as s:
        s.add_run(run_record("other", "random", 0, 0.8))
    render(synthetic_store)
    assert (synth / "report.html").stat().st_mtime_ns == before[synth / "report.html"]
    assert (other / "report.html").stat().st_mtime_ns > before[other / "report.html"]
    assert "random" in (other / "leaderboard.md").read_text()
    summary = (synthetic_store / "summary.md").read_text()
    assert "[synth]" in summary and "[other]" in summary
    assert (
        "At 10 s on synth, random has the best mean test accuracy"
        in (synthetic_store / "index.html").read_text()
    )
    (synth / "report.html").unlink()  # a missing file is rendered again
    render(synthetic_store)
    assert (synth / "report.html").exists()


@pytest.mark.slow
def test_reports_for_a_few_hundred_trials_are_quick(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Store(out / "harness.db") as s:
        for task in ("a", "b"):
            fill_synthetic(s, task=task, seeds=3)
        n = sum(len(r.trials) for r in s.runs(with_trials=True))
    assert n > 300
    t0 = time.perf_counter()
    render(out)
    took = time.perf_counter() - t0
    assert took < 60, f"write_reports took {took:.1f} s for {n} trials"
