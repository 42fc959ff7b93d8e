"""The harness's own cost per run: spawn, data hand-off, scoring and store, outside the adapter's fit.

    python benchmarks/overhead.py [--runs 10] [--task breast_cancer] [--adapter default]

Prints, per run and as medians: wall seconds of the whole job, fit seconds, start-up seconds (the
child's imports of the adapter's libraries and the data load), and the overhead outside fit. Also
times a bare `python -c "import <libs>"` so the import share of start-up is visible.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.config import Job, RunConfig  # noqa: E402
from harness.prepare import cleanup, prepare  # noqa: E402
from harness.runner import run_job  # noqa: E402
from harness.store import Store  # noqa: E402
from tasks.loading import load_dataset  # noqa: E402
from tasks.registry import get_task  # noqa: E402


def import_seconds(mods: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", f"import {mods}"], check=True)
        times.append(time.monotonic() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--task", default="breast_cancer")
    ap.add_argument("--adapter", default="default")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        cfg = RunConfig(tasks=(args.task,), budgets=(10.0,), adapters=(args.adapter,), out=out)
        ds = load_dataset(get_task(args.task))
        prep = prepare(ds, 0, out)
        store = Store(out / "harness.db")
        rows = []
        try:
            for i in range(args.runs):
                job = Job(args.task, args.adapter, 0, 10.0 + i * 1e-6, 1, cfg.memory_gb, ds.fingerprint)
                t = time.monotonic()
                rec = run_job(job, prep, cfg, out)
                store.add_run(rec)
                total = time.monotonic() - t
                assert rec.status == "ok", rec.reason
                fit = rec.fit_s or 0.0
                rows.append((total, fit, rec.startup_s or 0.0, rec.predict_s or 0.0, total - fit))
                print(
                    f"run {i + 1:2d}: wall {total:6.3f} s  fit {fit:6.3f} s  start-up {rows[-1][2]:6.3f} s  "
                    f"predict {rows[-1][3]:6.3f} s  outside fit {rows[-1][4]:6.3f} s"
                )
        finally:
            store.close()
            cleanup(prep)
    med = [statistics.median(c) for c in zip(*rows, strict=True)]
    imp = import_seconds("numpy, pandas, pyarrow, lightgbm, sklearn.ensemble, sklearn.compose")
    bare = import_seconds("sys")
    print()
    print(f"median over {args.runs} runs of '{args.adapter}' on {args.task}:")
    print(f"  wall per run            {med[0]:.3f} s")
    print(f"  fit                     {med[1]:.3f} s")
    print(f"  start-up in the child   {med[2]:.3f} s   (interpreter + imports + data load)")
    print(f"  outside fit (overhead)  {med[4]:.3f} s")
    print(f"  import of the adapter's libraries in a bare process: {imp:.3f} s (python itself: {bare:.3f} s)")
    print(f"  overhead minus library imports: {med[4] - imp:.3f} s   (target: under 1 s)")


if __name__ == "__main__":
    main()
