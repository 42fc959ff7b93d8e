"""Everything reported about one task, computed once from its stored runs and trials."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from harness.report import curves, heatmap, importance, insights, plots
from harness.report.analysis import Plot, TaskAnalysis
from harness.report.leaderboard import build_boards, greater_is_better
from harness.report.trials import by_group, trial_rows
from harness.store import RunRecord

log = logging.getLogger(__name__)

MAX_TUNED_FAMILIES = 6
MAX_ENGINE_LEARNERS = 2  # an engine's most-tried learners; their heatmaps only when no family was tuned
MAX_HEATMAPS = 3


def analyse(task: str, runs: list[RunRecord], deep: bool = True) -> TaskAnalysis:
    """Boards, importance, heatmaps, the loss-curve diagnosis and the insights of one task.

    With ``deep=False`` only the boards and the headline per board (what the summary needs).
    """
    metric = next((r.metric for r in runs if r.metric), None) or "accuracy"
    better = greater_is_better(metric)
    if not deep:
        boards = build_boards(runs)
        return TaskAnalysis(
            task, runs, metric, better, boards, [], insights=[insights.winner(b) for b in boards]
        )
    rows = trial_rows(runs)
    a = TaskAnalysis(task, runs, metric, better, build_boards(runs), rows)
    groups = by_group(rows)
    tuned = [g for g, rs in groups.items() if rs[0].tuner][:MAX_TUNED_FAMILIES]
    engine = [g for g, rs in groups.items() if not rs[0].tuner][:MAX_ENGINE_LEARNERS]
    for name in tuned + engine:
        grows = groups[name]
        if len(grows) < importance.MIN_TRIALS:
            a.importances.append(
                importance.Importance(name, len(grows), note=f"only {len(grows)} finished trials")
            )
            continue
        t0 = time.perf_counter()
        a.importances.append(
            importance.group_importance(
                name, [r.params for r in grows], [float(r.value or 0.0) for r in grows]
            )
        )
        log.debug("importance of %s on %s: %.2f s", name, task, time.perf_counter() - t0)
    if not a.analysed:
        a.missing.append(
            "hyperparameter importance: no model family has enough comparable finished trials "
            f"(at least {importance.MIN_TRIALS} are needed; run a tuning strategy with a longer budget)"
        )
    for imp in ([i for i in a.analysed if i.group in tuned] or a.analysed)[:MAX_HEATMAPS]:
        if len(imp.shares) < 2:
            continue
        x, y = list(imp.shares)[:2]
        hm = heatmap.heatmap(imp.group, groups[imp.group], x, y)
        if hm is not None:
            a.heatmaps.append(hm)
    if a.analysed and not a.heatmaps:
        a.missing.append("heatmap: no family had two varying hyperparameters set in enough trials")
    a.loss_trial = curves.best_curve_trial(rows, better)
    if a.loss_trial is not None and a.loss_trial.curve:
        a.diagnosis = curves.diagnose(
            a.loss_trial.curve.get("train_loss") or [], a.loss_trial.curve.get("valid_loss")
        )
    else:
        a.missing.append(
            "loss curves: no neural-network trial logged a loss curve on this task (try optuna:mlp)"
        )
    if not any(r.status == "ok" for r in runs):
        a.missing.append("test scores: no run finished, so there is nothing to rank (see the failures)")
    a.insights = insights.task_insights(a)
    return a


def render_plots(a: TaskAnalysis, folder: Path) -> list[Plot]:
    """Write the task's PNG files into ``folder`` (stale PNGs there are removed) and record them."""
    folder.mkdir(parents=True, exist_ok=True)
    palette = plots.colours(sorted({r.adapter for r in a.runs}))
    out: list[Plot] = []
    m, better = a.metric, a.greater_is_better
    panels = [(b.budget_s, curves.anytime_curves(a.rows, b.budget_s, better)) for b in a.boards]
    panels = [(b, c) for b, c in panels if c]
    if panels:
        p = plots.anytime(a.task, m, better, panels, palette, folder / "anytime.png")
        out.append(Plot("anytime", p, f"Best valid {m} found so far against seconds of search, per adapter."))
    else:
        a.missing.append("anytime curves: no trial with a valid score and a time was logged")
    if any(r.scores for b in a.boards for r in b.rows):
        p = plots.test_scores(a.task, a.boards, palette, folder / "test_scores.png")
        out.append(Plot("test_scores", p, f"Test {m} of every seed per adapter; the bar is the mean."))
    for imp in a.analysed:
        p = plots.importance(a.task, m, imp, folder / f"importance-{plots.file_stem(imp.group)}.png")
        out.append(Plot("importance", p, f"What explains the valid {m} of {imp.group} (fANOVA)."))
    for hm in a.heatmaps:
        p = plots.heatmap(a.task, m, better, hm, folder / f"heatmap-{plots.file_stem(hm.group)}.png")
        out.append(Plot("heatmap", p, f"Mean valid {m} of {hm.group} over {hm.y} and {hm.x}."))
    if a.loss_trial is not None and a.diagnosis is not None:
        p = plots.loss_curves(a.task, a.loss_trial, a.diagnosis, folder / "loss_curves.png")
        out.append(Plot("loss", p, f"Train and valid loss per epoch of the best {a.loss_trial.group} trial."))
    keep = {p.path.name for p in out}
    for old in folder.glob("*.png"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    a.plots = out
    return out
