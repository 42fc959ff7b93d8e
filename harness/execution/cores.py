"""Machine-wide core leases: a lock file per core (``flock``), shared by every harness process.

A job holds the cores it is pinned to for as long as it runs, whether a local harness command or a
Dask worker runs it, so two commands on one machine (or a command and a worker) never pin two jobs
to the same core: the later one waits, and the wait is recorded with the run. A dead process's
leases vanish with it (the kernel drops its locks).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

WAIT_HINT = "another harness command or worker on this machine holds them"


class Cancelled(Exception):
    """Stopped while waiting: the run was interrupted, or its task cancelled."""


def core_lock_dir() -> Path:
    root = os.environ.get("HARNESS_CORE_LOCK_DIR") or os.path.join(
        tempfile.gettempdir(), f"harness_core_locks_{os.getuid()}"
    )
    return Path(root)


def allowed_cores() -> list[int]:
    """The core ids this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


@contextlib.contextmanager
def leased_cores(
    n: int,
    stop: Callable[[], bool],
    prefer: Iterable[int] = (),
    hint: str = WAIT_HINT,
    warn_every_s: float = 30.0,
) -> Iterator[tuple[int, ...]]:
    """Hold ``n`` of this process's allowed cores, locked machine-wide, for the ``with`` block.

    ``prefer``: cores to try first (the ones a local executor assigned). Waits while other jobs on
    this machine hold them; all or nothing, so two multi-core jobs never deadlock holding half each.
    Raises :class:`Cancelled` if ``stop()`` turns true while waiting.
    """
    allowed = allowed_cores()
    if n > len(allowed):
        raise RuntimeError(f"the job needs {n} cores but this process may use only {len(allowed)}")
    first = [c for c in prefer if c in allowed]
    order = first + [c for c in allowed if c not in first]
    lock_dir = core_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    held: dict[int, int] = {}
    warned_at = time.monotonic()
    try:
        while True:
            for core in order:
                fd = os.open(lock_dir / f"core-{core}.lock", os.O_RDWR | os.O_CREAT, 0o666)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                held[core] = fd
                if len(held) == n:
                    break
            if len(held) == n:
                break
            for fd in held.values():
                os.close(fd)
            held.clear()
            if stop():
                raise Cancelled("cancelled while waiting for cores")
            if time.monotonic() - warned_at > warn_every_s:
                warned_at = time.monotonic()
                log.warning(
                    "waiting for %d free cores on %s: %s (lock files in %s)",
                    n,
                    socket.gethostname(),
                    hint,
                    lock_dir,
                )
            time.sleep(0.2)
        yield tuple(sorted(held))
    finally:
        for fd in held.values():
            os.close(fd)
