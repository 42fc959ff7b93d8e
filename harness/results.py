"""What ``harness.run`` returns and ``harness.load`` reads: an output directory's runs as DataFrames.

Everything comes from the store (``harness.db``), rendered by the report's own code: ``runs`` are
the rows of ``runs.csv``, ``leaderboard(task)`` the table of ``<task>/leaderboard.md`` and
``summary()`` the table of ``summary.md``. pandas is imported when a table is first asked for.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.store import STORE_FILE, RunRecord

if TYPE_CHECKING:
    import pandas as pd

SHOWN_TASKS = 10  # leaderboards shown by the notebook's rendering; the rest are named
BRIEF = ("rank", "adapter", "seeds ok", "folds ok", "failures")  # the repr's columns, with the test score


def load(out: str | Path = "results", impute: str = "default") -> Results:
    """The results stored in the output directory ``out`` (as ``harness.run`` returned them).

    ``impute`` scores failed runs in ``summary()``: ``default``, ``worst`` or ``drop`` (``--impute``).
    """
    from harness.store import Store, check_store

    out = Path(out)
    db = out / STORE_FILE
    if not db.is_file():
        raise HarnessError(f"no store at {db}; run a benchmark first or point out= at its directory")
    if impute not in ("default", "worst", "drop"):
        raise HarnessError(f"--impute must be default, worst or drop, got {impute!r}")
    check_store(db)  # another program's file or a newer store is refused untouched
    with Store(db) as store:
        return Results(out, store.runs(), impute)


class Results:
    """The runs stored in ``out``: ``runs``, ``leaderboard(task)``, ``summary()`` (pandas DataFrames)."""

    def __init__(self, out: Path, records: list[RunRecord], impute: str = "default") -> None:
        self.out = out
        self.records = records
        self.impute = impute
        self._runs: pd.DataFrame | None = None

    @property
    def tasks(self) -> list[str]:
        return sorted({r.task for r in self.records})

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: the columns of ``runs.csv``, written by the same code."""
        if self._runs is None:
            import pandas as pd

            from harness.report.files import write_runs_csv

            with tempfile.TemporaryDirectory(prefix="harness-runs-") as tmp:
                path = Path(tmp) / "runs.csv"
                write_runs_csv(self.records, path)
                self._runs = pd.read_csv(path)
        return self._runs.copy()

    def leaderboard(self, task: str, budget: float | None = None) -> pd.DataFrame:
        """The ranked leaderboard of ``task`` (one block per budget, ``budget_s`` first), best first."""
        from harness.report.leaderboard import board_rows, build_boards

        runs = [r for r in self.records if r.task == task and (budget is None or r.budget_s == budget)]
        if not runs:
            at = f" at {budget:g} s" if budget is not None else ""
            raise HarnessError(
                f"no runs of task {task!r}{at} in {self.out}; its tasks: {', '.join(self.tasks) or 'none'}"
            )
        boards = build_boards(runs)
        several = len({b.setting for b in boards}) > len({b.budget_s for b in boards})
        frames = []
        for board in boards:
            heads, rows = board_rows(board)
            frame = _frame(heads, rows)
            if several:  # another protocol or setup: say which
                frame.insert(0, "setting", board.setting)
            frame.insert(0, "budget_s", board.budget_s)
            frames.append(frame)
        return _concat(frames)

    def summary(self) -> pd.DataFrame:
        """The table across tasks per budget (``summary.md``): average rank, wins, normalised score..."""
        from harness.report.leaderboard import build_boards
        from harness.report.summary import summarise, table_rows

        frames = []
        for s in summarise(build_boards(self.records), self.impute):
            heads, rows = table_rows(s)
            frame = _frame(heads, rows)
            frame.insert(0, "budget_s", s.budget_s)
            frames.append(frame)
        return _concat(frames)

    # --- how it shows ---
    def _headline(self) -> str:
        ok = sum(r.status == "ok" for r in self.records)
        budgets = ", ".join(f"{b:g} s" for b in sorted({r.budget_s for r in self.records})) or "-"
        adapters = len({r.adapter for r in self.records})
        tasks = ", ".join(self.tasks) or "no task"
        return (
            f"{len(self.records)} runs ({ok} ok) of {adapters} adapters on {tasks} at {budgets}, "
            f"stored in {self.out}"
        )

    def __repr__(self) -> str:
        parts = [f"<harness Results: {self._headline()}>"]
        for task in self.tasks[:SHOWN_TASKS]:
            board = self.leaderboard(task)
            score = [c for c in board.columns if str(c).endswith("(test)")][:1]
            cols = [c for c in ("budget_s", *BRIEF[:2], *score, *BRIEF[2:]) if c in board.columns]
            parts.append(f"\n{task}\n{board[cols].to_string(index=False)}")
        parts.append("\n.runs, .leaderboard(task) and .summary() are DataFrames")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        parts = [f"<p><b>harness results</b>: {html.escape(self._headline())}</p>"]
        for task in self.tasks[:SHOWN_TASKS]:
            parts.append(f"<h4>{html.escape(task)}</h4>")
            parts.append(self.leaderboard(task).to_html(index=False))
        rest = self.tasks[SHOWN_TASKS:]
        if rest:
            parts.append(f"<p>and {len(rest)} more tasks: {html.escape(', '.join(rest))}</p>")
        return "\n".join(parts)


def _frame(heads: list[str], rows: list[list[Any]]) -> pd.DataFrame:
    """A table's rows as a DataFrame; a column whose every cell is a number becomes numeric."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=heads)
    for col in frame.columns:
        try:
            frame[col] = pd.to_numeric(frame[col])
        except (TypeError, ValueError):  # "0.97 ± 0.01", "-": kept as shown in the reports
            pass
    return frame


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
