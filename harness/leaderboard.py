"""Ranked leaderboards per task, rendered from stored runs (never from memory)."""

from __future__ import annotations

import platform
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from tabulate import tabulate

from harness.store import RunRecord
from tasks.metrics import METRICS


@dataclass
class Row:
    adapter: str
    budget_s: float
    runs: list[RunRecord]

    @property
    def ok(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status == "ok" and r.test_score is not None]

    def mean(self, metric: str | None = None) -> float | None:
        vals = [(r.metrics.get(metric) if metric else r.test_score) for r in self.ok]
        vals = [v for v in vals if v is not None]
        return statistics.fmean(vals) if vals else None

    def sd(self) -> float | None:
        vals = [r.test_score for r in self.ok if r.test_score is not None]
        return statistics.stdev(vals) if len(vals) > 1 else None


def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}g}" if abs(x) >= 1000 else f"{x:.{digits}f}"


def short_config(cfg: dict, limit: int = 60) -> str:
    items = [(k, v) for k, v in cfg.items() if not str(k).startswith("_")]
    parts = []
    for k, v in items:
        if isinstance(v, float):
            v = f"{v:.3g}"
        parts.append(f"{k}={v}")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failures(runs: list[RunRecord]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for r in runs:
        if r.status != "ok":
            counts[r.status] += 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "0"


def rows_for(runs: list[RunRecord]) -> list[Row]:
    groups: dict[tuple[str, float], list[RunRecord]] = defaultdict(list)
    for r in runs:
        groups[(r.adapter, r.budget_s)].append(r)
    return [Row(a, b, rs) for (a, b), rs in groups.items()]


def rank_rows(rows: list[Row], metric: str) -> list[Row]:
    better = METRICS[metric].greater_is_better if metric in METRICS else True

    def key(row: Row) -> tuple[float, float, str]:
        m = row.mean()
        if m is None:
            return (1.0, 0.0, row.adapter)
        return (0.0, -m if better else m, row.adapter)

    return sorted(rows, key=key)


def header(task: str, runs: list[RunRecord]) -> list[str]:
    info = runs[0].task_info if runs else {}
    budgets = sorted({r.budget_s for r in runs})
    versions: dict[str, str] = {}
    for r in runs:
        versions.update(r.versions)
    seeds = sorted({r.seed for r in runs})
    lines = [
        f"# Leaderboard: {task}",
        "",
        f"- task: **{task}** ({info.get('problem_type', '?')}, {info.get('n_rows', '?')} rows x "
        f"{info.get('n_cols', '?')} features), primary metric **{runs[0].metric if runs else '?'}** "
        f"on the held-out test set",
        f"- budget per run: {', '.join(f'{b:g} s' for b in budgets)}; cores per run: "
        f"{', '.join(str(c) for c in sorted({r.cores for r in runs}))}; seeds: {len(seeds)}",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in sorted(versions.items())) or '-'}; "
        f"Python {platform.python_version()}",
        f"- made: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
    ]
    return lines


def leaderboard_table(runs: list[RunRecord], fmt: str = "github") -> str:
    if not runs:
        return "(no runs)"
    metric = runs[0].metric or "accuracy"
    others = sorted({m for r in runs for m in r.metrics} - {metric})
    multi_budget = len({r.budget_s for r in runs}) > 1
    table = []
    for i, row in enumerate(rank_rows(rows_for(runs), metric), start=1):
        mean, sd = row.mean(), row.sd()
        ok = row.ok
        valid = [r.valid_score for r in ok if r.valid_score is not None]
        fits = [r.fit_s for r in row.runs if r.fit_s is not None]
        overruns = [r.overrun for r in row.runs if r.overrun is not None]
        best = None
        if ok:
            better = METRICS[metric].greater_is_better if metric in METRICS else True
            best = (max if better else min)(ok, key=lambda r: r.test_score or 0.0)
        score = "-" if mean is None else _fmt(mean) + (f" ± {_fmt(sd)}" if sd is not None else "")
        line = [i if mean is not None else "-", row.adapter]
        if multi_budget:
            line.append(f"{row.budget_s:g}")
        line += [score] + [_fmt(row.mean(m)) for m in others]
        line += [
            _fmt(statistics.fmean(valid)) if valid else "-",
            f"{statistics.fmean(fits):.1f} / {row.budget_s:g}" if fits else "-",
            f"{max(overruns):.2f}" if overruns else "-",
            f"{statistics.fmean([r.n_trials for r in row.runs]):.0f}",
            failures(row.runs),
            short_config(best.best_config) if best else _first_reason(row.runs),
        ]
        table.append(line)
    heads = ["rank", "adapter"] + (["budget s"] if multi_budget else [])
    heads += (
        [f"{metric} (test)"] + others + ["valid", "fit s / budget", "worst overrun", "trials", "failures"]
    )
    heads += ["best configuration"]
    return tabulate(table, headers=heads, tablefmt=fmt, disable_numparse=True)


def _first_reason(runs: list[RunRecord]) -> str:
    for r in runs:
        if r.reason:
            return f"{r.status}: {r.reason}"[:120]
    return "-"


def leaderboard_markdown(task: str, runs: list[RunRecord]) -> str:
    notes = [
        "",
        "Mean ± standard deviation over seeds. `fit s / budget`: mean wall seconds of `fit` over the budget; "
        "`worst overrun`: the largest fit/budget of any run (killed runs included). Failed, killed and "
        "skipped runs are counted under `failures` and never hidden.",
    ]
    bad = [r for r in runs if r.status != "ok"]
    if bad:
        notes += ["", "## Runs that did not finish", ""]
        notes += [
            f"- {r.adapter} seed {r.seed} ({r.budget_s:g} s): **{r.status}**: {r.reason or '-'}" for r in bad
        ]
    return "\n".join(header(task, runs) + [leaderboard_table(runs)] + notes) + "\n"
