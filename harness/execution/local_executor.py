"""Local executor: runs jobs at once in threads (each job is its own sandboxed child), packed by cores.

:class:`CorePacker` decides which job runs when on which cores; :class:`LocalExecutor` is the
:class:`~harness.execution.base.Executor` that runs sandbox jobs with it. The machine's share is a pool of ``parallel x cores`` core ids (from the cores this process may
use). A job takes ``cores_of(job)`` ids from the pool for as long as it runs and the sandbox pins
its child to them (``os.sched_setaffinity``), so the jobs never use more cores than the pool holds
and never share a core. Jobs start longest first (by ``cost``), so the suite ends early; when the
first job in that order does not fit, a later one that does fit is started only if it is expected
to end before enough cores free up for the first (backfilling that never delays the longest job).
The next job is started before a finished job is handed back, so storing a result never leaves a
core idle. Each job also leases its cores machine-wide (:mod:`harness.execution.cores`), so another
command on the same machine cannot pin a job to them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import logging
import queue
import socket
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from harness import machine
from harness.errors import HarnessError
from harness.execution import forkserver
from harness.execution.base import ExecJob, Executor, Outcome, StartCallback
from harness.execution.cores import Cancelled, allowed_cores, leased_cores
from harness.execution.environment import child_env
from harness.execution.forkserver import ForkServer, serving
from harness.execution.protocol import SandboxResult
from harness.execution.sandbox import abort_all, aborted, reset_abort, run_in_sandbox

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def core_pool(parallel: int, cores: int) -> list[int]:
    """The ``parallel x cores`` core ids the executor hands out."""
    allowed = allowed_cores()
    if parallel * cores > len(allowed):
        raise HarnessError(
            f"{parallel} parallel jobs x {cores} cores need {parallel * cores} cores, "
            f"but only {len(allowed)} are available; lower --parallel or --cores"
        )
    return allowed[: parallel * cores]


def core_slots(parallel: int, cores: int) -> list[tuple[int, ...]]:
    """``parallel`` disjoint sets of ``cores`` core ids from the cores this process may use."""
    pool = core_pool(parallel, cores)
    return [tuple(pool[i * cores : (i + 1) * cores]) for i in range(parallel)]


@dataclass
class _Running(Generic[T]):
    job: T
    cores: tuple[int, ...]
    expected_end: float


class CorePacker:
    """Runs ``fn(job, core_ids)`` for many jobs on ``parallel x cores`` cores of this machine."""

    def __init__(self, parallel: int, cores: int, abort: Callable[[], None] | None = None) -> None:
        self.parallel = parallel
        self.cores = cores
        self.pool = core_pool(parallel, cores)
        self.slots = core_slots(parallel, cores)
        self.abort = abort  # called when the caller stops early (Ctrl-C), to stop running jobs

    def run(
        self,
        jobs: Iterable[T],
        fn: Callable[[T, tuple[int, ...]], R],
        cost: Callable[[T], float] = lambda _job: 1.0,
        cores_of: Callable[[T], int] | None = None,
    ) -> Iterator[R]:
        """Yield ``fn(job, core_ids)`` for every job, as they complete.

        ``cost`` estimates a job's seconds (longest first); ``cores_of`` is how many cores a job
        takes (default: ``cores``). ``fn`` runs in a worker thread; results are yielded in the
        caller's thread.
        """
        need = cores_of or (lambda _job: self.cores)
        todo = sorted(jobs, key=cost, reverse=True)  # stable: equal costs keep the plan's order
        for job in todo:
            if need(job) > len(self.pool):
                raise HarnessError(
                    f"a job needs {need(job)} cores but the executor has {len(self.pool)}; "
                    "raise --parallel or lower --cores"
                )
        free = list(self.pool)
        running: dict[int, _Running[T]] = {}
        tickets = itertools.count()
        done: queue.Queue[tuple[int, R | None, BaseException | None]] = queue.Queue()

        def work(ticket: int, job: T, core_ids: tuple[int, ...]) -> None:
            try:
                done.put((ticket, fn(job, core_ids), None))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                done.put((ticket, None, exc))

        def launch(pool: ThreadPoolExecutor) -> None:
            while todo:
                i = self._pick(todo, free, running, need, cost)
                if i is None:
                    return
                job = todo.pop(i)
                n = need(job)
                ids = tuple(free[:n])
                del free[:n]
                ticket = next(tickets)
                running[ticket] = _Running(job, ids, time.monotonic() + cost(job))
                pool.submit(work, ticket, job, ids)

        finished = False
        pool = ThreadPoolExecutor(max_workers=len(self.pool), thread_name_prefix="harness-job")
        try:
            launch(pool)
            while running:
                ticket, result, exc = done.get()
                free.extend(running.pop(ticket).cores)
                free.sort()
                launch(pool)  # before handing the result back: no core idles while it is stored
                if exc is not None:
                    raise exc
                yield cast(R, result)  # the worker put a result, or an exception raised above
            finished = True
        finally:
            if not finished and running and self.abort is not None:
                self.abort()
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _pick(
        todo: list[T],
        free: list[int],
        running: dict[int, _Running[T]],
        need: Callable[[T], int],
        cost: Callable[[T], float],
    ) -> int | None:
        """The index in ``todo`` of the job to start now, or None."""
        head = need(todo[0])
        if head <= len(free):
            return 0
        # When enough cores free up for the head job, if the running jobs end as expected.
        now = time.monotonic()
        ends = sorted((r.expected_end, len(r.cores)) for r in running.values())
        have, start_head = len(free), now
        for end, n in ends:
            have += n
            start_head = end
            if have >= head:
                break
        for i, job in enumerate(todo[1:], start=1):
            if need(job) <= len(free) and now + cost(job) <= start_head:
                return i
        return None


class LocalExecutor(Executor):
    """Runs sandbox jobs on this machine: ``parallel`` at once, each on ``cores`` cores of its own."""

    def __init__(self, parallel: int, cores: int, wait_for_cores_s: float | None = None) -> None:
        self.packer = CorePacker(parallel, cores, abort=abort_all)
        self.wait_for_cores_s = wait_for_cores_s  # None: wait as long as it takes

    def run(
        self, jobs: Sequence[ExecJob], on_start: StartCallback | None = None
    ) -> Generator[tuple[ExecJob, Outcome], None, None]:
        reset_abort()
        # One fork server for the whole run, when a slot will run more than one job: then each child
        # after the first few is forked with numpy, pandas and sklearn imported. With one job per
        # slot a new server would only compete with the children for the cores; one the CLI started
        # ahead has imported beside the driver and forks them all. Bubblewrap starts isolated jobs.
        forked = sum(not ej.sandbox.isolate for ej in jobs)
        wanted = forked > self.packer.parallel or (forked > 0 and forkserver.started_ahead())
        with serving(child_env(1, None)) if wanted else contextlib.nullcontext() as server:
            yield from self.packer.run(
                jobs, functools.partial(self._one, server, on_start), cost=expected_seconds, cores_of=_cores
            )

    def _one(
        self,
        server: ForkServer | None,
        on_start: StartCallback | None,
        ej: ExecJob,
        core_ids: tuple[int, ...],
    ) -> tuple[ExecJob, Outcome]:
        if on_start:
            on_start(ej.job)
        asked = time.time()
        try:
            # the packer keeps this command's jobs apart; the leases keep other commands off their cores
            with leased_cores(len(core_ids), aborted, prefer=core_ids, wait_s=self.wait_for_cores_s) as ids:
                start = time.time()
                res = run_in_sandbox(dataclasses.replace(ej.sandbox, core_ids=ids), ej.log_path, server)
        except Cancelled:  # interrupted while waiting: not stored, it runs again on resume
            ids, start = core_ids, time.time()
            res = SandboxResult("aborted", reason="the harness was interrupted")
        where = {
            "executor": "local",
            "host": socket.gethostname(),
            "machine": machine.describe(),
            "core_ids": list(ids),
            "waited_for_cores_s": round(start - asked, 2),
            "forked": res.forked,
            "start": start,
            "end": time.time(),
        }
        return ej, Outcome(res, where)


def _cores(ej: ExecJob) -> int:
    return ej.job.cores


def expected_seconds(ej: ExecJob) -> float:
    """A job's expected seconds, for longest-first ordering: its budget plus start-up and predict."""
    return ej.job.budget_s + 2.0
