"""What is reported about one task: the boards, the trial analyses and the plots, as one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.report import curves, heatmap, importance
from harness.report.leaderboard import Board
from harness.report.trials import TrialRow
from harness.store import RunRecord


@dataclass(frozen=True)
class Plot:
    kind: str  # anytime, test_scores, importance, heatmap, loss
    path: Path
    caption: str


@dataclass
class TaskAnalysis:
    task: str
    runs: list[RunRecord]
    metric: str
    greater_is_better: bool
    boards: list[Board]
    rows: list[TrialRow]
    importances: list[importance.Importance] = field(default_factory=list)
    heatmaps: list[heatmap.Heatmap] = field(default_factory=list)
    loss_trial: TrialRow | None = None
    diagnosis: curves.Diagnosis | None = None
    plots: list[Plot] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what could not be shown, and why
    insights: list[str] = field(default_factory=list)

    @property
    def analysed(self) -> list[importance.Importance]:
        return [i for i in self.importances if i.shares]
