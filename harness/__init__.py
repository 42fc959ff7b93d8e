"""The harness: plans jobs, runs each in a sandbox under a hard budget, scores, stores, reports.

Map of the package (what calls what, top down):

- ``cli`` is a thin shell over ``api.execute``, which runs ``runner.run(RunConfig)`` with progress;
  ``config`` holds the frozen ``RunConfig`` and the ``Job`` it expands into.
- ``runner`` plans the jobs not yet in the store, has ``prepare`` write each (task, seed) split for
  the children, hands the jobs to an executor, then ``scoring`` scores the predictions (here, never
  in the child) and ``store`` commits each run to SQLite as it ends (``store_schema`` checks and
  migrates the file first); ``lock`` keeps one writer per output directory.
- ``fingerprint`` hashes what a run ran on (data, split, settings, adapter versions), ``resume``
  decides from it which jobs are done and refuses a store whose task data changed; ``leakage`` flags
  a test score its own valid score cannot explain; ``sweep`` removes the temp directories of
  harness processes that died; ``machine`` describes the machine a run ran on (recorded by the
  executors, shown by the reports where runs of several machines meet).
- ``execution/`` runs jobs: the sandboxed child and its parent (``sandbox``, ``child``,
  ``proctree``), the file exchange between them (``protocol``), the CPU and energy a run's fit used
  (``cpu_use`` with ``cgroup``, ``energy``), core leases (``cores``), the bubblewrap sandbox of
  ``--isolate`` (``isolate``), and the executors behind one interface (``local_executor``,
  ``dask_executor`` with its ``dask_worker``).
- ``report/`` renders what the store holds: the leaderboard model, statistics, plots, summary,
  Markdown and HTML (``report.files.write_reports`` drives it).
- ``api`` is the Python API (``harness.run``, ``harness.load``) and holds ``execute``, the path the
  CLI shares; ``results`` turns a store into DataFrames; ``progress`` shows a run's progress (a bar
  on a terminal or in a notebook, plain lines in a file) with the ETA of ``eta``; ``errors`` holds
  ``HarnessError``, the one-line error for people; ``moved_modules`` keeps module paths of before the
  reorganisation importable; ``timing`` logs the driver's phases at DEBUG (where a command's time goes).

Adapters (what runs inside a sandbox) live in the ``adapters`` package, tasks in ``tasks``.

The public API is ``run``, ``load``, ``Results`` and ``RunConfig``. They load on first use: every
sandboxed child imports this package, and its start-up should not pay for pandas.
"""

from __future__ import annotations

from typing import Any

from harness import moved_modules

__all__ = ["Results", "RunConfig", "load", "run"]

_PUBLIC = {
    "run": "harness.api",
    "load": "harness.api",
    "Results": "harness.results",
    "RunConfig": "harness.config",
}

moved_modules.install()


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)
