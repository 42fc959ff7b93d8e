"""PNG plots across tasks, one of each per budget: the critical-difference diagram and the win-rate matrix.

Drawn like the per-task plots (:mod:`harness.report.plots`): matplotlib's object API on the Agg canvas,
one file per function, the path returned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.report.crosstask import CrossTask, unjoined
from harness.report.plots import _figure, _save


def cd_diagram(ct: CrossTask, path: Path) -> Path:
    """Average ranks on an axis (1 = best, on the left); a bar joins adapters not significantly different."""
    names = ct.adapters
    k = len(names)
    lo, hi = 1.0, float(max(k, 2))
    cliques = ct.cliques()
    half = (k + 1) // 2
    left, right = names[:half], names[half:]
    rows = max(len(left), len(right))
    loose = unjoined(ct)
    gap = 0.5  # vertical room per label row, in axis units
    top_band = 0.35 + 0.22 * len(cliques)
    fig = _figure(9.0, 1.6 + 0.42 * rows + 0.25 * len(cliques) + (0.3 if loose else 0.0))
    ax = fig.subplots()
    ax.set_axis_off()
    span = hi - lo
    margin = 0.4 * span + 0.2  # the figure's width is fixed: about 1.8 inches each side for the labels
    ax.set_xlim(lo - margin, hi + margin)
    ax.set_ylim(-(top_band + gap * (rows + 0.6)), 0.75)
    ax.plot([lo, hi], [0, 0], color="black", lw=1.2)
    for tick in range(1, int(hi) + 1):
        ax.plot([tick, tick], [0, 0.12], color="black", lw=1)
        ax.text(tick, 0.2, str(tick), ha="center", va="bottom", fontsize=9)
    for i in range(int(hi) - 1):  # half ticks
        ax.plot([i + 1.5, i + 1.5], [0, 0.06], color="black", lw=0.8)
    for side, group in (("left", left), ("right", right)):
        for i, name in enumerate(group if side == "left" else reversed(group)):
            r = ct.avg_rank[name]
            y = -(top_band + gap * (i + 0.5))
            end = lo - 0.15 if side == "left" else hi + 0.15
            ax.plot([r, r, end], [0, y, y], color="#333333", lw=1)
            ax.text(
                end + (-0.05 if side == "left" else 0.05), y, f"{name} ({r:.2f})",
                ha="right" if side == "left" else "left", va="center", fontsize=10,
            )  # fmt: skip
    for c, clique in enumerate(cliques):
        ranks = [ct.avg_rank[a] for a in clique]
        y = -(0.2 + 0.22 * c)
        ax.plot([min(ranks) - 0.04, max(ranks) + 0.04], [y, y], color="#d62728", lw=4, solid_capstyle="round")
    if loose:  # a bar cannot join two adapters with a significantly different one between them
        also = "; ".join(f"{p.a} and {p.b}" for p in loose)
        fig.text(0.5, 0.01, f"also not significantly different: {also}", ha="center", va="bottom", fontsize=9)
    fr = "" if ct.friedman is None else f"; Friedman p = {ct.friedman[1]:.2g}"
    ax.set_title(
        f"{ct.budget_s:g} s: average rank over {len(ct.tasks)} tasks (1 = best){fr}\n"
        "a red bar joins adapters that are not significantly different (Wilcoxon signed-rank, Holm)",
        fontsize=10,
    )
    return _save(fig, path)


def winrate_matrix(ct: CrossTask, path: Path) -> Path:
    """Share of tasks on which the row adapter beats the column adapter (a tie counts half)."""
    from matplotlib import colormaps

    k = len(ct.adapters)
    fig = _figure(max(5.0, 0.9 * k + 3.2), max(4.0, 0.7 * k + 2.0))
    ax = fig.subplots()
    data = np.ma.masked_array(ct.winrate, mask=np.eye(k, dtype=bool))
    cmap = colormaps["RdBu"].with_extremes(bad="#eeeeee")
    im = ax.imshow(data, cmap=cmap, vmin=0.0, vmax=1.0)
    ax.set_xticks(range(k), ct.adapters, rotation=30, ha="right")
    ax.set_yticks(range(k), ct.adapters)
    for i in range(k):
        for j in range(k):
            if i != j:
                v = float(ct.winrate[i, j])
                ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=9,
                        color="white" if abs(v - 0.5) > 0.3 else "black")  # fmt: skip
    ax.set_xlabel("against")
    ax.set_ylabel("adapter")
    fig.colorbar(im, ax=ax, label="share of tasks won (tie = half)")
    ax.set_title(
        f"{ct.budget_s:g} s: how often the row beats the column ({len(ct.tasks)} tasks)", fontsize=10
    )
    return _save(fig, path)
