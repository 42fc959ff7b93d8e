"""Run one adapter in a fresh child process under a hard deadline and a memory limit.

The child is forked by a fork server when the executor runs one (:mod:`harness.execution.forkserver`)
or spawned (:mod:`harness.execution.launch`); everything below is the same for both.

The parent watches three phases: start-up (imports, an engine launch; its own
generous limit, not charged), fit (hard deadline ``B + max(5 s, 0.1 B)`` after
fit starts), and predict (a limit of its own). Past a limit, or past the memory
limit, the whole process tree gets SIGTERM and then SIGKILL. Whatever happens,
the outcome is a :class:`SandboxResult`, never an exception. It also records the
CPU the tree used during fit (:mod:`harness.execution.cpu_use`; in a cgroup of the
run's own where the machine allows, :mod:`harness.execution.cgroup`) and, where
there is a power meter, the energy (:mod:`harness.execution.energy`).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from harness.execution import cgroup, cpu_use, energy, isolate, launch, protocol
from harness.execution.environment import CPU_COUNTER_VAR, child_env
from harness.execution.forkserver import ForkServer
from harness.execution.proctree import TreeWatcher, alive, kill_tree, wait_gone
from harness.execution.protocol import SandboxJob, SandboxResult
from harness.sweep import owned_tempdir

log = logging.getLogger(__name__)

POLL_S = 0.1
MARKED_EVERY_S = 2.0  # a scan of every process's environment: cheap, but not every 0.25 s
MAX_LOG_BYTES = 50 * 2**20  # a child's log is cut here; a runaway writer is killed

_ABORT = threading.Event()  # set on Ctrl-C: every sandbox kills its tree and reports "aborted"


def abort_all() -> None:
    """Stop every running sandbox of this process (their runs are not stored, so they run again)."""
    _ABORT.set()


def reset_abort() -> None:
    _ABORT.clear()


def aborted() -> bool:
    """Whether :func:`abort_all` was called (since the last :func:`reset_abort`)."""
    return _ABORT.is_set()


def hard_deadline_s(budget_s: float) -> float:
    """Seconds after fit starts at which the run is killed."""
    return budget_s + max(5.0, 0.1 * budget_s)


def memory_reason(rss: float, limit_gb: float) -> str:
    """Why a run was killed for memory: the measured GB, with the digits that set it above the limit."""
    used = rss / 2**30
    text = _significant(used, 3)
    for digits in range(3, 10):  # 8.0004 GB over a limit of 8 GB must not read "8.00 over 8"
        text = _significant(used, digits)
        if float(text) > limit_gb:
            break
    return f"process tree used {text} GB, over the memory limit of {limit_gb:g} GB"


def _significant(x: float, digits: int) -> str:
    """``x`` with ``digits`` significant digits, trailing zeros kept, never in exponent notation."""
    if x <= 0 or not math.isfinite(x):
        return f"{x:g}"
    return f"{x:.{max(0, digits - 1 - math.floor(math.log10(x)))}f}"


def run_in_sandbox(job: SandboxJob, log_path: Path, server: ForkServer | None = None) -> SandboxResult:
    """Run ``job`` in a child process; its stdout and stderr go to ``log_path``.

    ``server``: fork the child from this fork server (:mod:`harness.execution.forkserver`) rather
    than spawn it, unless the job is isolated or the server cannot."""
    run_dir = owned_tempdir("harness-run-")  # swept by a later command if we die with kill -9
    try:
        return _run(job, run_dir, log_path, server)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _run(job: SandboxJob, run_dir: Path, log_path: Path, server: ForkServer | None) -> SandboxResult:
    protocol.write_job(run_dir, job)
    marker = uuid.uuid4().hex
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "harness.execution.child", str(run_dir)]
    env = child_env(job.cores, marker)
    cg = cgroup.create(marker[:12])  # None where the machine allows none: the tree is sampled instead
    if cg is not None:
        env[CPU_COUNTER_VAR] = str(cg.counter)
    if job.isolate:
        cmd, env = isolate.wrap(cmd, env, run_dir, Path(job.data_dir), job.hide)
        server = None  # bubblewrap must start the child
    try:
        child = launch.start(cmd, env, run_dir, log_path, server)
        return _watch(job, run_dir, log_path, child, marker, cg)
    finally:
        if cg is not None:
            cg.remove()


def _watch(
    job: SandboxJob,
    run_dir: Path,
    log_path: Path,
    child: launch.ChildProcess,
    marker: str,
    cg: cgroup.RunCgroup | None,
) -> SandboxResult:
    limit_rss = int(job.memory_gb * 2**30)
    predict_limit = job.predict_limit_s or max(120.0, job.budget_s)
    watcher = TreeWatcher(child.pid, marker)
    # The child is still starting (importing, reading its data) when it gets here, so it forks nothing
    # before this; a bubblewrap wrapper may have, hence its members too (and again when fit starts).
    if cg is not None and not (cg.adopt([child.pid]) and cg.adopt(p.pid for p in watcher.members())):
        cg = None
    meter = cpu_use.FitMeter(watcher.tree_cpu, cg, energy.open_meter(), child_is_root=not job.isolate)
    events = protocol.EventReader(run_dir)
    started = time.time()
    kill_status: str | None = None
    kill_reason = ""
    last_sample = last_marked = 0.0
    while True:
        if child.exited():
            break
        now = time.time()
        events.poll()
        _follow_fit(events, watcher, meter, cg)
        if now - last_sample >= 0.25:
            # every 2 s also look for processes that daemonised between two samples (by the marker)
            marked = now - last_marked >= MARKED_EVERY_S
            last_sample, last_marked = now, now if marked else last_marked
            rss = watcher.sample(marked=marked)
            if rss > limit_rss:
                kill_status = "memory"
                kill_reason = memory_reason(rss, job.memory_gb)
        if kill_status is None:
            kill_status, kill_reason = _check_deadlines(job, events, started, now, predict_limit)
        if kill_status is None and _ABORT.is_set():
            kill_status, kill_reason = "aborted", "the harness was interrupted"
        if kill_status is None and log_path.stat().st_size > MAX_LOG_BYTES:
            kill_status = "failed"
            kill_reason = f"wrote more than {MAX_LOG_BYTES // 2**20} MB to stdout/stderr"
        if kill_status is not None:
            break
        meter.tick()
        time.sleep(POLL_S)

    killed = 0
    if kill_status is not None:
        watcher.sample(marked=True)
        meter.end(None)  # cut during fit: the counters as they are now
        log.info("killing %s: %s", job.adapter, kill_reason)
        killed = kill_tree(watcher)
        if not child.reap():
            log.warning("child %d did not exit after SIGKILL", child.pid)
    else:
        events.poll()  # the child exited: its rusage counts it and what it reaped, exactly
        _follow_fit(events, watcher, meter, cg, exit_cpu=child.cpu_s)
        wait_gone(watcher, timeout=1.0)
        leftovers = [p for p in watcher.all_processes() if alive(p)]  # zombies are not ours to kill
        if leftovers:
            log.info("%s left %d processes behind; killing them", job.adapter, len(leftovers))
            killed = kill_tree(watcher, grace_s=1.0)
    events.poll()
    res = _collect(run_dir, events, kill_status, kill_reason, child.returncode, log_path)
    res.killed = killed
    res.forked = child.forked
    res.cpu_s = max(child.cpu_s, watcher.cpu_seconds())
    res.peak_mem_mb = watcher.peak_rss / 2**20
    fit = meter.result(job.cores, res.fit_s)
    res.fit_cpu_s, res.cpu_use, res.cpu_method, res.energy_j = fit.astuple()
    if killed and res.status == "ok":
        res.reason = f"left {killed} processes behind, killed by the harness"
    _cap_log(log_path)
    return res


def _follow_fit(
    events: protocol.EventReader,
    watcher: TreeWatcher,
    meter: cpu_use.FitMeter,
    cg: cgroup.RunCgroup | None,
    exit_cpu: float | None = None,
) -> None:
    """Start and end the CPU accounting of fit as the child's events (or its exit) say."""
    start = events.seen.get(protocol.FIT_START)
    if start is not None and not meter.started:
        if cg is not None:
            cg.adopt(p.pid for p in watcher.all_processes())  # a member born outside it (bubblewrap's)
        watcher.sample(marked=True)
        meter.start(start.get(protocol.CPU))
    end = events.seen.get(protocol.FIT_END)
    if meter.started and not meter.ended and (end is not None or exit_cpu is not None):
        watcher.sample(marked=True)
        meter.end(end.get(protocol.CPU) if end is not None else None, own=exit_cpu)


def _check_deadlines(
    job: SandboxJob, events: protocol.EventReader, started: float, now: float, predict_limit: float
) -> tuple[str | None, str]:
    if protocol.FIT_START not in events.seen:
        if now - started > job.startup_limit_s:
            return "timeout", f"start-up took longer than its limit of {job.startup_limit_s:g} s"
        return None, ""
    fit_start = events.seen[protocol.FIT_START]["t"]
    if protocol.FIT_END not in events.seen:
        hard = hard_deadline_s(job.budget_s)
        if now - fit_start > hard:
            return "timeout", f"fit ran past the hard deadline of {hard:g} s (budget {job.budget_s:g} s)"
        return None, ""
    if protocol.PREDICT_END not in events.seen and now - events.seen[protocol.FIT_END]["t"] > predict_limit:
        return "timeout", f"predict took longer than its limit of {predict_limit:g} s"
    return None, ""


def _collect(
    run_dir: Path,
    events: protocol.EventReader,
    kill_status: str | None,
    kill_reason: str,
    returncode: int | None,
    log_path: Path,
) -> SandboxResult:
    result = protocol.read_result(run_dir)
    res = SandboxResult(status="failed")
    res.trials = protocol.read_trials(run_dir)
    fit_start = events.seen.get(protocol.FIT_START, {})
    res.startup_s = result.get("startup_s", fit_start.get("startup_s"))
    if fit_start:
        end = events.seen.get(protocol.FIT_END, {}).get("t")
        res.fit_s = result.get("fit_s") or ((end or time.time()) - fit_start["t"])
    res.predict_s = result.get("predict_s")
    res.best_config = result.get("best_config") or {}
    res.versions = result.get("versions") or {}
    if kill_status is not None:
        res.status, res.reason = kill_status, kill_reason
        return res
    status = result.get("status")
    if status == "ok":
        try:
            res.y_pred, res.proba = protocol.read_predictions(run_dir)
            res.status = "ok"
        except (OSError, ValueError) as exc:
            res.reason = f"predictions could not be read: {exc}"
    elif status in ("failed", "skipped"):
        res.status = status
        phase = result.get("phase", "")
        reason = result.get("reason") or "unknown error"
        res.reason = reason if status == "skipped" else f"{reason} (in {phase})"
    else:
        res.reason = f"child exited with {_describe_exit(returncode)} during {events.phase()}" + _tail(
            log_path
        )
    return res


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _tail(log_path: Path) -> str:
    try:
        with open(log_path, "rb") as fh:
            fh.seek(max(0, log_path.stat().st_size - 4096))
            lines = [ln for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return f": {lines[-1].strip()[:300]}" if lines else ""


def _cap_log(log_path: Path) -> None:
    try:
        if log_path.stat().st_size > MAX_LOG_BYTES:
            with open(log_path, "r+b") as fh:
                fh.truncate(MAX_LOG_BYTES)
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n[harness: log cut at the size limit]\n")
    except OSError:
        pass
