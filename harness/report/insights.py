"""One-line answers a person can read: who wins, how sure we are, what mattered, how the net fits."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from harness.report import stats
from harness.report.importance import Importance, _is_number
from harness.report.leaderboard import DEFAULT_ADAPTER, AdapterRow, Board, fmt

if TYPE_CHECKING:
    from harness.report.analysis import TaskAnalysis

OPTIMISM_SHARE = 0.02  # valid looks this fraction better than test: worth a sentence
CORRELATION = 0.3
MIN_CELL = 3
FEW_TRIALS = 30


def names(items: list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def score_text(row: AdapterRow) -> str:
    n = len(row.scores)
    spread = f" ± {fmt(row.sd)}" if row.sd is not None else ""
    return f"{fmt(row.mean)}{spread} over {n} seed{'s' if n != 1 else ''}"


def winner(b: Board) -> str:
    best = b.best
    at = f"At {b.setting} on {b.task}"
    if best is None:
        return f"{at} no run finished, so no method can be recommended; see the failures below."
    n_seeds = len(b.seeds)
    top = [
        r.adapter
        + (f" (only {len(r.scores)} of {n_seeds} seeds finished)" if len(r.scores) < n_seeds else "")
        for r in b.rows
        if r.rank == 1 and r.adapter != best.adapter
    ]
    lower = [r.adapter for r in b.rows if r.rank is not None and r.rank > 1]
    head = f"{at}, {best.adapter} has the best mean test {b.metric} ({score_text(best)})"
    if len([r for r in b.rows if r.scores]) == 1:
        return head + ", but it is the only adapter that finished a run."
    if b.ranking.tested == 0:
        n = len(b.seeds)
        return (
            f"{head}, but with {n} seed{'s' if n != 1 else ''} no difference can be tested, so treat "
            f"it as tied with the others; run at least {stats.MIN_SEEDS} seeds (e.g. --seeds 5) to separate them."
        )
    if not top:
        return (
            f"{head} and it is significantly better than every other adapter (paired t-test, Holm-corrected)."
        )
    tail = f"; {names(lower)} {'is' if len(lower) == 1 else 'are'} significantly worse" if lower else ""
    return f"{head}, but a paired t-test over seeds (Holm-corrected) cannot tell it apart from {names(top)}{tail}."


def versus_default(b: Board) -> str | None:
    best, base = b.best, b.default
    if best is None or base is None or base.mean is None:
        return None
    if best.adapter == DEFAULT_ADAPTER:
        return (
            f"No strategy beat the default configuration at {b.budget_s:g} s on {b.task} "
            f"(default: {fmt(base.mean)}): tuning did not pay off at this budget."
        )
    if best.gain is None:
        return None
    rel = abs(best.gain) / abs(base.mean) if base.mean else None
    pct = f" ({rel:.1%})" if rel is not None else ""
    verb = "improved" if best.gain > 0 else "worsened"
    return (
        f"Against the default configuration, {best.adapter} {verb} the test {b.metric} by "
        f"{fmt(abs(best.gain))}{pct} on average over the same seeds."
    )


def optimism_note(b: Board) -> str | None:
    rows = [r for r in b.rows if r.optimism is not None and r.mean]
    if not rows:
        return None
    worst = max(rows, key=lambda r: ((r.optimism or 0.0) / abs(r.mean or 1.0), r.adapter))
    share = (worst.optimism or 0.0) / abs(worst.mean or 1.0)
    if share > OPTIMISM_SHARE:
        return (
            f"{worst.adapter}'s validation {b.metric} looks {fmt(worst.optimism)} better than its test "
            f"{b.metric} ({share:.0%}): its search overfits the validation split, so expect its test score "
            "to be worse than the tuning suggested."
        )
    return (
        f"Validation and test {b.metric} agree within {OPTIMISM_SHARE:.0%} for every adapter at "
        f"{b.budget_s:g} s: no sign that tuning overfits the validation split."
    )


def fairness(b: Board) -> str:
    parts = []
    over = [
        (r.worst_overrun, r.adapter) for r in b.rows if r.worst_overrun is not None and r.worst_overrun > 1.0
    ]
    for ratio, adapter in sorted(over, reverse=True):
        # in seconds too: a whole-percent share hides the small overruns (0.4 s of 30 s is "0%")
        parts.append(
            f"{adapter} ran up to {(ratio - 1) * b.budget_s:.1f} s ({ratio - 1:.1%}) over its budget"
        )
    for r in b.rows:
        if r.killed:
            parts.append(
                f"{r.killed} run{'s' if r.killed > 1 else ''} of {r.adapter} were killed at the hard deadline"
            )
        if r.failed:
            reason = next((x.reason for x in r.runs if x.status != "ok" and x.reason), None)
            why = f" ({reason[:90]})" if reason else ""
            parts.append(
                f"{r.adapter} failed {r.failed} of {len(r.runs)} run{'s' if len(r.runs) > 1 else ''}{why}"
            )
    if not parts:
        worst = max((r.worst_overrun for r in b.rows if r.worst_overrun is not None), default=None)
        within = f" (worst fit/budget {worst:.2f})" if worst is not None else ""
        return f"Budget fairness at {b.budget_s:g} s: every run finished within its budget{within}."
    return f"Budget fairness at {b.budget_s:g} s: " + "; ".join(parts) + "."


def trend(a: TaskAnalysis, group: str, param: str) -> str:
    """'higher values scored better' when the parameter and the score are rank-correlated."""
    rows = [r for r in a.rows if r.group == group and r.value is not None and r.status == "ok"]
    pairs = [(float(r.params[param]), float(r.value or 0.0)) for r in rows if _is_number(r.params.get(param))]
    if len(pairs) < 5:
        return ""
    x, y = np.array(pairs).T
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return ""
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    rho = float(np.corrcoef(rx, ry)[0, 1])
    if not a.greater_is_better:
        rho = -rho
    if rho >= CORRELATION:
        return f"; higher {param} tended to score better"
    if rho <= -CORRELATION:
        return f"; lower {param} tended to score better"
    return ""


def importance_sentence(a: TaskAnalysis, imp: Importance) -> str:
    (top, share), *rest = imp.ranked
    what = f"the variation in valid {a.metric} of {imp.group} on {a.task}"
    second = rest[0][1] if rest else 0.0
    if share >= 0.5:
        head = f"{top} explains most ({share:.0%}) of {what}"
    elif share >= 0.2 and share >= 2 * second:
        head = f"{top} explains the largest share ({share:.0%}) of {what}"
    else:
        head = f"No single hyperparameter dominates {what}: {top} explains the most, {share:.0%}"
    if not rest:
        follow = ""
    elif second >= 0.01:
        follow = f", followed by {rest[0][0]} ({second:.0%})"
    else:
        follow = ", and no other hyperparameter explains even 1%"
    few = "; too few for a firm conclusion" if imp.n_trials < FEW_TRIALS else ""
    return f"{head}{follow}{trend(a, imp.group, top)} (fANOVA over {imp.n_trials} trials{few})."


def _engine(group: str) -> bool:
    return ":" in group


def heatmap_sentence(a: TaskAnalysis, groups: set[str]) -> list[str]:
    out = []
    for hm in a.heatmaps:
        if hm.group not in groups or not np.isfinite(hm.mean).any():
            continue
        # the best cell among the well-filled ones: a cell of one trial is mostly noise
        filled = hm.count[hm.count > 0]
        enough = hm.count >= min(MIN_CELL, max(1, int(np.median(filled))))
        flat = np.where(enough, hm.mean, -np.inf if a.greater_is_better else np.inf)
        i, j = np.unravel_index(int(np.argmax(flat) if a.greater_is_better else np.argmin(flat)), flat.shape)
        out.append(
            f"For {hm.group}, the best region is {hm.y} = {hm.y_labels[i]} with {hm.x} = {hm.x_labels[j]} "
            f"(mean valid {a.metric} {hm.mean[i, j]:.3g} over {hm.count[i, j]} trial"
            f"{'s' if hm.count[i, j] != 1 else ''} of {hm.source})."
        )
    return out


def loss_sentence(a: TaskAnalysis) -> str | None:
    t, d = a.loss_trial, a.diagnosis
    if t is None or d is None:
        return None
    who = f"The best neural-network trial ({t.group} from {t.adapter}, seed {t.seed})"
    verdict = {
        "overfitting": "overfits",
        "underfitting": "underfits",
        "fine": "looks well fitted",
        "unclear": "cannot be judged",
    }[d.verdict]
    return f"{who} {verdict}: {d.reason}."


def task_insights(a: TaskAnalysis) -> list[str]:
    out: list[str] = []
    for b in a.boards:
        out.append(winner(b))
        for s in (versus_default(b), optimism_note(b), fairness(b)):
            if s:
                out.append(s)
    # the families the strategies tuned; an engine's learners only when no family was tuned
    shown = [i for i in a.analysed if not _engine(i.group)] or a.analysed[:1]
    for imp in shown:
        out.append(importance_sentence(a, imp))
    groups = {i.group for i in shown}
    out += heatmap_sentence(a, groups)
    s = loss_sentence(a)
    if s:
        out.append(s)
    return out
