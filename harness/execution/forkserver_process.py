"""The fork server's own process: ``python -m harness.execution.forkserver_process``.

It imports ``PRELOAD``, checks that no thread runs, then forks a child per request line on its stdin
and answers on its stdout, one JSON line each: ``READY`` once, ``FORKED`` (the pid) or ``ERROR`` per
request, ``EXITED`` (with ``CODE`` and ``CPU``) when it reaps a child. Why this is safe, and the
parent's side: :mod:`harness.execution.forkserver`.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import sys
import threading
from pathlib import Path
from typing import Any

from harness.execution.environment import PARENT_PID_VAR, THREAD_VARS

PRELOAD = (  # what every child imports before its adapter starts (measured with python -X importtime)
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "sklearn.base",
    "threadpoolctl",
    "adapters.registry",
    "harness.execution.child",
)
REAP_EVERY_S = 0.05  # how often the server looks for exited children
# the replies' keys
READY, ERROR, FORKED, EXITED, CODE, CPU = "ready", "error", "forked", "exited", "code", "cpu"


def serve(requests: int, replies: int) -> None:
    """Import ``PRELOAD``, then fork a child per request line until ``requests`` closes."""
    try:
        for name in PRELOAD:
            importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - said to the parent, which spawns instead
        _send(replies, {ERROR: f"preloading failed: {type(exc).__name__}: {exc}"})
        return
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError as exc:
        _send(replies, {ERROR: f"cannot count this process's threads ({exc})"})
        return
    if threads != 1:
        _send(replies, {ERROR: f"{threads} threads run after the imports, forking would be unsafe"})
        return
    _send(replies, {READY: os.getpid()})
    buf = b""
    while True:
        readable, _, _ = select.select([requests], [], [], REAP_EVERY_S)
        _reap(replies)
        if not readable:
            continue
        chunk = os.read(requests, 1 << 16)
        if not chunk:
            return  # the parent closed the pipe or died: the children see us go and stop
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            _send(replies, _fork(json.loads(line), requests, replies))


def request(run_dir: Path, log_path: Path, env: dict[str, str]) -> bytes:
    """The line that asks the server for a child running ``run_dir`` with ``env``, writing to ``log_path``."""
    return json.dumps({"run_dir": str(run_dir), "log": str(log_path), "env": env}).encode() + b"\n"


def _send(fd: int, msg: dict[str, Any]) -> None:
    os.write(fd, json.dumps(msg).encode() + b"\n")


def _reap(replies: int) -> None:
    while True:
        try:
            pid, status, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        cpu = ru.ru_utime + ru.ru_stime
        _send(replies, {EXITED: pid, CODE: os.waitstatus_to_exitcode(status), CPU: cpu})


def _fork(req: dict[str, Any], requests: int, replies: int) -> dict[str, Any]:
    ready_r, ready_w = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(ready_r)
        os.close(ready_w)
        return {ERROR: f"fork failed: {exc}"}
    if pid == 0:
        code = 70
        try:
            os.close(ready_r)
            os.close(requests)
            os.close(replies)
            os.setsid()  # its own session, as a spawned child's: the parent kills its group
            os.close(ready_w)
            code = _child(req)
            _exit_as_python_does()
        except BaseException:  # noqa: BLE001 - the child must never return into the server's loop
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(ready_w)
    os.read(ready_r, 1)  # EOF once the child left our session (or died)
    os.close(ready_r)
    return {FORKED: pid}


def _child(req: dict[str, Any]) -> int:
    """In the forked child: become the run's process, then run it as ``harness.execution.child`` does."""
    import io
    import random
    import tempfile

    import numpy as np
    from threadpoolctl import threadpool_limits

    from harness.execution import child

    run_dir, env = req["run_dir"], req["env"]
    out = os.open(req["log"], os.O_WRONLY | os.O_APPEND)  # the parent made it
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    # unbuffered, as PYTHONUNBUFFERED makes a spawned child's: a crash keeps its last lines
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
    old_path = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    os.environ.clear()
    os.environ.update(env)  # putenv too: libraries loaded later and processes started see the run's
    os.environ[PARENT_PID_VAR] = str(os.getppid())  # the server, which leaves with the driver
    tempfile.tempdir = None  # found again from the run's environment
    os.chdir(run_dir)
    new_path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [run_dir, *new_path, *(p for p in sys.path[1:] if p not in old_path and p not in new_path)]
    importlib.invalidate_caches()
    sys.argv = [child.__file__, run_dir]
    threadpool_limits(limits=int(env.get(THREAD_VARS[0]) or 1))  # the pools loaded at one thread
    random.seed()
    np.random.seed()  # the global states a fresh process would have drawn
    return child.run(Path(run_dir))


def _exit_as_python_does() -> None:
    """What the interpreter does before a spawned child exits (``os._exit`` skips it): wait for the
    threads that are not daemons, run the ``atexit`` handlers (libraries stop their worker processes
    there), flush."""
    import atexit

    getattr(threading, "_shutdown")()  # noqa: B009 - private, what Py_Finalize calls
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    # requests on stdin, replies on stdout; a child's fds 0-2 are its own (the run's log)
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # a stray print must not garble the replies
    os.close(null)
    serve(requests, replies)
