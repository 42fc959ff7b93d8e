"""Running jobs: each in a sandboxed child process, on this machine or on a Dask cluster.

- ``protocol``: the parent/child exchange, the one place that names its files and events and
  turns a ``SandboxJob`` into the child's ``FitData``/``FitContext`` and its outputs back into a
  ``SandboxResult``.
- ``sandbox`` (parent side: start, watch deadlines and memory, kill the tree, collect) and
  ``child`` (``python -m harness.execution.child RUN_DIR``: fit and predict in the child);
  ``proctree`` finds and kills a sandbox's process tree; ``launch`` starts the child, forked by
  ``forkserver`` (a process per executor, per Dask worker, with numpy, pandas and scikit-learn
  imported: ``forkserver_process``) or spawned, and hands the sandbox one handle for both;
  ``environment``: the variables a run's processes carry (imports nothing heavy).
- ``cpu_use``: the CPU a run's tree used during fit (``cgroup``: a cgroup per run where the machine
  allows, else the tree sampled) and ``energy``: the processors' energy from RAPL, where it exists.
- ``cores``: core leases machine-wide (a lock file per core), shared by every executor.
- Executors, one interface (``base.Executor``): ``local_executor`` (threads on this machine,
  packed by cores) and ``dask_executor`` (a Dask cluster) with ``dask_worker``, what runs on a
  worker.
"""
