"""CPU use in the reports: a leaderboard column (median over seeds), a column across tasks, the runs.csv
columns at the end; energy only where a power meter measured it."""

from __future__ import annotations

import csv
from pathlib import Path

from harness.report.files import CSV_CPU, write_reports
from harness.report.leaderboard import board_rows, build_boards, leaderboard_table
from harness.report.summary import summarise, table_rows
from harness.store import RunRecord, Store
from tests.harness.report.conftest import run_record


def runs(energy: bool = False) -> list[RunRecord]:
    out = []
    for task in ("t1", "t2"):
        for seed, (busy, idle) in enumerate([(0.97, 0.5), (0.99, 0.48), (0.95, 0.52)]):
            for adapter, use, score in (("busy", busy, 0.9), ("idle", idle, 0.8)):
                r = run_record(task, adapter, seed, score)
                r.fit_cpu_s, r.cpu_use, r.cpu_method = use * r.cores * (r.fit_s or 0), use, "cgroup"
                r.energy_j = 100.0 + seed if energy else None
                out.append(r)
    out.append(run_record("t1", "old", 0, 0.7))  # stored before CPU use was recorded
    return out


def column(board_heads: list[str], table: list[list], name: str) -> dict[str, str]:
    i = board_heads.index(name)
    return {str(row[1]).split()[0]: str(row[i]) for row in table}


def test_the_leaderboard_shows_the_median_cpu_use_and_no_energy_without_a_meter() -> None:
    board = build_boards(runs())[0]
    heads, table = board_rows(board)
    assert heads.index("CPU use") == heads.index("fit s / budget") + 1
    assert column(heads, table, "CPU use") == {"busy": "0.97", "idle": "0.50", "old": "-"}
    assert "energy J" not in heads
    assert "CPU use" in leaderboard_table(runs())


def test_energy_is_a_column_only_where_it_was_measured() -> None:
    heads, table = board_rows(build_boards(runs(energy=True))[0])
    assert column(heads, table, "energy J") == {"busy": "101", "idle": "101", "old": "-"}


def test_the_summary_across_tasks_has_each_adapters_cpu_use() -> None:
    [s] = summarise(build_boards(runs()))
    heads, rows = table_rows(s)
    i = heads.index("CPU use")
    assert {r[0]: r[i] for r in rows} == {"busy": "0.97", "idle": "0.50", "old": "-"}


def test_files_carry_cpu_use(tmp_path: Path) -> None:
    with Store(tmp_path / "harness.db") as s:
        for r in runs():
            s.add_run(r)
        write_reports(s, tmp_path)
    with open(tmp_path / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-len(CSV_CPU) :] == CSV_CPU, "the CPU columns come last"
    busy = next(r for r in rows if r["adapter"] == "busy" and r["seed"] == "0" and r["task"] == "t1")
    assert (busy["cpu_use"], busy["cpu_method"], busy["energy_j"]) == ("0.97", "cgroup", "")
    assert "| CPU use" in (tmp_path / "t1" / "leaderboard.md").read_text()
    assert "CPU use" in (tmp_path / "summary.md").read_text()
    assert "<th>CPU use" in (tmp_path / "t1" / "report.html").read_text()
    assert "<th>CPU use" in (tmp_path / "index.html").read_text()
