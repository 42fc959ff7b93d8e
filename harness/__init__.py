"""The harness: plans jobs, runs each in a sandbox under a hard budget, scores, stores, reports.

Map of the package (what calls what, top down):

- ``cli`` is a thin shell over ``runner.run(RunConfig)``; ``config`` holds the frozen ``RunConfig``
  and the ``Job`` it expands into.
- ``runner`` plans the jobs not yet in the store, has ``prepare`` write each (task, seed) split for
  the children, hands the jobs to an executor, then ``scoring`` scores the predictions (here, never
  in the child) and ``store`` commits each run to SQLite as it ends (``store_schema`` checks and
  migrates the file first); ``lock`` keeps one writer per output directory.
- ``fingerprint`` hashes what a run ran on (data, split, settings, adapter versions), ``resume``
  decides from it which jobs are done and refuses a store whose task data changed; ``leakage`` flags
  a test score its own valid score cannot explain; ``sweep`` removes the temp directories of
  harness processes that died.
- ``execution/`` runs jobs: the sandboxed child and its parent (``sandbox``, ``child``,
  ``proctree``), the file exchange between them (``protocol``), core leases (``cores``), the
  bubblewrap sandbox of ``--isolate`` (``isolate``), and the executors behind one interface
  (``local_executor``, ``dask_executor`` with its ``dask_worker``).
- ``report/`` renders what the store holds: the leaderboard model, statistics, plots, summary,
  Markdown and HTML (``report.files.write_reports`` drives it).
- ``progress`` draws the CLI's progress bar; ``errors`` holds ``HarnessError``, the one-line error for
  people; ``moved_modules`` keeps module paths of before the reorganisation importable.

Adapters (what runs inside a sandbox) live in the ``adapters`` package, tasks in ``tasks``.
"""

from harness import moved_modules

moved_modules.install()
