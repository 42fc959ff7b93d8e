"""The cross-task statistics in words and tables, shared by ``summary.md``, ``index.html`` and the CLI."""

from __future__ import annotations

from tabulate import tabulate

from harness.report import power
from harness.report.crosstask import POSTHOC, WHY_POSTHOC, CrossTask
from harness.report.elo import ANCHOR_RATING
from harness.report.impute import DESCRIBE, imputed_label

NOTES = (
    "Average rank: over the tasks every compared adapter has a score on (1 = best). Elo: a Bradley-Terry "
    f"fit on the 400-point scale to one game per pair and task (a tie counts half), anchored at "
    f"default = {ANCHOR_RATING:g}, with a 95 % interval from 200 seeded bootstrap rounds over tasks. "
    "Pairs: `ahead` is the adapter the Wilcoxon signed ranks favour; only a `significant` pair is a finding. "
    "Win rate: the share of tasks on which an adapter beats another, averaged over the others. Imputed: "
    "results of failed or killed runs that got a score by the imputation policy, of the runs that count "
    "(skipped runs do not)."
)


WINRATE_CAPTION = "Win rate of the row against the column (share of tasks, a tie counts half):"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else "< 0.001"


def _peq(p: float) -> str:
    """``p = 0.014`` or ``p < 0.001``."""
    return f"p = {p:.2g}" if p >= 0.001 else "p < 0.001"


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _tasks(n: int) -> str:
    return f"{n} task{'s' if n != 1 else ''}"


def coverage(ct: CrossTask) -> str:
    """Which tasks and adapters the tests use, and what was left out (empty when nothing was)."""
    parts = []
    if ct.dropped:
        parts.append(
            f"{_names(ct.dropped)} dropped, as a compared adapter has no score there, "
            f"{len(ct.tasks)} of {len(ct.tasks) + len(ct.dropped)} tasks remain"
        )
    if ct.left_out:
        parts.append(f"{_names(ct.left_out)} left out, with a score on too few tasks")
    return "; ".join(parts)


def significance(ct: CrossTask) -> str:
    """The answer to "which differences are real across tasks?" in one or two sentences."""
    n, k = len(ct.tasks), len(ct.adapters)
    where = f"Across {_tasks(n)} at {ct.budget_s:g} s"
    cov = coverage(ct)
    where += f" ({cov})" if cov else ""
    if n < 2 or k < 2:
        return f"{where}: too few tasks or adapters with scores to test any difference across tasks."
    if ct.friedman is not None:
        chi2, p = ct.friedman
        omnibus = f"the Friedman test over {k} adapters gives chi-squared = {chi2:.2f}, {_peq(p)}"
        if not ct.rejects:
            return (
                f"{where}, {omnibus}: no adapter ranks significantly differently from the others, so no "
                "difference between adapters is significant across tasks; the order is a tendency."
            )
        head = f"{where}, {omnibus}, and"
    else:
        head = f"{where},"
    sig = ct.significant()
    how = "Wilcoxon signed-rank over tasks, Holm-corrected"
    if not sig:
        return f"{head} no pair of adapters differs significantly ({how}): the order is a tendency, within noise."
    listed = "; ".join(f"{p.a} better than {p.b} (wins {p.wins} of {n}, {_peq(p.p_holm)})" for p in sig)
    rest = len(ct.pairs) - len(sig)
    tail = f"; the other {rest} pair{'s are' if rest != 1 else ' is'} within noise" if rest else ""
    return f"{head} these differences are significant ({how}): {listed}{tail}."


def policies(ct: CrossTask, tops: dict[str, str | None]) -> str:
    """How failures were scored, how many, and whether the top of the ranking depends on it."""
    total = ct.total.values()
    runs = sum(c.runs for c in total)
    if ct.policy == "drop":
        left = sum(c.left_out for c in total)
        head = (
            f"Failed or killed runs at {ct.budget_s:g} s: {left} of {runs} results left out (--impute drop)"
        )
    else:
        head = (
            f"Failed or killed runs at {ct.budget_s:g} s: {sum(c.imputed for c in total)} of {runs} results "
            f"imputed as {DESCRIBE[ct.policy]} (--impute {ct.policy})"
        )
        left = sum(c.left_out for c in total)
        head += f", {left} left out with nothing to impute from" if left else ""
    skipped = sum(c.skipped for c in total)
    if skipped:
        head += f"; {skipped} skipped run{'s' if skipped != 1 else ''} (task type not supported) left out, not failures"
    others = {p: t for p, t in tops.items() if p != ct.policy}
    if not ct.top or not others:
        return head + "."
    changed = {p: t for p, t in others.items() if t != ct.top}
    if not changed:
        return (
            f"{head}; under --impute {' and --impute '.join(others)} the top of the ranking is the "
            f"same ({ct.top})."
        )
    return (
        f"{head}; the top of the ranking ({ct.top}) changes under another policy: "
        + "; ".join(f"--impute {p}: {t or 'no ranking'}" for p, t in changed.items())
        + "."
    )


def answer(ct: CrossTask, tops: dict[str, str | None]) -> list[str]:
    """The headline sentences of one budget: significance, power, Elo, failures and policies."""
    out = [significance(ct)]
    if ct.power is not None:
        out.append(power.sentence(ct.power))
    if ct.elo is not None and ct.top is not None:
        e = ct.elo
        best = max(e.adapters, key=lambda a: e.rating[a])
        out.append(
            f"Elo at {ct.budget_s:g} s (default = {ANCHOR_RATING:g}): best {best} {e.rating[best]:.0f} "
            f"(95 % interval {e.low[best]:.0f} to {e.high[best]:.0f}); see the table."
        )
    out.append(policies(ct, tops))
    return out


def rank_table(ct: CrossTask) -> tuple[list[str], list[list]]:
    heads = ["adapter", "average rank", "Elo", "Elo 95 % interval", "win rate", "imputed"]
    rows = []
    k = len(ct.adapters)
    for i, a in enumerate(ct.adapters):
        e = ct.elo
        rate = sum(float(ct.winrate[i, j]) for j in range(k) if j != i) / (k - 1) if k > 1 else None
        rows.append(
            [
                a,
                f"{ct.avg_rank[a]:.2f}",
                f"{e.rating[a]:.0f}" if e else "-",
                f"{e.low[a]:.0f} to {e.high[a]:.0f}" if e else "-",
                "-" if rate is None else f"{rate:.0%}",
                imputed_label(ct.counts[a]),
            ]
        )
    for a in ct.left_out:
        rows.append([a, "-", "-", "-", "-", imputed_label(ct.counts[a])])
    return heads, rows


def pair_table(ct: CrossTask) -> tuple[list[str], list[list]]:
    heads = ["ahead", "behind", "wins / ties / losses", "Wilcoxon p", "Holm p", "significant", "imputed"]
    rows = [
        [
            p.a,
            p.b,
            f"{p.wins} / {p.ties} / {p.losses}",
            _p(p.p),
            _p(p.p_holm),
            "yes" if p.significant else "no",
            f"{p.a} {imputed_label(ct.counts[p.a])}, {p.b} {imputed_label(ct.counts[p.b])}",
        ]
        for p in sorted(ct.pairs, key=lambda p: (p.p_holm, p.a, p.b))
    ]
    return heads, rows


def winrate_table(ct: CrossTask) -> tuple[list[str], list[list]]:
    heads = ["adapter", *[f"vs {a}" for a in ct.adapters], "imputed"]
    rows = [
        [
            a,
            *["-" if i == j else f"{float(ct.winrate[i, j]):.0%}" for j in range(len(ct.adapters))],
            imputed_label(ct.counts[a]),
        ]
        for i, a in enumerate(ct.adapters)
    ]
    return heads, rows


def markdown(ct: CrossTask, plots: list[tuple[str, str]]) -> list[str]:
    """The section of one budget; ``plots`` are (path relative to the summary, caption)."""

    def table(t: tuple[list[str], list[list]]) -> str:
        return tabulate(t[1], headers=t[0], tablefmt="github", disable_numparse=True)

    lines = [f"### Across tasks at {ct.budget_s:g} s: which differences are real", ""]
    lines += [significance(ct), "", f"Post-hoc test: {POSTHOC}. {WHY_POSTHOC}", ""]
    for rel, caption in plots:
        lines += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    if ct.adapters:
        lines += [table(rank_table(ct)), ""]
    if ct.pairs:
        lines += [table(pair_table(ct)), ""]
    if len(ct.adapters) > 1 and ct.tasks:
        lines += [WINRATE_CAPTION, ""]
        lines += [table(winrate_table(ct)), ""]
    if ct.power is not None:
        lines += [power.sentence(ct.power), ""]
    return lines


def plain(cts: list[tuple[CrossTask, dict[str, str | None]]]) -> str:
    """The cross-task answer for a terminal: per budget the sentences and the ranking table."""
    parts = []
    for ct, tops in cts:
        lines = [f"Across tasks at {ct.budget_s:g} s (--impute {ct.policy})"]
        lines += [f"- {s}" for s in answer(ct, tops)]
        if ct.adapters:
            heads, rows = rank_table(ct)
            lines.append(tabulate(rows, headers=heads, tablefmt="simple", disable_numparse=True))
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
