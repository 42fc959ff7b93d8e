"""Across tasks, per budget: average rank, wins, the normalised score, failures; who wins at which budget.

Failed runs are scored by the imputation policy (:mod:`harness.report.impute`) before anything is
ranked; the statistics across tasks (Friedman, post-hoc, Elo, win rates, power) are in
:mod:`harness.report.crosstask` and are worded by :mod:`harness.report.crosstext`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from harness.report import crosstext, stats
from harness.report.analysis import Plot
from harness.report.crosstask import CrossTask, cross_task, tops
from harness.report.impute import DEFAULT_POLICY, DESCRIBE, Cell, impute, imputed_label
from harness.report.insights import names
from harness.report.leaderboard import Board

# The median, not the mean: where the default is within a hair of the best, one adapter's ratio on
# that task can be -20 and would outweigh every other task in a mean.
NORMALISED = (
    "normalised score: 0 = the default adapter, 1 = the best adapter on that task; the median over tasks"
)

CPU_NOTE = (
    "CPU use: the core-seconds the run's whole process tree used during fit over `cores x fit seconds`, "
    "the median over each task's runs, then over tasks (1.00 = every granted core busy; an adapter that "
    "leaves cores idle reads below)."
)

POLICY_NOTE = {
    p: f"Every score here counts failed or killed runs: policy `--impute {p}`, a failed run's result is "
    f"{DESCRIBE[p]}; skipped runs (the adapter does not support the task) are left out under every policy."
    for p in DESCRIBE
}


@dataclass
class AdapterSummary:
    adapter: str
    ranks: list[float] = field(default_factory=list)
    wins: int = 0
    top_group: int = 0
    normalised: list[float] = field(default_factory=list)
    runs: int = 0
    not_ok: int = 0
    worse_on: int = 0  # tasks where some adapter is significantly better (rank > 1)
    counts: Cell = field(default_factory=Cell)  # imputed, left out and skipped runs
    cpu_uses: list[float] = field(default_factory=list)  # per task: the board's CPU use (median over runs)

    @property
    def avg_rank(self) -> float | None:
        return statistics.fmean(self.ranks) if self.ranks else None

    @property
    def median_normalised(self) -> float | None:
        return statistics.median(self.normalised) if self.normalised else None

    @property
    def cpu_use(self) -> float | None:
        """Median over tasks of the adapter's CPU use during fit (share of ``cores x fit s``)."""
        return statistics.median(self.cpu_uses) if self.cpu_uses else None


@dataclass
class BudgetSummary:
    budget_s: float
    tasks: list[str]
    adapters: list[AdapterSummary]  # best average rank first
    undefined_norm: list[str]  # tasks where the default was the best (normalisation undefined)
    seeds: int = 0  # the fewest seeds any task of this budget was run with
    tested: int = 0  # pairs of adapters that had enough shared seeds for a test, over all tasks
    policy: str = DEFAULT_POLICY  # how failed runs were scored
    cross: CrossTask | None = None  # the statistics across tasks
    tops: dict[str, str | None] = field(default_factory=dict)  # the top of the ranking per policy
    plots: list[Plot] = field(default_factory=list)  # the cross-task PNGs, once rendered


def summarise(boards: list[Board], policy: str = DEFAULT_POLICY) -> list[BudgetSummary]:
    by_budget: dict[float, list[Board]] = defaultdict(list)
    for b in boards:
        by_budget[b.budget_s].append(b)
    return [_budget(budget, bs, policy) for budget, bs in sorted(by_budget.items())]


def _budget(budget: float, boards: list[Board], policy: str = DEFAULT_POLICY) -> BudgetSummary:
    acc: dict[str, AdapterSummary] = {}
    undefined = []
    tables = {t.task: t for t in impute(boards, policy)}
    for b in sorted(boards, key=lambda b: b.task):
        table = tables[b.task]
        means = table.means()  # after imputation; adapters without a score have no rank here
        ranks = stats.plain_ranks(dict(means), b.greater_is_better)
        best = (max if b.greater_is_better else min)(means.values()) if means else None
        base = means.get(b.default.adapter) if b.default else None
        if best is not None and base is not None and best == base:
            undefined.append(b.task)
        for r in b.rows:
            s = acc.setdefault(r.adapter, AdapterSummary(r.adapter))
            s.runs += len(r.runs)
            s.not_ok += len(r.runs) - len(r.scores)
            c = table.cells[r.adapter]
            s.counts.runs += c.runs
            s.counts.imputed += c.imputed
            s.counts.left_out += c.left_out
            s.counts.skipped += c.skipped
            if r.cpu_use is not None:
                s.cpu_uses.append(r.cpu_use)
            if r.rank == 1:
                s.top_group += 1
            elif r.rank is not None:
                s.worse_on += 1
            mean = means.get(r.adapter)
            if mean is None:
                continue
            s.ranks.append(ranks[r.adapter])
            if mean == best:
                s.wins += 1
            n = stats.normalised(mean, base, best)
            if n is not None:
                s.normalised.append(n)
    order = sorted(
        acc.values(), key=lambda s: (s.avg_rank if s.avg_rank is not None else 1e9, -s.wins, s.adapter)
    )
    return BudgetSummary(
        budget,
        sorted({b.task for b in boards}),
        order,
        undefined,
        seeds=min(len(b.seeds) for b in boards),
        tested=sum(b.ranking.tested for b in boards),
        policy=policy,
        cross=cross_task(budget, boards, policy),
        tops=tops(budget, boards),
    )


def _f(x: float | None, d: int = 2) -> str:
    return "-" if x is None else f"{x:.{d}f}"


def table_rows(s: BudgetSummary) -> tuple[list[str], list[list]]:
    heads = ["adapter", "average rank", "wins", "top rank group", "normalised score", "tasks", "failed runs"]
    heads += ["CPU use", "imputed"]
    n = len(s.tasks)
    rows = [
        [
            a.adapter,
            _f(a.avg_rank),
            f"{a.wins}/{n}",
            f"{a.top_group}/{n}",
            _f(a.median_normalised) + (f" ({len(a.normalised)} tasks)" if 0 < len(a.normalised) < n else ""),
            len(a.ranks),
            f"{a.not_ok}/{a.runs}",
            _f(a.cpu_use),
            imputed_label(a.counts),
        ]
        for a in s.adapters
    ]
    return heads, rows


def summary_insights(summaries: list[BudgetSummary]) -> list[str]:
    out = []
    for s in summaries:
        if not s.adapters:
            continue
        lead = s.adapters[0]
        n = len(s.tasks)
        norm = lead.median_normalised
        gap = (
            f", and closes {norm:.0%} of the gap between the default and the best adapter on the median task"
            if norm is not None and lead.adapter != "default"
            else ""
        )
        out.append(
            f"At {s.budget_s:g} s over {n} task{'s' if n != 1 else ''} ({', '.join(s.tasks)}), {lead.adapter} "
            f"ranks best on average (mean rank {_f(lead.avg_rank)}), has the best mean test score on "
            f"{lead.wins} of the {n}{gap}."
        )
        out.append(_how_sure(s))
        if s.cross is not None:
            out += crosstext.answer(s.cross, s.tops)
        failing = [a for a in s.adapters if a.not_ok]
        if failing:
            out.append(
                "Runs that did not finish: "
                + "; ".join(f"{a.adapter} {a.not_ok} of {a.runs}" for a in failing)
                + " (counted, never hidden; see each task's leaderboard)."
            )
        if s.undefined_norm:
            out.append(
                f"On {names(s.undefined_norm)} the default adapter was the best, so the normalised score is "
                "undefined there and left out of its median."
            )
    if len(summaries) > 1:
        picks = [f"{s.budget_s:g} s: {s.adapters[0].adapter}" for s in summaries if s.adapters]
        differ = len({tuple(s.tasks) for s in summaries}) > 1
        note = " (the budgets were run on different tasks: compare them with care)" if differ else ""
        out.append(
            "Which strategy wins at which budget (best average rank): " + "; ".join(picks) + note + "."
        )
    return out


def _how_sure(s: BudgetSummary) -> str:
    """How much of the ranking the paired tests support: which differences are within noise."""
    n, m = len(s.tasks), len(s.adapters)
    seeds = f"{s.seeds} seed{'s' if s.seeds != 1 else ''}"
    if not s.tested:
        return (
            f"How sure: with {seeds} per task no difference can be tested (a paired test needs "
            f"{stats.MIN_SEEDS} seeds); the ranks are single runs, so read small differences as noise."
        )
    worse = [a for a in s.adapters if a.worse_on]
    if not worse:
        return (
            f"How sure: over {seeds} the paired tests cannot tell any two adapters apart at "
            f"{s.budget_s:g} s on {'any task' if n > 1 else 'this task'}: the order above is within noise."
        )
    top = sum(1 for a in s.adapters if a.top_group == n)
    where = ", ".join(f"{a.adapter} ({a.worse_on} task{'s' if a.worse_on != 1 else ''})" for a in worse)
    return (
        f"How sure: over {seeds} the paired tests separate few adapters at {s.budget_s:g} s: {top} of {m} "
        f"are in the top rank group on every task, and significantly worse than another adapter "
        f"somewhere are only {where}. The average ranks of the rest are a tendency, within noise."
    )


def summary_markdown(
    summaries: list[BudgetSummary],
    tasks: dict[str, str],
    folder: Path | None = None,
    machines: str | None = None,
) -> str:
    """``tasks`` maps each task to its leaderboard path relative to the summary file in ``folder``;
    ``machines`` is :func:`harness.execution.machine.sentence` of the runs."""
    lines = ["# Summary across tasks", ""]
    lines += [f"- tasks: {', '.join(f'[{t}]({p})' for t, p in sorted(tasks.items()))}"]
    lines += [f"- budgets: {', '.join(f'{s.budget_s:g} s' for s in summaries) or '-'}"]
    lines += [f"- {machines}", ""] if machines else [""]
    ins = summary_insights(summaries)
    if ins:
        lines += ["## The answer", ""] + [f"- {x}" for x in ins] + [""]
    for s in summaries:
        heads, rows = table_rows(s)
        lines += [f"## Budget {s.budget_s:g} s", ""]
        lines.append(tabulate(rows, headers=heads, tablefmt="github", disable_numparse=True))
        lines.append("")
        if s.cross is not None:
            plots = [(_rel(p.path, folder), p.caption) for p in s.plots]
            lines += crosstext.markdown(s.cross, plots)
    if len(summaries) > 1:
        lines += ["## Which strategy wins at which budget", ""]
        rows = [
            [f"{s.budget_s:g}", s.adapters[0].adapter, _f(s.adapters[0].avg_rank), _most_wins(s)]
            for s in summaries
            if s.adapters
        ]
        lines.append(
            tabulate(
                rows,
                headers=["budget s", "best average rank", "rank", "most wins"],
                tablefmt="github",
                disable_numparse=True,
            )
        )
        lines.append("")
    lines += [
        "Average rank: rank of the mean test score on each task (1 = best, ties share the average rank), "
        "averaged over the tasks where the adapter has a score (`tasks`). Wins: tasks where the adapter "
        "has the best mean test score (ties count for each). Top rank group: tasks where the adapter has "
        f"rank 1, i.e. no adapter is significantly better ({stats.METHOD}). "
        f"The {NORMALISED}. Failed runs: runs that did not finish (failed, killed or skipped). "
        f"{CPU_NOTE} "
        f"{POLICY_NOTE[summaries[0].policy if summaries else DEFAULT_POLICY]} {crosstext.NOTES}",
    ]
    return "\n".join(lines) + "\n"


def _rel(path: Path, folder: Path | None) -> str:
    return (path.relative_to(folder) if folder is not None else path).as_posix()


def _most_wins(s: BudgetSummary) -> str:
    top = max(a.wins for a in s.adapters)
    return f"{', '.join(a.adapter for a in s.adapters if a.wins == top)} ({top})"
