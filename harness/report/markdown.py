"""The per-task ``leaderboard.md``: header, answers, one table per budget, plots, importance, failures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from harness.report.leaderboard import COLUMN_NOTES, board_rows, build_boards, header
from harness.store import RunRecord

if TYPE_CHECKING:
    from harness.report.analysis import TaskAnalysis


def _tables(task_boards: list) -> list[str]:
    lines: list[str] = []
    for b in task_boards:
        lines += (
            ["", f"## Leaderboard at {b.setting}", ""] if len(task_boards) > 1 else ["## Leaderboard", ""]
        )
        heads, table = board_rows(b)
        lines.append(tabulate(table, headers=heads, tablefmt="github", disable_numparse=True))
    return lines


def _importance(a: TaskAnalysis) -> list[str]:
    lines = ["", "## Hyperparameter importance", ""]
    lines.append(
        "Share of the variation in the valid score that each hyperparameter explains on its own (main "
        "effects from Optuna's fANOVA evaluator) on the trials of every strategy that tuned the family "
        "(AutoML engines per learner); what the shares leave out comes from interactions."
    )
    for imp in a.analysed:
        lines += ["", f"**{imp.group}** ({imp.n_trials} trials; together {imp.explained:.0%})", ""]
        table = [[p, f"{v:.0%}"] for p, v in imp.ranked]
        lines.append(tabulate(table, headers=["hyperparameter", "share"], tablefmt="github"))
    skipped = [f"{i.group} ({i.note})" for i in a.importances if not i.shares]
    if skipped:
        lines += ["", "Not analysed: " + "; ".join(skipped) + "."]
    return lines


def task_markdown(
    task: str, runs: list[RunRecord], a: TaskAnalysis | None, folder: Path | None = None
) -> str:
    """The leaderboard file; with an analysis it also holds the answers, plots and importance."""
    boards = a.boards if a is not None else build_boards(runs)
    lines = header(task, runs)
    if a is not None and a.insights:
        lines += ["## The answer", ""] + [f"- {s}" for s in a.insights] + [""]
    lines += _tables(boards)
    lines += ["", COLUMN_NOTES]
    if a is not None:
        if a.plots:
            lines += ["", "## Plots", ""]
            for p in a.plots:
                rel = p.path.relative_to(folder) if folder is not None else p.path
                lines += [f"![{p.caption}]({rel.as_posix()})", "", f"*{p.caption}*", ""]
        if a.analysed:
            lines += _importance(a)
        if a.missing:
            lines += ["", "## Not shown", ""] + [f"- {m}" for m in a.missing]
    bad = [r for r in runs if r.status != "ok"]
    if bad:
        lines += ["", "## Runs that did not finish", ""]
        lines += [
            f"- {r.adapter} seed {r.seed} ({r.budget_s:g} s): **{r.status}**: {r.reason or '-'}" for r in bad
        ]
    return "\n".join(lines) + "\n"
