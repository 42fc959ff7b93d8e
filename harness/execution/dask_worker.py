"""What runs on a Dask worker: one harness job in its own sandbox, with its own cores and cached data.

:func:`run_remote` is the Dask task. It

1. gives up at once if the workers running this job already died twice (one retry, then failed);
2. finds the job's data in the worker's disk cache by content hash, or fetches the prepared
   parquet/npy bytes once from the cluster (a dataset the driver published) and writes them there;
3. leases ``cores`` core ids on this machine: a lock file per core (``flock``), so workers sharing a
   machine never pin two jobs to the same core, and a dead worker's leases vanish with it;
4. runs the job with :func:`harness.execution.sandbox.run_in_sandbox` (its own child process, forked
   by the worker's fork server: hard deadline, memory watch, tree kill). The sandbox dies with its
   worker (the child watches its parent, the fork server its worker), and when Dask cancels the
   task (its driver went away) the task kills the sandbox's child, after which the sandbox kills
   what is left of the tree: a killed driver's jobs stop on the cluster;
5. returns plain data (JSON-able values and ``.npy`` bytes, never pickled objects) to the driver,
   which scores and stores.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import machine
from harness.execution.cores import Cancelled, leased_cores

log = logging.getLogger(__name__)

START_TOPIC = "harness-job-start"
MAX_DEATHS = 2  # a job whose worker died this often is not run again: one retry
DIED_TWICE = "the Dask workers running this job died twice; it was retried once, not again"
MAX_LOG_BYTES = 4 * 2**20  # of a job's log sent back to the driver (head and tail)
POLL_S = 0.1


def cache_root() -> Path:
    root = os.environ.get("HARNESS_WORKER_CACHE") or os.path.join(
        tempfile.gettempdir(), f"harness_worker_cache_{os.getuid()}"
    )
    return Path(root)


def ensure_data(name: str, fetch: Callable[[], dict[str, bytes]]) -> tuple[Path, bool]:
    """The directory holding dataset ``name`` on this machine; ``fetch()`` its files if not cached.

    Returns the directory and whether it was fetched now. The files appear atomically (written
    to a temporary directory, then renamed), so concurrent jobs never see half a dataset.
    """
    root = cache_root() / "data"
    final = root / name
    if (final / ".complete").exists():
        return final, False
    files = fetch()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    for fname, blob in files.items():
        if Path(fname).name != fname or fname.startswith("."):
            raise ValueError(f"bad file name in dataset {name}: {fname!r}")
        path = tmp / fname
        path.write_bytes(blob)
        path.chmod(0o444)
    (tmp / ".complete").write_text("")
    if final.exists() and not (final / ".complete").exists():
        shutil.rmtree(final, ignore_errors=True)  # left by a crash before this scheme; never half-read
    try:
        os.rename(tmp, final)
    except OSError:  # another job on this machine was quicker: same content
        shutil.rmtree(tmp, ignore_errors=True)
    return final, True


def _deaths(client: Any, key: str) -> int:
    """How often a worker died while running task ``key`` (asked of the scheduler)."""

    def count(dask_scheduler: Any = None) -> int:  # pickled by value: the scheduler needs no harness
        ts = dask_scheduler.tasks.get(key)
        return int(getattr(ts, "suspicious", 0) or 0)

    try:
        return int(client.run_on_scheduler(count))
    except Exception as exc:  # noqa: BLE001 - a locked-down scheduler: rely on allowed-failures
        log.debug("cannot ask the scheduler about task %s: %s", key, exc)
        return 0


def run_remote(job: dict[str, Any], data_name: str, job_key: str, prior_deaths: int = 0) -> dict[str, Any]:
    """The Dask task: run one sandbox job (``protocol.job_to_dict``) on this worker; plain data back.

    ``prior_deaths``: how often workers died under earlier submissions of the same job.
    """
    from distributed import get_client, get_worker, rejoin, secede

    worker = get_worker()
    key = str(worker.get_current_task())  # harness tasks have string keys (``harness-job-...``)
    client = get_client()
    deaths = prior_deaths + _deaths(client, key)
    info: dict[str, Any] = {
        "executor": "dask",
        "worker": worker.address,
        "host": socket.gethostname(),
        "machine": machine.describe(),
        "attempt": deaths + 1,
        "data_name": data_name,
    }
    if deaths >= MAX_DEATHS:
        return {"status": "failed", "reason": DIED_TWICE, "exec": info}
    worker.log_event(START_TOPIC, {"job_key": job_key, "worker": worker.address, "attempt": deaths + 1})

    def cancelled() -> bool:
        ts = worker.state.tasks.get(key)
        return ts is None or ts.state == "cancelled" or worker.status.name in ("closing", "closed", "failed")

    def fetch() -> dict[str, bytes]:
        secede()  # waiting on the cluster must not hold a worker thread (the data may be recomputed)
        try:
            return client.get_dataset(data_name).result()
        finally:
            rejoin()

    try:
        data_dir, fetched = ensure_data(data_name, fetch)
        info["data"] = "fetched" if fetched else "cached"
        hint = "do this machine's workers offer more cores (--resources cores=N) than it has?"
        with leased_cores(int(job["cores"]), cancelled, hint=hint) as core_ids:
            info["core_ids"] = list(core_ids)
            job = {**job, "data_dir": str(data_dir), "core_ids": list(core_ids)}
            out = _run_sandbox(job, cancelled, info)
    except Cancelled as exc:
        return {"status": "aborted", "reason": str(exc), "exec": info}
    out["exec"] = info
    return out


def _run_sandbox(job: dict[str, Any], cancelled: Callable[[], bool], info: dict[str, Any]) -> dict[str, Any]:
    """Run the job in its sandbox from this thread; kill the sandbox if the task is cancelled."""
    from harness.execution import forkserver, protocol
    from harness.execution.environment import child_env
    from harness.execution.sandbox import run_in_sandbox

    run_dir = Path(tempfile.mkdtemp(prefix="harness-job-", dir=_mkdir(cache_root() / "runs")))
    log_path = run_dir / "job.log"
    done = threading.Event()
    stopped: list[bool] = []
    watch = threading.Thread(
        target=_watch_cancel, args=(log_path, cancelled, done, stopped), name="harness-cancel", daemon=True
    )
    try:
        watch.start()
        info["start"] = time.time()
        # the worker's own fork server, started by its first job, forks every job's child
        server = forkserver.shared(child_env(1, None))
        res = run_in_sandbox(protocol.job_from_dict(job), log_path, server)
        info["end"] = time.time()
        info["forked"] = res.forked
        done.set()
        watch.join()
        if stopped:
            raise Cancelled("the task was cancelled: its driver went away or the worker closes")
        out = protocol.result_to_payload(res)
        out["log"] = _read_capped(log_path)
        return out
    finally:
        done.set()
        shutil.rmtree(run_dir, ignore_errors=True)


def _watch_cancel(
    log_path: Path, cancelled: Callable[[], bool], done: threading.Event, stopped: list[bool]
) -> None:
    """When the task is cancelled, kill the sandbox's child: the one writing to ``log_path``.

    The sandbox then sees its child gone and kills whatever the child left behind.
    """
    while not done.wait(POLL_S):
        if not stopped and not cancelled():
            continue
        stopped[:] = [True]
        for child in _children():
            try:
                if os.readlink(f"/proc/{child.pid}/fd/1") == str(log_path):
                    child.kill()
            except (OSError, ProcessLookupError):
                continue


def _children() -> list[Any]:
    import psutil

    try:
        return psutil.Process().children(recursive=True)  # a forked child is the fork server's
    except psutil.Error:
        return []


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_capped(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            if size <= MAX_LOG_BYTES:
                return fh.read()
            head = fh.read(MAX_LOG_BYTES // 2)
            fh.seek(size - MAX_LOG_BYTES // 2)
            return head + b"\n[harness: log cut in the middle]\n" + fh.read()
    except OSError:
        return b""
