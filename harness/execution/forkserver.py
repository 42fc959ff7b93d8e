"""A fork server: one process with numpy, pandas and scikit-learn imported that forks each run's child.

A spawned child (``python -m harness.execution.child``) spends about 1 s importing numpy, pandas,
pyarrow and scikit-learn before its start-up clock even starts, and the budget-fair ideal counts none
of it. The server pays those imports once per executor (once per Dask worker) and forks a child per
run, which goes straight to :func:`harness.execution.child.run`; the adapter's own libraries are still
imported in the child, by ``adapter.start``, timed as start-up and not charged.

Why forking is safe here:

- the server is a fresh interpreter (never forked from the driver, which runs threads) and runs no
  thread: it starts every thread pool at one thread (the ``THREAD_VARS`` at 1, pyarrow's jemalloc
  without its background thread) and refuses to serve when it finds more than one thread after its
  imports;
- each child leaves the server's session (``setsid``) before the server names its pid, takes the
  run's environment (``os.environ``, so the libraries it loads and the processes it starts see the
  run's thread counts and marker), sets the thread pools already loaded to the run's cores
  (``threadpoolctl``) and redraws the random seeds a fresh process would have drawn; the child
  pins itself to its cores as a spawned one does;
- the server reaps each child with ``wait4`` and reports its exit status and CPU seconds (its own and
  what it reaped) over its pipe: what ``wait4`` tells the parent of a spawned child, exactly;
- the server leaves when its parent does (its requests pipe closes), and each child watches the
  server (``PARENT_PID_VAR``), so a killed driver takes its runs down as before.

What differs from a spawned child: ``/proc/PID/environ`` of the child itself shows the server's
environment, not the run's (the processes it starts do carry the run's marker), and every child shares
the server's hash seed. ``--isolate`` runs keep the spawned path (bubblewrap). ``HARNESS_FORKSERVER=0``
turns the server off; a server that cannot start or dies is logged once and runs are spawned.

When: the local executor starts a server when a slot will run more than one job, and spawns the
runs that come while it still imports. A command (``python -m harness``, ``harness.run``) whose
driver has yet to import pandas and scikit-learn starts one ahead (:func:`start_ahead`): it imports
beside the driver, on another core, and the executor uses it even for one job per slot, waiting for
it, since it is further on than a spawned child would be. Who decides, each for its own question:
``harness.api.execute`` (start one ahead?), ``LocalExecutor.run`` (serve this run's jobs?),
``harness.eta.overhead_prior_s`` (will runs be forked, for the first ETA?).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.execution import forkserver_process as server_side
from harness.execution.environment import THREAD_VARS

log = logging.getLogger(__name__)

ENV_VAR = "HARNESS_FORKSERVER"  # "0": no fork server, every run is spawned
SERVER_MODULE = server_side.__name__  # its command line: python -m SERVER_MODULE
# no thread may run in the server when it forks: every pool at one thread, jemalloc without its own
SERVER_ENV = {**dict.fromkeys(THREAD_VARS, "1"), "JE_ARROW_MALLOC_CONF": "background_thread:false"}
READY_TIMEOUT_S = 120.0  # the server's imports, on a loaded machine
REPLY_TIMEOUT_S = 10.0  # a fork


class ForkServer:
    """The parent's handle on one server process; thread-safe (one request at a time)."""

    def __init__(self, env: dict[str, str], wait_for_imports: bool = False) -> None:
        self._lock = threading.Lock()
        self._buf = b""
        self._exits: dict[int, tuple[int | None, float]] = {}
        self.broken: str | None = None  # why the server cannot fork (then runs are spawned)
        self._ready = False
        self._forked = 0
        self._started = time.monotonic()
        # a server started ahead of the driver's imports is waited for: it is further on than a spawned
        # child would be (the same imports, begun earlier)
        self.wait_for_imports = wait_for_imports
        self._proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**env, **SERVER_ENV},
            start_new_session=True,  # a Ctrl-C in the terminal is the driver's to handle, not ours
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def fork(self, run_dir: Path, log_path: Path, env: dict[str, str]) -> int | None:
        """The pid of a new child running ``run_dir`` with ``env``, or None: spawn it instead.

        While a server started with the executor still imports, runs are spawned rather than kept
        waiting: the child's imports and the server's then run side by side, begun at the same time.
        One started ahead (``wait_for_imports``) is waited for."""
        with self._lock:
            if not self._ready_now(READY_TIMEOUT_S if self.wait_for_imports else 0.0):
                return None
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(server_side.request(run_dir, log_path, env))
                self._proc.stdin.flush()
            except OSError as exc:
                self._fail(f"it does not take requests ({exc})")
                return None
            msg = self._next((server_side.FORKED, server_side.ERROR), REPLY_TIMEOUT_S)
            if msg is None or server_side.FORKED not in msg:
                self._fail((msg or {}).get(server_side.ERROR) or "it did not answer")
                return None
            self._forked += 1
            return int(msg[server_side.FORKED])

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> bool:
        """Wait until the server forks (True) or cannot (False)."""
        with self._lock:
            return self._ready_now(timeout)

    def _ready_now(self, timeout: float) -> bool:
        if self.broken is None and not self._ready:
            msg = self._next((server_side.READY, server_side.ERROR), timeout)
            if msg is not None and server_side.READY in msg:
                self._ready = True
                log.debug(
                    "the fork server is ready, %.2f s after its start", time.monotonic() - self._started
                )
            elif msg is not None or time.monotonic() - self._started > READY_TIMEOUT_S:
                self._fail((msg or {}).get(server_side.ERROR) or f"it did not start in {READY_TIMEOUT_S:g} s")
        return self._ready and self.broken is None

    def exit_of(self, pid: int) -> tuple[int | None, float] | None:
        """``(exit code, CPU seconds)`` once child ``pid`` has exited, else None.

        The code is None (and the CPU 0) when the server died before it could reap the child."""
        with self._lock:
            self._next((), 0.0)
            if pid in self._exits:
                return self._exits.pop(pid)
            if self.broken is not None and not _running(pid):
                return None, 0.0
            return None

    def stop(self) -> None:
        """Close the server's pipe (it leaves) and wait for it; one that forked nothing is killed, as it
        may still be importing."""
        if not self._forked:
            with contextlib.suppress(OSError):
                self._proc.kill()
        with contextlib.suppress(OSError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def _fail(self, why: str) -> None:
        if self.broken is None:
            self.broken = why
            log.warning("the fork server cannot fork children: %s; runs are spawned instead", why)

    def _next(self, kinds: tuple[str, ...], timeout: float) -> dict[str, Any] | None:
        """Read replies (noting exits) until one of ``kinds`` comes or ``timeout`` passes."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                msg = json.loads(line)
                if server_side.EXITED in msg:
                    self._exits[int(msg[server_side.EXITED])] = (
                        msg[server_side.CODE],
                        float(msg[server_side.CPU]),
                    )
                elif any(k in msg for k in kinds):
                    return msg
            left = end - time.monotonic()
            if self.broken is not None or not select.select([fd], [], [], max(0.0, left))[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self._fail(f"it exited with code {self._proc.wait()}")
                return None
            self._buf += chunk


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "1") != "0"


_shared: ForkServer | None = None
_shared_lock = threading.Lock()


def shared(env: dict[str, str]) -> ForkServer | None:
    """This process's own server for as long as it lives (a Dask worker's), started on first use."""
    global _shared
    if not enabled():
        return None
    with _shared_lock:
        if _shared is None:
            _shared = ForkServer(env)
            atexit.register(_shared.stop)
        return _shared


_ahead: ForkServer | None = None


def start_ahead(env: dict[str, str]) -> None:
    """Start the server that :func:`serving` will hand out next, now.

    ``harness.api.execute`` (the CLI's and ``harness.run``'s path) calls it before the driver imports
    pandas and scikit-learn (a second, as long as the server's imports), so the two import side by
    side and the first run is forked rather than spawned: one second less per command on a machine
    with a core to spare. If no executor takes it, :func:`stop_unused` stops it (also at exit)."""
    global _ahead
    if enabled() and _ahead is None:
        _ahead = ForkServer(env, wait_for_imports=True)
        atexit.register(stop_unused)


def started_ahead() -> bool:
    return _ahead is not None


def stop_unused() -> None:
    """Stop the server started ahead if no executor took it (a command that ran no job)."""
    global _ahead
    if _ahead is not None:
        _ahead.stop()
        _ahead = None


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[ForkServer | None]:
    """A fork server for the ``with`` block (None when ``HARNESS_FORKSERVER=0``), stopped after it: the
    one started ahead, if any, else a new one for ``env``."""
    global _ahead
    if not enabled():
        yield None
        return
    # One started ahead saw the environment before the driver's imports; what they add (scikit-learn's
    # KMP_* variables) its own imports add too, and each child takes its run's environment at the fork.
    server, _ahead = _ahead, None
    server = server or ForkServer(env)
    try:
        yield server
    finally:
        server.stop()
