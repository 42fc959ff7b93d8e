"""Ranked leaderboards per task and budget, computed from stored runs (never from memory).

A :class:`Board` holds one task at one budget: per adapter the mean and standard deviation of the
test score over seeds, a rank that only separates adapters a paired test can tell apart
(:mod:`harness.report.stats`), the gain over the ``default`` adapter, the optimism of the valid score
over the test score, and budget fairness (worst overrun, killed runs, failures).
"""

from __future__ import annotations

import platform
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tabulate import tabulate

from adapters.base import SEARCH_EXHAUSTED
from harness import leakage, machine
from harness.fingerprint import board_groups
from harness.report import stats
from harness.store import RunRecord
from tasks.metrics import METRICS
from tasks.splits import HOLDOUT, protocol_of

DEFAULT_ADAPTER = "default"
KILLED = ("timeout", "memory")


def greater_is_better(metric: str | None) -> bool:
    m = METRICS.get(metric or "")
    return True if m is None else m.greater_is_better


@dataclass
class AdapterRow:
    """One adapter at one budget on one task."""

    adapter: str
    budget_s: float
    runs: list[RunRecord]
    scores: dict[int, float]  # seed -> test score, finished runs only
    rank: int | None = None
    mean: float | None = None
    sd: float | None = None
    gain: float | None = None  # mean paired improvement over the default adapter, positive = better
    optimism: float | None = None  # mean (valid - test), positive = valid looks better than test

    @property
    def ok(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status == "ok" and r.test_score is not None]

    @property
    def killed(self) -> int:
        return sum(r.status in KILLED for r in self.runs)

    @property
    def failed(self) -> int:
        return sum(r.status not in ("ok", *KILLED) for r in self.runs) + sum(
            r.status == "ok" and r.test_score is None for r in self.runs
        )

    @property
    def worst_overrun(self) -> float | None:
        vals = [r.overrun for r in self.runs if r.overrun is not None]
        return max(vals) if vals else None

    @property
    def mean_fit_s(self) -> float | None:
        vals = [r.fit_s for r in self.runs if r.fit_s is not None]
        return statistics.fmean(vals) if vals else None

    @property
    def cpu_use(self) -> float | None:
        """Median over runs of the share of ``cores x fit s`` the run's process tree used during fit."""
        vals = [r.cpu_use for r in self.runs if r.cpu_use is not None]
        return statistics.median(vals) if vals else None

    @property
    def energy_j(self) -> float | None:
        """Median over runs of the processors' energy during fit (only where a power meter was read)."""
        vals = [r.energy_j for r in self.runs if r.energy_j is not None]
        return statistics.median(vals) if vals else None

    @property
    def mean_valid(self) -> float | None:
        vals = [r.valid_score for r in self.ok if r.valid_score is not None]
        return statistics.fmean(vals) if vals else None

    def mean_metric(self, metric: str) -> float | None:
        vals = [r.metrics[metric] for r in self.ok if r.metrics.get(metric) is not None]
        return statistics.fmean(vals) if vals else None

    def best_run(self, better: bool) -> RunRecord | None:
        ok = self.ok
        if not ok:
            return None
        return (max if better else min)(ok, key=lambda r: (r.test_score or 0.0, -r.seed))


@dataclass
class Board:
    """One task at one budget."""

    task: str
    metric: str
    greater_is_better: bool
    budget_s: float
    rows: list[AdapterRow]  # best first
    ranking: stats.Ranking
    seeds: list[int] = field(default_factory=list)  # the seeds, or the folds of a fold protocol
    protocol: str = HOLDOUT  # tasks.splits: how the runs split their rows

    @property
    def repetition(self) -> str:
        """What pairs the runs: ``fold`` (cvK, openml-cvK) or ``seed``."""
        return "fold" if "cv" in self.protocol else "seed"

    @property
    def setting(self) -> str:
        """The budget, the protocol unless it is the seeded holdout, and how the setup differs from
        the task's newest (:func:`harness.fingerprint.board_groups`): ``30 s``, ``30 s, cv5, --cores 2``."""
        first = next((r for row in self.rows for r in row.runs), None)
        base = board_task(first) if first is not None else self.task
        other = self.task[len(base) :].strip(" []") if self.task.startswith(base) else ""
        return (
            f"{self.budget_s:g} s"
            + ("" if self.protocol == HOLDOUT else f", {self.protocol}")
            + (f", {other}" if other else "")
        )

    def row(self, adapter: str) -> AdapterRow | None:
        return next((r for r in self.rows if r.adapter == adapter), None)

    @property
    def default(self) -> AdapterRow | None:
        return self.row(DEFAULT_ADAPTER)

    @property
    def best(self) -> AdapterRow | None:
        scored = [r for r in self.rows if r.mean is not None]
        if not scored:
            return None
        return (max if self.greater_is_better else min)(scored, key=lambda r: r.mean or 0.0)


def board_task(r: RunRecord) -> str:
    """The task as a board names it: with its split protocol unless that is the seeded holdout.

    Runs of different protocols (``wine`` and ``wine [cv5]``) are different experiments: they are
    never on one board, never paired and never averaged.
    """
    protocol = protocol_of(r.split)
    return r.task if protocol == HOLDOUT else f"{r.task} [{protocol}]"


def build_boards(runs: list[RunRecord]) -> list[Board]:
    """One board per (task and protocol, budget, setup), in task then budget order.

    Runs whose fingerprints differ are never averaged or paired (:func:`harness.fingerprint.board_groups`):
    other data, cores, memory limit or metric make another board, other library versions another row.
    """
    return [_board(task, budget, rs) for task, budget, rs in board_groups(runs, board_task)]


def _board(task: str, budget: float, runs: list[RunRecord]) -> Board:
    metric = next((r.metric for r in runs if r.metric), None) or "accuracy"
    better = greater_is_better(metric)
    by_adapter: dict[str, list[RunRecord]] = defaultdict(list)
    for r in runs:
        by_adapter[r.adapter].append(r)
    rows = []
    for adapter, rs in by_adapter.items():
        rs = sorted(rs, key=lambda r: (r.seed, r.id or 0))
        scores = {r.seed: float(r.test_score) for r in rs if r.status == "ok" and r.test_score is not None}
        row = AdapterRow(adapter, budget, rs, scores)
        row.mean, row.sd = stats.mean_sd([scores[s] for s in sorted(scores)])
        pairs = [(r.valid_score, r.test_score) for r in row.ok if r.valid_score is not None]
        row.optimism = stats.optimism(pairs, better)  # type: ignore[arg-type]
        rows.append(row)
    ranking = stats.rank_groups({row.adapter: row.scores for row in rows}, better)
    base = by_name(rows).get(DEFAULT_ADAPTER)
    for row in rows:
        row.rank = ranking.ranks[row.adapter]
        if base is not None:
            row.gain = stats.paired_gain(row.scores, base.scores, better)
    order = ranking.order({r.adapter: r.mean for r in rows}, better)
    rows = [by_name(rows)[a] for a in order]
    seeds = sorted({r.seed for r in runs})
    return Board(task, metric, better, budget, rows, ranking, seeds, protocol_of(runs[0].split))


def by_name(rows: list[AdapterRow]) -> dict[str, AdapterRow]:
    return {r.adapter: r for r in rows}


# --- formatting ---
def fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}g}" if abs(x) >= 1000 else f"{x:.{digits}f}"


def fmt_signed(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else ("+" if x >= 0 else "−") + fmt(abs(x), digits)


EXHAUSTED_NOTE = "search exhausted"  # marks a best configuration whose strategy had nothing more to try


def short_config(cfg: dict, limit: int = 60) -> str:
    parts = []
    for k, v in cfg.items():
        if str(k).startswith("_"):
            continue
        parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    text = ", ".join(parts)
    if cfg.get(SEARCH_EXHAUSTED):  # the adapter ran out of proposals: a low fit / budget is by design
        text = f"{EXHAUSTED_NOTE}; {text}" if text else EXHAUSTED_NOTE
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _joules(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def failures(runs: list[RunRecord]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for r in runs:
        if r.status != "ok":
            counts[r.status] += 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "0"


def _first_reason(runs: list[RunRecord]) -> str:
    for r in runs:
        if r.reason:
            return f"{r.status}: {r.reason}"[:120]
    return "-"


def board_rows(
    board: Board, with_metrics: bool = True, config_limit: int = 60
) -> tuple[list[str], list[list]]:
    """Headers and cells of a board's table (shared by markdown, the CLI and HTML)."""
    others = (
        sorted({m for row in board.rows for r in row.ok for m in r.metrics} - {board.metric})
        if with_metrics
        else []
    )
    n_seeds = len(board.seeds)
    metered = any(row.energy_j is not None for row in board.rows)  # no meter, no column: never an estimate
    table: list[list[Any]] = []
    for row in board.rows:
        score = "-"
        if row.mean is not None:
            score = fmt(row.mean) + (f" ± {fmt(row.sd)}" if row.sd is not None else "")
        best = row.best_run(board.greater_is_better)
        fit = row.mean_fit_s
        table.append(
            [
                row.rank if row.rank is not None else "-",
                row.adapter + (f" {leakage.MARK}" if any(leakage.flagged(r) for r in row.runs) else ""),
                score,
                f"{len(row.scores)}/{n_seeds}",
                "-" if row.adapter == DEFAULT_ADAPTER else fmt_signed(row.gain),
                fmt(row.mean_valid),
                fmt_signed(row.optimism),
                *[fmt(row.mean_metric(m)) for m in others],
                "-" if fit is None else f"{fit:.1f} / {board.budget_s:g}",
                fmt(row.cpu_use, 2),
                *([_joules(row.energy_j)] if metered else []),
                "-" if row.worst_overrun is None else f"{row.worst_overrun:.2f}",
                row.killed,
                failures(row.runs),
                f"{statistics.fmean([r.n_trials for r in row.runs]):.0f}",
                short_config(best.best_config, config_limit) if best else _first_reason(row.runs),
            ]
        )
    heads = [
        "rank",
        "adapter",
        f"{board.metric} (test)",
        f"{board.repetition}s ok",
        "vs default",
        "valid",
        "valid − test",
        *others,
        "fit s / budget",
        "CPU use",
        *(["energy J"] if metered else []),
        "worst overrun",
        "killed",
        "failures",
        "trials",
        "best configuration",
    ]
    return heads, table


def metric_rows(board: Board) -> tuple[list[str], list[list]]:
    """Every other test metric per adapter (mean over finished seeds), in the board's order."""
    others = sorted({m for row in board.rows for r in row.ok for m in r.metrics} - {board.metric})
    heads = ["adapter", *others]
    return heads, [[row.adapter, *[fmt(row.mean_metric(m)) for m in others]] for row in board.rows]


def leaderboard_table(runs: list[RunRecord], fmt: str = "github", with_metrics: bool = True) -> str:
    """The leaderboard of one task's runs as text (one table per budget), e.g. for the CLI."""
    if not runs:
        return "(no runs)"
    boards = build_boards(runs)
    parts = []
    for board in boards:
        heads, table = board_rows(board, with_metrics)
        text = tabulate(table, headers=heads, tablefmt=fmt, disable_numparse=True)
        parts.append(text if len(boards) == 1 else f"budget {board.setting}\n{text}")
    return "\n\n".join(parts)


def header(task: str, runs: list[RunRecord]) -> list[str]:
    info = runs[0].task_info if runs else {}
    budgets = sorted({r.budget_s for r in runs})
    versions: dict[str, str] = {}
    for r in runs:
        versions.update(r.versions)
    seeds = sorted({r.seed for r in runs})
    return [
        f"# Leaderboard: {task}",
        "",
        f"- task: **{task}** ({info.get('problem_type', '?')}, {info.get('n_rows', '?')} rows x "
        f"{info.get('n_cols', '?')} features), primary metric **{runs[0].metric if runs else '?'}** "
        f"on the held-out test set",
        f"- budget per run: {', '.join(f'{b:g} s' for b in budgets)}; cores per run: "
        f"{', '.join(str(c) for c in sorted({r.cores for r in runs}))}; seeds: {len(seeds)}",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in sorted(versions.items())) or '-'}; "
        f"Python {platform.python_version()}",
        f"- {machine.sentence(r.task_info for r in runs)}",
        f"- made: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
    ]


COLUMN_NOTES = (
    "Test score: mean ± standard deviation over the seeds that finished (`seeds ok`). "
    f"Rank: {stats.METHOD}. "
    "`vs default`: mean paired gain over the `default` adapter on the same seeds (positive = better). "
    "`valid − test`: how much better the validation score looks than the test score (positive and large = "
    "the tuning overfits its validation set; AutoML engines report their own internal validation). "
    "`fit s / budget`: mean wall seconds of `fit` over the budget; `CPU use`: the core-seconds the run's "
    "whole process tree used during `fit` (exited descendants included, start-up not) over `cores x fit "
    "seconds`, median over runs (1.00 = every granted core busy throughout; `cpu_method` in runs.csv says "
    "how it was counted); `energy J` (only where the machine has a RAPL power meter): the processors' "
    "energy during `fit`, median over runs; `worst overrun`: the largest fit/budget "
    "of any run; `killed`: runs stopped at the hard deadline or for memory. Failed, killed and skipped runs "
    "are counted under `failures` and never hidden. "
    f"{leakage.MARK} after an adapter: a run's test score beats its own best validation score by more than "
    "noise explains (it may have seen test labels; see summary.md)."
)
