"""The environment of a run's processes: the variables the parent sets and the child reads.

Part of the parent/child exchange (:mod:`harness.execution.protocol` re-exports the names), kept
apart because it imports nothing heavy: the CLI starts the fork server with it before the driver
imports numpy and pandas (:func:`harness.execution.forkserver.start_ahead`).
"""

from __future__ import annotations

import os
from pathlib import Path

PARENT_PID_VAR = "HARNESS_PARENT_PID"  # the child watches this pid and dies with it
CPU_COUNTER_VAR = "HARNESS_CPU_COUNTER"  # the counter file of the run's cgroup, when it has one
MARKER_VAR = "HARNESS_SANDBOX_ID"  # every process of a run's tree carries the run's marker
THREAD_VARS = (  # each set to the run's cores: the thread pools of BLAS, OpenMP and friends
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
)


def child_env(cores: int, marker: str | None) -> dict[str, str]:
    """A run's environment (``marker``: the run's, found on every process of its tree), or without a
    marker the environment of the fork server that forks the runs' children."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(cores)
    if marker is not None:
        env[MARKER_VAR] = marker
    env[PARENT_PID_VAR] = str(os.getpid())  # the child dies with us, even if we die before it looks
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("KERAS_BACKEND", "torch")
    # OpenMP threads that spin while waiting steal the core from the rest of the job (measured: a small
    # conv-net epoch took 18-20 s with spinning on a busy machine, 0.8 s without)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # the child must import the same harness as the parent, wherever it was started from
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
