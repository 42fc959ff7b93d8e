"""PNG plots of one task, drawn with matplotlib's object API on the Agg canvas (no pyplot state).

Every function writes one file and returns its path. Colours follow the adapter name so that one
adapter has the same colour in every plot.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from harness.report.curves import Anytime, Diagnosis
from harness.report.heatmap import Heatmap
from harness.report.importance import Importance
from harness.report.leaderboard import Board
from harness.report.trials import TrialRow

log = logging.getLogger(__name__)

DPI = 100
TOP_PARAMS = 10


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=DPI, layout="constrained")


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, format="png", metadata={"Software": None})
    os.replace(tmp, path)
    return path


def warm_up() -> None:
    """Draw an empty PNG in memory: matplotlib, its Agg canvas, PNG writer and font cache loaded, so
    that the first real plot starts at once."""
    import io

    _figure(1, 1).savefig(io.BytesIO(), format="png")


def file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "x"


def colours(adapters: list[str]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(adapters) <= 10 else "tab20"]
    return {a: cmap(i % cmap.N) for i, a in enumerate(sorted(adapters))}


def direction(greater_is_better: bool) -> str:
    return "higher is better" if greater_is_better else "lower is better"


def anytime(
    task: str,
    metric: str,
    greater_is_better: bool,
    panels: list[tuple[float, list[Anytime]]],
    palette: dict[str, tuple],
    path: Path,
) -> Path:
    """Best valid score so far against seconds, one panel per budget, one line per adapter."""
    n = len(panels)
    fig = _figure(min(6.5 * n, 16), 4.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (budget, curves) in zip(axes, panels, strict=True):
        for c in curves:
            col = palette.get(c.adapter, "black")
            label = c.adapter + (f" ({c.n_runs} runs)" if c.n_runs > 1 else " (1 run)")
            ax.step(c.t, c.mean, where="post", color=col, lw=2, label=label)
            if c.n_runs > 1:
                ax.fill_between(c.t, c.low, c.high, step="post", color=col, alpha=0.18, lw=0)
        ax.axvline(budget, color="grey", ls="--", lw=1)
        ax.text(
            budget, 1.0, " budget", transform=ax.get_xaxis_transform(), va="top", fontsize=8, color="grey"
        )
        ax.set_xlabel("seconds since the start of fit")
        ax.set_ylabel(f"best valid {metric} so far ({direction(greater_is_better)})")
        ax.set_title(f"budget {budget:g} s")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if greater_is_better else "upper right")
    fig.suptitle(f"{task}: anytime performance (line = mean over seeds, band = min to max)")
    return _save(fig, path)


def test_scores(task: str, boards: list[Board], palette: dict[str, tuple], path: Path) -> Path:
    """Test score of every finished run, one row per adapter (and budget), best at the top."""
    rows = [(b, r) for b in boards for r in b.rows]
    multi = len(boards) > 1
    fig = _figure(8, max(2.5, 0.55 * len(rows) + 1.4))
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    labels = []
    for i, (b, r) in enumerate(reversed(rows)):
        ys = np.array([r.scores[s] for s in sorted(r.scores)])
        col = palette.get(r.adapter, "black")
        if len(ys) >= 3:
            ax.boxplot(
                ys, positions=[i], orientation="horizontal", widths=0.5, showfliers=False,
                medianprops={"color": col}, boxprops={"color": col}, whiskerprops={"color": col},
                capprops={"color": col},
            )  # fmt: skip
        if len(ys):
            ax.scatter(ys, i + rng.uniform(-0.12, 0.12, len(ys)), color=col, s=36, zorder=3, alpha=0.85)
            ax.plot([ys.mean()] * 2, [i - 0.3, i + 0.3], color=col, lw=2.5)
        bad = len(r.runs) - len(r.scores)
        labels.append(
            r.adapter + (f" @ {b.budget_s:g} s" if multi else "") + (f"  ({bad} failed)" if bad else "")
        )
    ax.set_yticks(range(len(rows)), labels)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    metric, better = boards[0].metric, boards[0].greater_is_better
    ax.set_xlabel(f"test {metric} ({direction(better)}); dot = one seed, bar = mean")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{task}: test {metric} per adapter over seeds")
    return _save(fig, path)


def importance(task: str, metric: str, imp: Importance, path: Path) -> Path:
    """Horizontal bars of the share of valid-score variance each hyperparameter explains."""
    items = imp.ranked[:TOP_PARAMS]
    fig = _figure(7.5, max(2.4, 0.42 * len(items) + 1.3))
    ax = fig.subplots()
    names = [p for p, _ in items][::-1]
    vals = [v * 100 for _, v in items][::-1]
    bars = ax.barh(names, vals, color="#4878d0")
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in vals], padding=3, fontsize=9)
    ax.set_xlim(0, max(vals + [1.0]) * 1.18)
    ax.set_xlabel(f"share of the variation in valid {metric} each explains on its own (fANOVA, %)")
    ax.set_title(
        f"{imp.group} on {task}: hyperparameter importance ({imp.n_trials} trials)\n"
        f"together {imp.explained:.0%}; the other {1 - imp.explained:.0%} comes from interactions",
        fontsize=11,
    )
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def heatmap(task: str, metric: str, greater_is_better: bool, hm: Heatmap, path: Path) -> Path:
    """Mean valid score per cell of the two most important hyperparameters, annotated."""
    from matplotlib import colormaps

    fig = _figure(max(6.0, 1.1 * len(hm.x_labels) + 3), max(4.0, 0.6 * len(hm.y_labels) + 2.2))
    ax = fig.subplots()
    cmap = colormaps["viridis" if greater_is_better else "viridis_r"].with_extremes(bad="#dddddd")
    data = np.ma.masked_invalid(hm.mean)
    im = ax.imshow(data, cmap=cmap, aspect="auto", origin="lower")
    ax.set_xticks(range(len(hm.x_labels)), hm.x_labels, rotation=30, ha="right")
    ax.set_yticks(range(len(hm.y_labels)), hm.y_labels)
    finite = hm.mean[np.isfinite(hm.mean)]
    mid = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
    if hm.mean.size <= 80:
        for i in range(hm.mean.shape[0]):
            for j in range(hm.mean.shape[1]):
                v = hm.mean[i, j]
                if np.isfinite(v):
                    light = (v < mid) == greater_is_better
                    ax.text(j, i, f"{v:.3g}\n(n={hm.count[i, j]})", ha="center", va="center",
                            fontsize=8, color="white" if light else "black")  # fmt: skip
    ax.set_xlabel(hm.x)
    ax.set_ylabel(hm.y)
    fig.colorbar(im, ax=ax, label=f"mean valid {metric} ({direction(greater_is_better)})")
    ax.set_title(
        f"{hm.group} on {task}: valid {metric} by {hm.y} and {hm.x}\n({hm.n_trials} trials of {hm.source})"
    )
    return _save(fig, path)


def loss_curves(task: str, trial: TrialRow, diag: Diagnosis, path: Path) -> Path:
    """Train and valid loss per epoch of the best neural-network trial, with the verdict."""
    curve = trial.curve or {}
    train = [float(v) for v in curve.get("train_loss") or []]
    valid = [float(v) for v in curve.get("valid_loss") or [] if v is not None]
    fig = _figure(7.5, 4.5)
    ax = fig.subplots()
    ax.plot(range(1, len(train) + 1), train, marker="o", ms=3, label="train loss", color="#4878d0")
    if valid:
        ax.plot(range(1, len(valid) + 1), valid, marker="o", ms=3, label="valid loss", color="#ee854a")
        best = int(np.argmin(valid))
        ax.axvline(best + 1, color="grey", ls=":", lw=1)
        left = best + 1 > 0.7 * len(valid)
        ax.annotate(f"lowest valid loss\n(epoch {best + 1})", (best + 1, valid[best]), textcoords="offset points",
                    xytext=(-80 if left else 8, 14), fontsize=8)  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(
        f"{task}: loss curves of the best {trial.group} trial ({trial.adapter}, seed {trial.seed}): "
        f"{diag.verdict}",
        fontsize=10,
    )
    return _save(fig, path)
