"""How a run's child process comes to exist: forked by a fork server, or spawned.

:func:`start` forks the child from a :class:`~harness.execution.forkserver.ForkServer` when one is
given and can, else spawns ``python -m harness.execution.child RUN_DIR`` (always so for ``--isolate``,
whose command is bubblewrap's). Either way the child is in a session of its own, writes stdout and
stderr to the run's log, and comes back as one :class:`ChildProcess`: everything the sandbox does
after the process exists (cgroup, watching, killing, reaping) is one code path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from harness.execution.forkserver import ForkServer

REAP_TIMEOUT_S = 10.0  # after SIGKILL


class ChildProcess:
    """A run's child: its pid, and its exit status and CPU once it has exited."""

    def __init__(self, pid: int, forked: bool) -> None:
        self.pid = pid
        self.forked = forked  # by the fork server (else spawned)
        self.done = False  # it has exited and was reaped
        self.returncode: int | None = None  # None: exited, but its status is unknown
        self.cpu_s = 0.0  # its CPU with that of the descendants it reaped (wait4), once it exited

    def exited(self) -> bool:
        """Whether the child has exited (then ``returncode`` and ``cpu_s`` hold its end)."""
        if not self.done:
            self._poll()
        return self.done

    def _poll(self) -> None:
        raise NotImplementedError

    def reap(self) -> bool:
        """SIGKILL the child's process group and wait for its end; False if it outlived the wait."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        end = time.monotonic() + REAP_TIMEOUT_S
        while not self.exited():
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        return True


class _Spawned(ChildProcess):
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(proc.pid, forked=False)
        self._proc = proc

    def _poll(self) -> None:
        try:
            pid, wstatus, rusage = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped already, by psutil while it killed the tree
            self.done = True
            return
        if pid == self.pid:
            self.done = True
            self.returncode = self._proc.returncode = os.waitstatus_to_exitcode(wstatus)
            self.cpu_s = rusage.ru_utime + rusage.ru_stime


class _Forked(ChildProcess):
    """A child of the fork server, which reaps it and reports its end (we are not its parent)."""

    def __init__(self, pid: int, server: ForkServer) -> None:
        super().__init__(pid, forked=True)
        self._server = server

    def _poll(self) -> None:
        end = self._server.exit_of(self.pid)
        if end is not None:
            self.done = True
            self.returncode, self.cpu_s = end


def start(
    cmd: list[str], env: dict[str, str], run_dir: Path, log_path: Path, server: ForkServer | None
) -> ChildProcess:
    """The run's child, forked by ``server`` when it can, else spawned with ``cmd``."""
    with open(log_path, "wb") as logf:  # made (emptied) here: the sandbox watches its size from now on
        if server is not None:
            pid = server.fork(run_dir, log_path, env)
            if pid is not None:
                return _Forked(pid, server)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(run_dir),
            start_new_session=True,
        )
    return _Spawned(proc)
