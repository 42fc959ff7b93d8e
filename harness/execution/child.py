"""The sandboxed child: ``python -m harness.execution.child RUN_DIR``, or :func:`run` in a child the fork
server forked (:mod:`harness.execution.forkserver`, which has imported numpy and pandas already).

It reads its job, pins itself to the job's cores, loads the data the parent wrote (train and
valid with labels, test features without labels), starts the adapter (not charged), fits it
(charged), predicts the test features and writes the predictions and its result. Progress
events tell the parent when the budget starts; trials are written as they end, so they survive
a kill. Every file and event is :mod:`harness.execution.protocol`'s.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any


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
                from harness.execution import environment
                from harness.execution.proctree import marked_processes

                marker = os.environ.get(environment.MARKER_VAR)
                if marker:
                    for p in marked_processes(marker):
                        if p.pid != os.getpid():
                            try:
                                p.kill()
                            except Exception:  # noqa: BLE001
                                pass
                os._exit(70)

    threading.Thread(target=loop, name="harness-parent-watch", daemon=True).start()


def run(run_dir: Path) -> int:
    import logging

    # the library's and the adapter's INFO lines go to the run's log (our stderr), with a time stamp
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from harness.execution import cpu_use, environment, protocol

    _watch_parent(int(os.environ.get(environment.PARENT_PID_VAR) or os.getppid()))
    import numpy as np

    from adapters.base import FitContext, TaskNotSupported, Trial
    from adapters.registry import create_adapter

    job = protocol.read_job(run_dir)
    if job.core_ids:
        try:
            os.sched_setaffinity(0, set(job.core_ids))
        except (AttributeError, OSError):
            pass
    protocol.emit(run_dir, protocol.STARTED, pid=os.getpid())
    t0 = time.monotonic()
    result: dict[str, Any] = {"status": "failed", "phase": "start-up"}
    adapter = None
    try:
        task = job.task
        data, X_test = protocol.read_data(Path(job.data_dir), task)
        workdir = run_dir / protocol.WORK_DIR
        workdir.mkdir(exist_ok=True)
        ctx = FitContext(
            budget_s=job.budget_s,
            seed=job.seed,
            cores=job.cores,
            memory_gb=job.memory_gb,
            workdir=str(workdir),
        )
        try:
            adapter = create_adapter(job.adapter)
            adapter.check_task(task)
            adapter.start(ctx)
        except TaskNotSupported as exc:
            result = {"status": "skipped", "reason": str(exc), "phase": "start-up"}
            return 0
        startup_s = time.monotonic() - t0
        result.update(startup_s=startup_s, versions=adapter.versions(), phase="fit")

        trials = protocol.TrialWriter(run_dir)
        ctx = dataclasses.replace(ctx, fit_start=time.monotonic())

        def log_trial(trial: Trial) -> None:
            if not trial.elapsed_s:
                trial.elapsed_s = time.monotonic() - ctx.fit_start
            trials.write(trial)

        counter = os.environ.get(environment.CPU_COUNTER_VAR)
        protocol.emit(
            run_dir, protocol.FIT_START, startup_s=startup_s, **{protocol.CPU: cpu_use.reading(counter)}
        )
        adapter.fit(data, ctx, log_trial)
        fit_s = time.monotonic() - ctx.fit_start
        protocol.emit(run_dir, protocol.FIT_END, fit_s=fit_s, **{protocol.CPU: cpu_use.reading(counter)})
        trials.close()

        result.update(phase="predict", fit_s=fit_s)
        t1 = time.monotonic()
        y_pred = np.asarray(adapter.predict(X_test))
        proba = adapter.predict_proba(X_test) if task.is_classification else None
        predict_s = time.monotonic() - t1
        protocol.emit(run_dir, protocol.PREDICT_END, predict_s=predict_s)
        protocol.write_predictions(run_dir, y_pred, proba)
        result.update(status="ok", predict_s=predict_s, best_config=adapter.best_config(), phase="done")
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a result row
        traceback.print_exc()
        result.update(status="failed", reason=_last_line(exc))
    finally:
        if adapter is not None:
            try:
                adapter.close()
            except Exception:  # noqa: BLE001 - the result is written whatever close does
                traceback.print_exc()
        protocol.write_result(run_dir, result)
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
