"""Self-contained HTML pages: one per task (images embedded as base64) and an index across tasks."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from harness.report import crosstext, power
from harness.report.crosstask import POSTHOC, WHY_POSTHOC
from harness.report.leaderboard import COLUMN_NOTES, board_rows, metric_rows
from harness.report.summary import (
    CPU_NOTE,
    NORMALISED,
    POLICY_NOTE,
    BudgetSummary,
    summary_insights,
    table_rows,
)

if TYPE_CHECKING:
    from harness.report.analysis import TaskAnalysis

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
padding:0 1rem;color:#222;line-height:1.45}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td{white-space:nowrap}td:last-child{white-space:normal;min-width:16rem}tr:nth-child(even) td{background:#fafafa}
.answer li{margin:.3rem 0}.meta{color:#555;font-size:.9rem}.note{color:#555;font-size:.85rem}
figure{margin:1.2rem 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9rem}
.scroll{overflow-x:auto}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _prose(text: str) -> str:
    """Escaped text with markdown's `code` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _table(heads: list[str], rows: list[list]) -> str:
    return (
        '<div class="scroll">'
        + tabulate(rows, headers=heads, tablefmt="html", disable_numparse=True)
        + "</div>"
    )


def _list(items: list[str], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<ul{attr}>" + "".join(f"<li>{_prose(x)}</li>" for x in items) + "</ul>"


def image_tag(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def task_page(a: TaskAnalysis, index_href: str = "../index.html") -> str:
    runs = a.runs
    info = runs[0].task_info if runs else {}
    budgets = ", ".join(b.setting for b in a.boards)
    seeds = len({r.seed for r in runs})
    body = [
        f'<p class="meta"><a href="{_e(index_href)}">all tasks</a></p>',
        f"<h1>{_e(a.task)}</h1>",
        f'<p class="meta">{_e(info.get("problem_type", "?"))}, {_e(info.get("n_rows", "?"))} rows x '
        f"{_e(info.get('n_cols', '?'))} features; primary metric <b>{_e(a.metric)}</b> on the held-out test "
        f"set; budget per run {_e(budgets)}; {seeds} seed{'s' if seeds != 1 else ''}; {len(runs)} runs.</p>",
    ]
    if a.insights:
        body += ["<h2>The answer</h2>", _list(a.insights, "answer")]
    for b in a.boards:
        body.append(f"<h2>Leaderboard at {b.setting}</h2>")
        body.append(_table(*board_rows(b, with_metrics=False, config_limit=200)))
        heads, rows = metric_rows(b)
        if len(heads) > 1:
            body.append(f"<h3>Other test metrics at {b.setting} (mean over {b.repetition}s)</h3>")
            body.append(_table(heads, rows))
    body.append(f'<p class="note">{_prose(COLUMN_NOTES)}</p>')
    if a.plots:
        body.append("<h2>Plots</h2>")
        for p in a.plots:
            body.append(
                f"<figure>{image_tag(p.path, p.caption)}<figcaption>{_e(p.caption)}</figcaption></figure>"
            )
    if a.analysed:
        body.append("<h2>Hyperparameter importance</h2>")
        for imp in a.analysed:
            body.append(
                f"<h3>{_e(imp.group)} ({imp.n_trials} trials; main effects together {imp.explained:.0%})</h3>"
            )
            body.append(_table(["hyperparameter", "share"], [[p, f"{v:.0%}"] for p, v in imp.ranked]))
    if a.missing:
        body += ["<h2>Not shown</h2>", _list(a.missing)]
    bad = [r for r in runs if r.status != "ok"]
    if bad:
        body.append("<h2>Runs that did not finish</h2>")
        body.append(
            _list(
                [f"{r.adapter} seed {r.seed} ({r.budget_s:g} s): {r.status}: {r.reason or '-'}" for r in bad]
            )
        )
    return _page(f"{a.task}: harness report", body)


def _cross(s: BudgetSummary) -> list[str]:
    """The statistics across tasks of one budget: the verdict, the plots and the tables."""
    ct = s.cross
    if ct is None:
        return []
    body = [
        f"<h3>Which differences are real at {s.budget_s:g} s</h3>",
        f"<p>{_prose(crosstext.significance(ct))}</p>",
        f'<p class="note">Post-hoc test: {_e(POSTHOC)}. {_e(WHY_POSTHOC)}</p>',
    ]
    for p in s.plots:
        body.append(
            f"<figure>{image_tag(p.path, p.caption)}<figcaption>{_e(p.caption)}</figcaption></figure>"
        )
    if ct.adapters:
        body.append(_table(*crosstext.rank_table(ct)))
    if ct.pairs:
        body.append(_table(*crosstext.pair_table(ct)))
    if len(ct.adapters) > 1 and ct.tasks:
        body.append(f"<p>{html.escape(crosstext.WINRATE_CAPTION)}</p>")
        body.append(_table(*crosstext.winrate_table(ct)))
    if ct.power is not None:
        body.append(f"<p>{_prose(power.sentence(ct.power))}</p>")
    return body


def index_page(summaries: list[BudgetSummary], tasks: list[tuple[str, str, str]]) -> str:
    """``tasks``: (task, href of its report, its first insight)."""
    body = ["<h1>Benchmark report</h1>"]
    ins = summary_insights(summaries)
    if ins:
        body += ["<h2>The answer</h2>", _list(ins, "answer")]
    for s in summaries:
        body.append(f"<h2>Across tasks at {s.budget_s:g} s</h2>")
        body.append(_table(*table_rows(s)))
        body += _cross(s)
    body.append(
        f'<p class="note">Average rank over tasks (1 = best); {_e(NORMALISED)}. {_prose(CPU_NOTE)}</p>'
    )
    if summaries:
        body.append(
            f'<p class="note">{_prose(POLICY_NOTE[summaries[0].policy])} {_prose(crosstext.NOTES)}</p>'
        )
    body.append("<h2>Tasks</h2><ul>")
    for task, href, first in tasks:
        body.append(f'<li><a href="{_e(href)}">{_e(task)}</a>: {_e(first)}</li>')
    body.append("</ul>")
    return _page("Benchmark report", body)
