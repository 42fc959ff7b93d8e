"""Scheduling efficiency: a suite's wall time against the ideal, local executor and Dask.

    python benchmarks/scheduling.py [--budgets 10,20] [--seeds 5] [--only local|dask] [--forkserver on|off|both]

The suite is ``wine,breast_cancer`` x the test adapter ``t-busy`` (it sleeps exactly its
budget, so every job uses its whole budget and no CPU) x the budgets x the seeds: 20 jobs by
default. The ideal wall time is ``sum(budget x cores per job) / cores`` (here 2 cores, 1 per
job); efficiency is ideal / measured. Measured twice:

- ``local``: ``python -m harness ... --parallel 2`` on this machine;
- ``dask``: the same command with ``--executor dask --scheduler`` against a Dask scheduler and
  two ``dask worker --nthreads 1 --resources cores=1`` processes started here on 127.0.0.1.

Each is measured with the fork server on (each run's child forked from a process that has
numpy, pandas and scikit-learn imported) and off (``HARNESS_FORKSERVER=0``: each child spawned,
as before issue 19), one after the other, with the load average before and after each suite.

"wall" is the whole command (interpreter start, data loading, reports included); "span" is
first job start to last job end, from the times each run records in its ``task_info["exec"]``.
"forked" counts the runs whose child the fork server forked.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.execution.forkserver import ENV_VAR as FORKSERVER_VAR  # noqa: E402
from tests.conftest import install_plugin  # noqa: E402

CORES = 2
# efficiency before the fork server, as issue 19 gives it: a quiet machine, a loaded one
BEFORE = {"local --parallel 2": (0.956, 0.906), "dask, 2 workers": (0.945, 0.893)}


def run_suite(out: Path, env: dict[str, str], budgets: str, seeds: int, extra: list[str]) -> float:
    cmd = [
        sys.executable,
        "-m",
        "harness",
        "--task",
        "wine,breast_cancer",
        "--adapters",
        "t-busy",
        "--budget",
        budgets,
        "--seeds",
        str(seeds),
        "--parallel",
        "2",
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def measure(out: Path, wall: float) -> dict[str, float]:
    from harness.store import STORE_FILE

    with sqlite3.connect(out / STORE_FILE) as db:
        rows = db.execute("SELECT budget_s, cores, status, task_info FROM runs").fetchall()
    ideal = sum(b * c for b, c, _, _ in rows) / CORES
    execs = [json.loads(t)["exec"] for *_, t in rows]
    span = max(e["end"] for e in execs) - min(e["start"] for e in execs)
    return {
        "jobs": len(rows),
        "forked": sum(1 for e in execs if e.get("forked")),
        "ok": sum(1 for r in rows if r[2] == "ok"),
        "ideal_s": ideal,
        "wall_s": wall,
        "span_s": span,
        "efficiency_wall": ideal / wall,
        "efficiency_span": ideal / span,
    }


class Cluster:
    """A Dask scheduler and two workers on 127.0.0.1, as subprocesses."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> str:
        sched_file = self.tmp / "scheduler.json"
        self._start(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
            ]
            + ["--scheduler-file", str(sched_file)],
            "scheduler",
        )
        end = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < end:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            self._start(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--resources",
                    "cores=1",
                ]
                + ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"],
                f"worker{i}",
            )
        return address

    def _start(self, cmd: list[str], name: str) -> None:
        with open(self.tmp / f"{name}.log", "wb") as logf:
            self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=logf, stderr=subprocess.STDOUT))

    def __exit__(self, *exc: object) -> None:
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budgets", default="10,20", help="budgets of the suite, default 10,20")
    ap.add_argument("--seeds", type=int, default=5, help="seeds, default 5 (20 jobs with 2 budgets)")
    ap.add_argument("--only", choices=["local", "dask"])
    ap.add_argument("--forkserver", choices=["on", "off", "both"], default="both", help="default both")
    args = ap.parse_args()
    settings = ["on", "off"] if args.forkserver == "both" else [args.forkserver]
    results: dict[tuple[str, str], dict[str, float]] = {}
    loads: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp_s:
        tmp = Path(tmp_s)
        site = install_plugin(tmp / "site")
        base = dict(os.environ)
        base["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), base.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        base["HARNESS_WORKER_CACHE"] = str(tmp / "worker-cache")
        for executor in [e for e in ("local", "dask") if args.only in (None, e)]:
            for setting in settings:
                env = {**base, FORKSERVER_VAR: "1" if setting == "on" else "0"}
                name = "local --parallel 2" if executor == "local" else "dask, 2 workers"
                before = os.getloadavg()[0]
                out = tmp / f"{executor}-{setting}"
                if executor == "local":
                    results[name, setting] = measure(out, run_suite(out, env, args.budgets, args.seeds, []))
                else:
                    with Cluster(tmp, env) as address:
                        extra = ["--executor", "dask", "--scheduler", address]
                        results[name, setting] = measure(
                            out, run_suite(out, env, args.budgets, args.seeds, extra)
                        )
                loads[name, setting] = f"{before:.1f}-{os.getloadavg()[0]:.1f}"
    print(f"suite: wine,breast_cancer x t-busy x budgets {args.budgets} x {args.seeds} seeds; {CORES} cores")
    print(
        f"{'executor':<22}{'fork server':>12}{'jobs':>5}{'ok':>4}{'forked':>7}{'ideal s':>9}{'wall s':>9}"
        f"{'span s':>9}{'eff wall':>10}{'eff span':>10}{'load 1 min':>12}"
    )
    for (name, setting), r in results.items():
        print(
            f"{name:<22}{setting:>12}{r['jobs']:>5}{r['ok']:>4}{r['forked']:>7}{r['ideal_s']:>9.1f}"
            f"{r['wall_s']:>9.1f}{r['span_s']:>9.1f}{r['efficiency_wall']:>10.3f}{r['efficiency_span']:>10.3f}"
            f"{loads[name, setting]:>12}"
        )
    for name, (quiet, loaded) in BEFORE.items():
        print(
            f"before the fork server (issue 19): {name}: {quiet} on a quiet machine, {loaded} on a loaded one"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
