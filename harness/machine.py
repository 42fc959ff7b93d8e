"""The machine a run ran on, as its executor records it with the run (``task_info["exec"]["machine"]``).

A budget is wall time, so the same budget buys more work on a faster processor: runs made on two
machines do not compare as if they were one. Each run therefore carries the processor model, the
machine's logical CPUs and its memory, read where the run ran (this process for the local executor,
the worker for Dask), and a report can say which runs ran where (:func:`label`).
"""

from __future__ import annotations

import functools
import os
import platform
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")
UNKNOWN = "unknown"


def _cpu_model() -> str:
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", CPUINFO.read_text(), re.M)
    except OSError:
        m = None
    return m.group(1).strip() if m else (platform.processor() or platform.machine() or UNKNOWN)


def _memory_gib() -> float | None:
    try:
        m = re.search(r"^MemTotal:\s*(\d+) kB", MEMINFO.read_text(), re.M)
    except OSError:
        return None
    return round(int(m.group(1)) / 2**20, 1) if m else None


@functools.cache  # the machine does not change while a process runs
def describe() -> dict[str, Any]:
    """This machine: processor model, logical CPUs, memory in GiB (None where unreadable), OS."""
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count() or 1,
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
    }


def label(machine: dict[str, Any] | None) -> str:
    """One line for a recorded machine ("AMD EPYC, 2 CPUs, 23.5 GiB"); "not recorded" for older runs."""
    if not machine:
        return "not recorded"
    mem = machine.get("memory_gib")
    return f"{machine.get('cpu', UNKNOWN)}, {machine.get('cpus', '?')} CPUs" + (f", {mem} GiB" if mem else "")


def of_run(task_info: dict[str, Any]) -> dict[str, Any] | None:
    """The machine a stored run recorded (None for runs stored before machines were recorded)."""
    return (task_info.get("exec") or {}).get("machine")


def tally(task_infos: Iterable[dict[str, Any]]) -> list[tuple[str, int]]:
    """The machines of stored runs (by ``task_info``) as (label, runs), most runs first."""
    counts = Counter(label(of_run(info)) for info in task_infos)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def sentence(task_infos: Iterable[dict[str, Any]]) -> str:
    """``machine: X`` for runs made on one machine; else every machine with its runs, and why it matters."""
    machines = tally(task_infos)
    if len(machines) == 1:
        return f"machine: {machines[0][0]}"
    listed = "; ".join(f"{name} ({n} run{'s' if n != 1 else ''})" for name, n in machines)
    return (
        f"machines: {listed}. A budget buys more work on a faster machine: runs made on different "
        "machines do not compare as equals"
    )
