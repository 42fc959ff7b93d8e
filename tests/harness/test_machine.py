"""harness.machine: the machine each run records, read where it ran, shown where runs of several machines meet."""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness import machine
from harness.report.leaderboard import header
from tests.harness.report.conftest import run_record

OTHER = {"cpu": "Another CPU 9000", "cpus": 2, "memory_gib": 23.5, "os": "Linux 6.1"}


def test_describe_reads_this_machine() -> None:
    here = machine.describe()
    assert here["cpus"] == os.cpu_count()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and "model name" in cpuinfo.read_text():
        first = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        assert first and here["cpu"] == first.group(1).strip()
    assert here["memory_gib"] is None or here["memory_gib"] > 0


def test_a_run_stored_before_machines_were_recorded_says_so() -> None:
    assert machine.of_run({"problem_type": "binary"}) is None
    assert machine.label(None) == "not recorded"
    assert machine.label(OTHER) == "Another CPU 9000, 2 CPUs, 23.5 GiB"


def _runs_on(*machines: dict | None) -> list:
    runs = []
    for seed, m in enumerate(machines):
        r = run_record("t", "default", seed, 0.8)
        if m is not None:
            r.task_info["exec"] = {"machine": m}
        runs.append(r)
    return runs


def test_a_leaderboard_of_one_machine_names_it() -> None:
    here = machine.describe()
    lines = header("t", _runs_on(here, here))
    assert f"- machine: {machine.label(here)}" in lines


def test_a_leaderboard_of_several_machines_lists_each_with_its_runs_and_warns() -> None:
    here = machine.describe()
    [line] = [x for x in header("t", _runs_on(OTHER, OTHER, here, None)) if "machine" in x]
    assert line.startswith("- machines: Another CPU 9000, 2 CPUs, 23.5 GiB (2 runs); ")
    assert f"{machine.label(here)} (1 run)" in line and "not recorded (1 run)" in line
    assert "do not compare as equals" in line


def test_the_summary_names_the_machines_of_its_runs(tmp_path: Path) -> None:
    from harness.report.files import write_reports
    from harness.store import Store

    with Store(tmp_path / "harness.db") as store:
        for r in _runs_on(OTHER, machine.describe()):
            store.add_run(r)
        write_reports(store, tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    [line] = [x for x in summary.splitlines() if x.startswith("- machines: ")]
    assert "Another CPU 9000, 2 CPUs, 23.5 GiB (1 run)" in line, summary
    assert f"{machine.label(machine.describe())} (1 run)" in line, summary
