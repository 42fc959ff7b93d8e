"""Dask executor: the same jobs on a Dask distributed cluster; results stream back to this driver.

Design (see :mod:`harness.execution.dask_worker` for the worker side):

- **Cluster.** ``--scheduler tcp://HOST:PORT`` connects to a running cluster; without it a local
  cluster starts here, bound to 127.0.0.1 only: ``--parallel`` workers of one thread each, each
  offering ``--cores`` cores.
- **Cores.** A worker offers cores as the Dask resource ``cores`` (``dask worker --resources
  cores=N``) and every job asks for its ``--cores`` of it, so Dask never gives a worker more
  jobs than its cores hold. On the worker, the job leases core ids through per-core lock files
  shared by every worker on that machine, and the sandbox pins the job to them.
- **Longest first, never oversubscribed.** The driver keeps the queue, longest jobs first, and
  hands the cluster only as many jobs as its workers have free slots (``min(threads, cores //
  job cores)`` per worker, re-read as workers come and go), so no job waits on a busy worker
  while another sits idle.
- **Data by content hash.** Each (task, seed) split is published once as the bytes of its
  prepared parquet/npy files under ``harness-data-<sha256>``; a worker fetches it only on a
  miss of its disk cache, so data travels once per worker, not once per job. The published
  data are a Dask task holding the bytes, so data lost with a worker is recomputed.
- **Failures.** A worker that dies mid-job: Dask runs the job again on another worker; if that
  one dies too, the job is recorded failed with the reason (``allowed-failures`` 1 on the local
  cluster; on any cluster the task itself refuses a third attempt). A job left waiting for its
  preferred worker after every worker went away is sent again without a preference.
- **Resume.** The driver alone owns the store. When it dies its client disconnects, the
  scheduler cancels its tasks and each worker kills the job's sandbox; running the same command
  again runs what is not stored.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import shutil
import time
import uuid
import warnings
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import Job
from harness.errors import HarnessError
from harness.execution import protocol
from harness.execution.base import ExecJob, Executor, Outcome, StartCallback
from harness.execution.dask_worker import DIED_TWICE, MAX_DEATHS, START_TOPIC, run_remote
from harness.execution.protocol import SandboxResult
from harness.sweep import owned_tempdir

log = logging.getLogger(__name__)

WORKER_WAIT_S = 60.0


@dataclass(frozen=True)
class RemoteJob:
    exec_job: ExecJob
    sandbox: dict[str, Any]  # protocol.job_to_dict; data_dir and core_ids are set on the worker
    data_name: str

    @property
    def job(self) -> Job:
        return self.exec_job.job


@dataclass
class _Attempt:
    remote: RemoteJob
    future: Any
    worker: str  # where it was sent ("" if anywhere)
    deaths: int  # how often workers died under earlier submissions of this job


@dataclass
class RemoteOutcome:
    result: SandboxResult
    log: bytes = b""
    info: dict[str, Any] = field(default_factory=dict)  # where and when it ran


def data_bundle(data_dir: Path) -> tuple[str, dict[str, bytes]]:
    """The prepared files of ``data_dir`` and their content-hash name."""
    files = protocol.read_data_files(data_dir)
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return f"harness-data-{h.hexdigest()[:32]}", files


def _bundle(files: dict[str, bytes]) -> dict[str, bytes]:
    return files


class DaskExecutor(Executor):
    """Runs jobs on a Dask cluster: an existing one (``scheduler``) or a local one started here."""

    def __init__(self, scheduler: str | None, parallel: int = 1, cores: int = 1) -> None:
        self.scheduler = scheduler
        self.parallel = parallel
        self.cores = cores
        self.client: Any = None
        self.cluster: Any = None
        self._tmp: Path | None = None
        self._data: dict[str, Any] = {}  # name -> future of the published bytes

    # --- the cluster ---
    def __enter__(self) -> DaskExecutor:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise HarnessError(
                "--executor dask needs dask distributed; pip install 'dask[distributed]'"
            ) from None
        if self.scheduler:
            if self.parallel != 1:
                log.info(
                    "--parallel is not used with --scheduler: the cluster's workers set how many jobs run"
                )
            try:
                self.client = Client(self.scheduler, timeout=f"{WORKER_WAIT_S:g}s")
            except (OSError, TimeoutError) as exc:
                raise HarnessError(
                    f"cannot reach the Dask scheduler at {self.scheduler} ({exc}); start one with "
                    "`dask scheduler` or check --scheduler"
                ) from None
        else:
            self._tmp = owned_tempdir("harness-dask-")
            with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                self.cluster = LocalCluster(
                    n_workers=self.parallel,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    resources={"cores": self.cores},
                    memory_limit=0,  # each job's sandbox enforces --memory-gb on its process tree
                    silence_logs=logging.WARNING,
                    env={"HARNESS_WORKER_CACHE": str(self._tmp / "worker")},
                )
            self.client = Client(self.cluster)
            log.info(
                "local Dask cluster: %d workers; dashboard %s", self.parallel, self.client.dashboard_link
            )
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            self.close()
            raise HarnessError(
                f"no Dask worker joined {self.scheduler} within {WORKER_WAIT_S:g} s; start workers with "
                f"`dask worker {self.scheduler} --nthreads N --resources cores=N`"
            ) from None
        return self

    def close(self) -> None:
        if self.client is not None:
            for name in list(self._data):
                try:
                    self.client.unpublish_dataset(name)
                except Exception:  # noqa: BLE001 - the scheduler may be gone already
                    pass
            self._data.clear()
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def capacity(self, cores: int) -> dict[str, int]:
        """Per worker address: how many jobs of ``cores`` cores it holds (``min(threads, cores // cores)``)."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return {
            addr: min(int(w.get("nthreads", 1)), int(w.get("resources", {}).get("cores", 0) // cores))
            for addr, w in workers.items()
        }

    def free_slots(self, cores: int, sent: Iterable[str]) -> dict[str, int]:
        """Per worker address: how many more jobs of ``cores`` cores it can start now.

        The tasks a worker is processing (ours and anyone's) take places, and so do the tasks
        ``sent`` to it (their workers) that the scheduler may not count yet.
        """
        busy = self.client.processing()
        ours: dict[str, int] = {}
        for addr in sent:
            ours[addr] = ours.get(addr, 0) + 1
        return {
            addr: cap - max(len(busy.get(addr, ())), ours.get(addr, 0))
            for addr, cap in self.capacity(cores).items()
            if cap > 0
        }

    def _check_capacity(self, cores: int) -> None:
        if not any(self.capacity(cores).values()):
            raise HarnessError(
                f"no Dask worker offers {cores} cores: start workers with `dask worker SCHEDULER "
                f"--nthreads N --resources cores=N` (N >= --cores {cores})"
            )

    # --- data ---
    def publish(self, bundles: dict[str, dict[str, bytes]]) -> None:
        """Make each dataset (name -> file name -> bytes) available to every worker; idempotent."""
        new = {name: files for name, files in bundles.items() if name not in self._data}
        if not new:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "large object in graph": the bytes are the point
            futs = {n: self.client.submit(_bundle, files, key=n, pure=False) for n, files in new.items()}
        self.client.gather(list(futs.values()))
        self.client.publish_dataset(**futs, override=True)
        self._data.update(futs)

    # --- jobs ---
    def run(
        self, jobs: Sequence[ExecJob], on_start: StartCallback | None = None
    ) -> Generator[tuple[ExecJob, Outcome], None, None]:
        """Publish the jobs' data, run them, and write each log where the driver keeps it."""
        names: dict[str, str] = {}
        bundles: dict[str, dict[str, bytes]] = {}
        for data_dir in {ej.sandbox.data_dir for ej in jobs}:
            names[data_dir], bundles[names[data_dir]] = data_bundle(Path(data_dir))
        self.publish(bundles)
        del bundles
        remote = [RemoteJob(ej, protocol.job_to_dict(ej.sandbox), names[ej.sandbox.data_dir]) for ej in jobs]
        outcomes = self._run_remote(remote, on_start)
        try:
            for r, outcome in outcomes:
                r.exec_job.log_path.parent.mkdir(parents=True, exist_ok=True)
                r.exec_job.log_path.write_bytes(outcome.log)
                yield r.exec_job, Outcome(outcome.result, outcome.info)
        finally:
            outcomes.close()  # stopped early: cancel what still runs on the cluster

    def _run_remote(
        self, jobs: list[RemoteJob], on_start: StartCallback | None
    ) -> Generator[tuple[RemoteJob, RemoteOutcome], None, None]:
        """Run ``jobs`` (longest first) and yield each one's outcome as it completes."""
        from distributed import as_completed

        if not jobs:
            return
        todo = sorted(jobs, key=lambda r: -r.job.budget_s * r.job.cores)
        for cores in {r.job.cores for r in todo}:
            self._check_capacity(cores)
        by_key = {r.job.key: r for r in todo}
        started: queue.Queue[str] = queue.Queue()
        self.client.subscribe_topic(START_TOPIC, lambda ev: started.put(ev[1].get("job_key", "")))
        ac = as_completed()
        inflight: dict[str, _Attempt] = {}  # dask key -> attempt
        aborted: set[str] = set()
        refreshed = checked = 0.0
        free: dict[str, int] = {}

        def send(r: RemoteJob, worker: str | None, deaths: int) -> None:
            a = self._submit(r, worker, deaths)
            inflight[a.future.key] = a
            ac.add(a.future)

        try:
            while todo or inflight:
                now = time.monotonic()
                if todo and now - refreshed > 0.5:
                    refreshed = now
                    free = self.free_slots(todo[0].job.cores, (a.worker for a in inflight.values()))
                while todo and free and max(free.values()) > 0:
                    worker = max(free, key=lambda w: free[w])  # the least busy worker
                    free[worker] -= 1
                    send(todo.pop(0), worker, 0)
                if inflight and now - checked > 2.0:
                    checked = now
                    for key, deaths in self._stuck(inflight):
                        a = inflight.pop(key)
                        a.future.cancel()
                        if a.deaths + deaths >= MAX_DEATHS:
                            yield a.remote, RemoteOutcome(SandboxResult("failed", reason=DIED_TWICE))
                        else:
                            send(a.remote, None, a.deaths + deaths)
                while not started.empty():
                    k = started.get()
                    if on_start and k in by_key:
                        on_start(by_key[k].job)
                if not ac.has_ready():
                    self._check_connected()
                    time.sleep(0.05)
                    continue
                refreshed = 0.0  # a place just freed: look again before submitting
                for fut in ac.next_batch(block=False):
                    if fut.key not in inflight:
                        continue  # replaced by a new submission
                    a = inflight.pop(fut.key)
                    outcome = self._outcome(fut)
                    fut.release()
                    job = a.remote.job
                    if outcome.result.status == "aborted":
                        if job.key not in aborted:  # its worker closed under it: run it once more
                            aborted.add(job.key)
                            todo.insert(0, a.remote)
                            continue
                        outcome.result.status = "failed"
                    yield a.remote, outcome
        finally:
            try:
                self.client.unsubscribe_topic(START_TOPIC)
            except Exception:  # noqa: BLE001
                pass
            if inflight:  # stopped early (Ctrl-C): the workers kill the sandboxes of cancelled tasks
                try:
                    self.client.cancel([a.future for a in inflight.values()], force=True)
                except Exception:  # noqa: BLE001 - the scheduler may be gone
                    pass

    def _stuck(self, inflight: dict[str, _Attempt]) -> list[tuple[str, int]]:
        """Our tasks that Dask cannot place (their preferred worker left with every other one), and
        how often their workers died. Dask does not place a task with a loose worker restriction
        again once it waits for a worker, so these are sent again without one."""

        def states(keys: list[str], dask_scheduler: Any = None) -> dict[str, tuple[str, int]]:
            out = {}
            for k in keys:
                ts = dask_scheduler.tasks.get(k)
                if ts is not None and ts.worker_restrictions:
                    out[k] = (ts.state, int(ts.suspicious or 0))
            return out

        try:
            found = self.client.run_on_scheduler(states, list(inflight))
        except Exception as exc:  # noqa: BLE001 - a scheduler that runs no functions: Dask alone
            log.debug("cannot ask the scheduler about stuck tasks: %s", exc)
            return []
        return [(k, deaths) for k, (state, deaths) in found.items() if state == "no-worker"]

    def _check_connected(self) -> None:
        if self.client.status not in ("running", "connecting"):
            raise HarnessError(
                f"lost the Dask scheduler ({self.client.status}); finished runs are stored, "
                "run the same command again to resume"
            )

    def _submit(self, r: RemoteJob, worker: str | None, deaths: int) -> _Attempt:
        """Send a job to the cluster, preferring ``worker`` (Dask moves it elsewhere if that one dies)."""
        key = f"harness-job-{r.job.key}-{uuid.uuid4().hex[:8]}"
        fut = self.client.submit(
            run_remote,
            r.sandbox,
            r.data_name,
            r.job.key,
            deaths,
            key=key,
            pure=False,
            resources={"cores": r.job.cores},
            workers=[worker] if worker else None,
            allow_other_workers=worker is not None,
            priority=int(r.job.budget_s * r.job.cores),
        )
        return _Attempt(r, fut, worker or "", deaths)

    @staticmethod
    def _outcome(fut: Any) -> RemoteOutcome:
        from distributed import KilledWorker

        if fut.status == "finished":
            return _from_payload(fut.result())
        if fut.status == "error":
            exc = fut.exception()
            if isinstance(exc, KilledWorker):
                why = DIED_TWICE
            else:
                why = f"error on the Dask worker: {type(exc).__name__}: {exc}"
            return RemoteOutcome(SandboxResult(status="failed", reason=why[:1000]))
        return RemoteOutcome(SandboxResult(status="aborted", reason=f"the cluster {fut.status} the job"))


def _from_payload(p: dict[str, Any]) -> RemoteOutcome:
    return RemoteOutcome(protocol.result_from_payload(p), p.get("log") or b"", p.get("exec") or {})
