"""The sandboxed child: ``python -m harness.execution.child RUN_DIR``.

It reads ``job.json``, pins itself to the job's cores, loads the data the parent
wrote (train and valid with labels, test features without labels), starts the
adapter (not charged), fits it (charged), predicts the test features and writes
the predictions as ``.npy`` plus a ``result.json``. Progress goes to
``events.jsonl`` so the parent knows when the budget starts; trials go to
``trials.jsonl`` as they end, so they survive a kill.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _emit(path: Path, event: str, **fields: Any) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")
        fh.flush()


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _last_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:500]


def _watch_parent(parent: int) -> None:
    """If the driver dies (even by SIGKILL), take the whole sandbox down with it."""
    import threading

    def loop() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                marker = os.environ.get("HARNESS_SANDBOX_ID")
                if marker:
                    from harness.execution.proctree import marked_processes

                    for p in marked_processes(marker):
                        if p.pid != os.getpid():
                            try:
                                p.kill()
                            except Exception:  # noqa: BLE001
                                pass
                os._exit(70)

    threading.Thread(target=loop, name="harness-parent-watch", daemon=True).start()


def run(run_dir: Path) -> int:
    _watch_parent(int(os.environ.get("HARNESS_PARENT_PID") or os.getppid()))
    job = json.loads((run_dir / "job.json").read_text(encoding="utf-8"))
    events = run_dir / "events.jsonl"
    if job.get("core_ids"):
        try:
            os.sched_setaffinity(0, set(job["core_ids"]))
        except (AttributeError, OSError):
            pass
    _emit(events, "started", pid=os.getpid())
    t0 = time.monotonic()
    result: dict[str, Any] = {"status": "failed", "phase": "start-up"}
    adapter = None
    try:
        import numpy as np
        import pandas as pd

        from adapters.base import FitContext, FitData, TaskInfo, TaskNotSupported, Trial
        from adapters.registry import create_adapter

        t = job["task"]
        task = TaskInfo(
            name=t["name"],
            problem_type=t["problem_type"],
            metric=t["metric"],
            classes=tuple(t.get("classes") or ()),
            image_shape=tuple(t["image_shape"]) if t.get("image_shape") else None,
        )
        data_dir = Path(job["data_dir"])
        data = FitData(
            X_train=pd.read_parquet(data_dir / "X_train.parquet"),
            y_train=np.load(data_dir / "y_train.npy", allow_pickle=False),
            X_valid=pd.read_parquet(data_dir / "X_valid.parquet"),
            y_valid=np.load(data_dir / "y_valid.npy", allow_pickle=False),
            task=task,
        )
        X_test = pd.read_parquet(data_dir / "X_test.parquet")
        workdir = run_dir / "work"
        workdir.mkdir(exist_ok=True)
        ctx = FitContext(
            budget_s=float(job["budget_s"]),
            seed=int(job["seed"]),
            cores=int(job["cores"]),
            memory_gb=float(job["memory_gb"]),
            workdir=str(workdir),
        )
        try:
            adapter = create_adapter(job["adapter"])
            adapter.check_task(task)
            adapter.start(ctx)
        except TaskNotSupported as exc:
            result = {"status": "skipped", "reason": str(exc), "phase": "start-up"}
            return 0
        startup_s = time.monotonic() - t0
        result.update(startup_s=startup_s, versions=adapter.versions(), phase="fit")

        trial_file = open(run_dir / "trials.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        ctx = dataclasses.replace(ctx, fit_start=time.monotonic())

        def log_trial(trial: Trial) -> None:
            if not trial.elapsed_s:
                trial.elapsed_s = time.monotonic() - ctx.fit_start
            trial_file.write(json.dumps(dataclasses.asdict(trial), default=str) + "\n")
            trial_file.flush()

        _emit(events, "fit_start", startup_s=startup_s)
        adapter.fit(data, ctx, log_trial)
        fit_s = time.monotonic() - ctx.fit_start
        _emit(events, "fit_end", fit_s=fit_s)
        trial_file.close()

        result.update(phase="predict", fit_s=fit_s)
        t1 = time.monotonic()
        y_pred = np.asarray(adapter.predict(X_test))
        proba = adapter.predict_proba(X_test) if task.is_classification else None
        predict_s = time.monotonic() - t1
        _emit(events, "predict_end", predict_s=predict_s)
        np.save(run_dir / "y_pred.npy", _plain(y_pred), allow_pickle=False)
        if proba is not None:
            np.save(run_dir / "proba.npy", np.asarray(proba, dtype=float), allow_pickle=False)
        result.update(status="ok", predict_s=predict_s, best_config=adapter.best_config(), phase="done")
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a result row
        traceback.print_exc()
        result.update(status="failed", reason=_last_line(exc))
    finally:
        if adapter is not None:
            try:
                adapter.close()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        _write_json_atomic(run_dir / "result.json", result)
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _plain(a: Any) -> Any:
    """Predictions as a numeric array (never object dtype, which would need pickling)."""
    import numpy as np

    arr = np.asarray(a)
    if arr.dtype == object:
        arr = arr.astype(float)
    return arr


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
