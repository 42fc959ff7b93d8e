"""Machine-wide core leases: a lock file per core (``flock``), shared by every harness process.

A job holds the cores it is pinned to for as long as it runs, whether a local harness command or a
Dask worker runs it, so two commands on one machine (or a command and a worker) never pin two jobs
to the same core: the later one waits, and the wait is recorded with the run. A dead process's
leases vanish with it (the kernel drops its locks).

Waiters are served in the order they started waiting: each takes a ticket (a file in ``queue/``
named by the time it started, locked with ``flock`` for as long as it waits) and tries for cores
only when no live ticket is older than its own, so a job that started waiting later never takes a
core first. A dead waiter's ticket is unlocked, and the next waiter removes it. A core's lock file
holds the pid of its holder, so a wait that runs out (``--wait-for-cores``) names who holds them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from harness.errors import HarnessError

log = logging.getLogger(__name__)

WAIT_HINT = "another harness command or worker on this machine holds them"
QUEUE_DIR = "queue"
POLL_S = 0.2


class Cancelled(Exception):
    """Stopped while waiting: the run was interrupted, or its task cancelled."""


class CoreWaitTimeout(HarnessError):
    """Waited longer than allowed (``--wait-for-cores``) for free cores."""


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
    wait_s: float | None = None,
) -> Iterator[tuple[int, ...]]:
    """Hold ``n`` of this process's allowed cores, locked machine-wide, for the ``with`` block.

    ``prefer``: cores to try first (the ones a local executor assigned). Waits, first come first
    served, while other jobs on this machine hold them; all or nothing, so two multi-core jobs never
    deadlock holding half each. Raises :class:`Cancelled` if ``stop()`` turns true while waiting,
    and :class:`CoreWaitTimeout` (naming the holders' pids) after ``wait_s`` seconds.
    """
    allowed = allowed_cores()
    if n > len(allowed):
        raise RuntimeError(f"the job needs {n} cores but this process may use only {len(allowed)}")
    first = [c for c in prefer if c in allowed]
    order = first + [c for c in allowed if c not in first]
    lock_dir = core_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    held: dict[int, int] = {}
    started = warned_at = time.monotonic()
    ticket = _Ticket(lock_dir / QUEUE_DIR)
    try:
        while True:
            if ticket.is_first():
                held = _try_lock(lock_dir, order, n)
                if held:
                    break
            if stop():
                raise Cancelled("cancelled while waiting for cores")
            waited = time.monotonic() - started
            if wait_s is not None and waited >= wait_s:
                raise CoreWaitTimeout(_timeout_message(lock_dir, order, n, wait_s, ticket))
            if time.monotonic() - warned_at > warn_every_s:
                warned_at = time.monotonic()
                log.warning(
                    "waiting for %d free cores on %s: %s (lock files in %s)",
                    n,
                    socket.gethostname(),
                    hint,
                    lock_dir,
                )
            time.sleep(POLL_S)
        ticket.close()
        yield tuple(sorted(held))
    finally:
        ticket.close()
        for fd in held.values():
            os.close(fd)


def _try_lock(lock_dir: Path, order: list[int], n: int) -> dict[int, int]:
    """``n`` of the cores in ``order`` locked (core -> fd, each holding our pid), or nothing."""
    held: dict[int, int] = {}
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
    if len(held) < n:
        for fd in held.values():
            os.close(fd)
        return {}
    for fd in held.values():
        with contextlib.suppress(OSError):  # who holds it, for a wait that runs out elsewhere
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
    return held


def holders(lock_dir: Path, cores: Iterable[int]) -> dict[int, str]:
    """The pid written in each held core's lock file (core -> pid), for the cores that are held."""
    out = {}
    for core in cores:
        path = lock_dir / f"core-{core}.lock"
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: the holder wrote its pid when it took it
            out[core] = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        finally:
            os.close(fd)
    return out


def _timeout_message(lock_dir: Path, order: list[int], n: int, wait_s: float, ticket: _Ticket) -> str:
    held = holders(lock_dir, order)
    pids = sorted(set(held.values()), key=lambda p: (len(p), p))
    ahead = ticket.ahead()
    queue = f", and {len(ahead)} waiting before this one (pids {', '.join(ahead)})" if ahead else ""
    who = (
        f"cores {', '.join(map(str, sorted(held)))} are held by pids {', '.join(pids)}"
        if held
        else "cores are taken"
    )
    return (
        f"waited {wait_s:g} s for {n} free core{'s' if n > 1 else ''} on {socket.gethostname()}: {who}{queue} "
        f"(other harness commands or Dask workers); wait for them to finish or stop them, or give a longer "
        "--wait-for-cores"
    )


class _Ticket:
    """A waiter's place in the machine-wide queue: a file named by when it started waiting, locked."""

    def __init__(self, queue: Path) -> None:
        queue.mkdir(parents=True, exist_ok=True)
        self.queue = queue
        name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}"
        self.path = queue / name
        # locked under a hidden name first, then renamed into the queue: nobody ever sees it unlocked
        hidden = queue / f".{name}"
        self.fd: int | None = os.open(hidden, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.rename(hidden, self.path)

    def ahead(self) -> list[str]:
        """The pids of the live waiters before this one (dead ones' tickets are removed)."""
        out = []
        for other in sorted(self.queue.iterdir()):
            if other.name >= self.path.name:
                break
            if other.name.startswith("."):
                continue
            if _live(other):
                out.append(other.name.split("-")[1])
        return out

    def is_first(self) -> bool:
        return not self.ahead()

    def close(self) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None


def _live(ticket: Path) -> bool:
    """Whether a waiter still holds ``ticket``; a dead waiter's is removed."""
    try:
        fd = os.open(ticket, os.O_RDONLY)
    except OSError:
        return False  # gone: it was served or gave up
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        ticket.unlink(missing_ok=True)  # its waiter died without removing it
        return False
    finally:
        os.close(fd)
