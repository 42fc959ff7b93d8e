"""Local executor: runs jobs in parallel threads (each job is its own child process), packed by cores.

Each job gets a fixed slot of CPU cores (``os.sched_setaffinity`` in the child), so
``parallel x cores`` never exceeds the machine; the longest jobs start first.
"""

from __future__ import annotations

import logging
import os
import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from harness.errors import HarnessError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def core_slots(parallel: int, cores: int) -> list[tuple[int, ...]]:
    """``parallel`` disjoint sets of ``cores`` core ids from the cores this process may use."""
    allowed = (
        sorted(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else list(range(os.cpu_count() or 1))
    )
    if parallel * cores > len(allowed):
        raise HarnessError(
            f"{parallel} parallel jobs x {cores} cores need {parallel * cores} cores, "
            f"but only {len(allowed)} are available; lower --parallel or --cores"
        )
    return [tuple(allowed[i * cores : (i + 1) * cores]) for i in range(parallel)]


class LocalExecutor:
    def __init__(self, parallel: int, cores: int) -> None:
        self.parallel = parallel
        self.cores = cores
        self.slots = core_slots(parallel, cores)

    def run(self, jobs: Iterable[T], fn: Callable[[T, tuple[int, ...]], R]) -> Iterator[R]:
        """Yield ``fn(job, core_ids)`` for every job, as they complete."""
        free: queue.Queue[tuple[int, ...]] = queue.Queue()
        for s in self.slots:
            free.put(s)

        def work(job: T) -> R:
            slot = free.get()
            try:
                return fn(job, slot)
            finally:
                free.put(slot)

        pending: set[Future[R]] = set()
        todo = list(jobs)
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="harness-job") as pool:
            while todo or pending:
                while todo and len(pending) < self.parallel:
                    pending.add(pool.submit(work, todo.pop(0)))
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
