"""Failed runs get a score by a declared policy, so that cross-task statistics never hide them.

A run that failed, timed out or was killed for memory is a result: dropping it silently would make an
adapter that crashes on hard tasks look better. Each policy gives such a run a score on the same task
and seed (or fold), which keeps the comparison paired:

- ``default`` (the default policy): the ``default`` adapter's score on that task and seed, i.e. a
  failed tuner is worth no more than not tuning. When the default adapter has no score there either,
  the ``worst`` rule applies.
- ``worst``: the worst score any adapter got on that task and seed.
- ``drop``: the run is left out (the adapter's task score is the mean of its other seeds; with none
  left it has no score on that task).

A ``skipped`` run (the adapter does not support the task type) is not a failure: it is left out under
every policy. A failure with nothing to impute from (no adapter finished that seed) is left out too.
Every count is kept so that every table can say how many results were imputed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from harness.report.leaderboard import AdapterRow, Board

POLICIES = ("default", "worst", "drop")
DEFAULT_POLICY = "default"
DESCRIBE = {
    "default": "the default adapter's score on the same task and seed (the worst score there if the "
    "default has none)",
    "worst": "the worst score any adapter got on the same task and seed",
    "drop": "left out (an adapter with no score left on a task has no result there)",
}


@dataclass
class Cell:
    """One adapter on one task: its scores per seed (finished or imputed) and what became of its runs."""

    scores: dict[int, float] = field(default_factory=dict)
    runs: int = 0  # runs that count (skipped runs do not)
    imputed: int = 0
    left_out: int = 0  # failures that got no score (policy drop, or nothing to impute from)
    skipped: int = 0

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.scores.values()) if self.scores else None


@dataclass
class TaskScores:
    """One board (task at a budget) after imputation."""

    task: str
    greater_is_better: bool
    cells: dict[str, Cell]

    def means(self) -> dict[str, float]:
        """Each adapter's score on this task: its mean over seeds; adapters without one are absent."""
        return {a: m for a, c in self.cells.items() if (m := c.mean) is not None}


def _seed_state(row: AdapterRow, seed: int) -> str | None:
    """``ok``, ``failed`` (failed, killed, or unscorable), ``skipped``, or None when never run."""
    if seed in row.scores:
        return "ok"
    statuses = {r.status for r in row.runs if r.seed == seed}
    if not statuses:
        return None
    return "skipped" if statuses == {"skipped"} else "failed"


def impute_board(board: Board, policy: str = DEFAULT_POLICY) -> TaskScores:
    """Scores of every adapter on every seed of ``board`` with failures handled by ``policy``."""
    if policy not in POLICIES:
        raise ValueError(f"unknown imputation policy {policy!r}; one of {', '.join(POLICIES)}")
    worst_of = min if board.greater_is_better else max
    base = board.default
    cells: dict[str, Cell] = {}
    for row in board.rows:
        cell = cells[row.adapter] = Cell()
        for seed in board.seeds:
            state = _seed_state(row, seed)
            if state is None:
                continue
            if state == "skipped":
                cell.skipped += 1
                continue
            cell.runs += 1
            if state == "ok":
                cell.scores[seed] = row.scores[seed]
                continue
            value = None
            finished = [r.scores[seed] for r in board.rows if seed in r.scores]
            if policy == "default" and base is not None and seed in base.scores:
                value = base.scores[seed]
            elif policy in ("default", "worst") and finished:
                value = worst_of(finished)
            if value is None:
                cell.left_out += 1
            else:
                cell.scores[seed] = value
                cell.imputed += 1
    return TaskScores(board.task, board.greater_is_better, cells)


def impute(boards: list[Board], policy: str = DEFAULT_POLICY) -> list[TaskScores]:
    return [impute_board(b, policy) for b in boards]


def counts(tables: list[TaskScores], adapter: str) -> Cell:
    """An adapter's counts summed over ``tables`` (``scores`` left empty)."""
    total = Cell()
    for t in tables:
        c = t.cells.get(adapter)
        if c is not None:
            total.runs += c.runs
            total.imputed += c.imputed
            total.left_out += c.left_out
            total.skipped += c.skipped
    return total


def imputed_label(c: Cell) -> str:
    """``2/56`` imputed of the runs that count, with failures left out and skipped runs if any."""
    text = f"{c.imputed}/{c.runs}"
    extra = []
    if c.left_out:
        extra.append(f"{c.left_out} left out")
    if c.skipped:
        extra.append(f"{c.skipped} skipped")
    return text + (f" ({', '.join(extra)})" if extra else "")
