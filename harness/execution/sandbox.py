"""Run one adapter in a fresh child process under a hard deadline and a memory limit.

The parent watches three phases: start-up (imports, an engine launch; its own
generous limit, not charged), fit (hard deadline ``B + max(5 s, 0.1 B)`` after
fit starts), and predict (a limit of its own). Past a limit, or past the memory
limit, the whole process tree gets SIGTERM and then SIGKILL. Whatever happens,
the outcome is a :class:`SandboxResult`, never an exception.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.execution.proctree import MARKER_VAR, TreeWatcher, kill_tree, wait_gone

log = logging.getLogger(__name__)

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
)
POLL_S = 0.1
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


@dataclass(frozen=True)
class SandboxJob:
    """What the child needs; written to ``job.json``."""

    adapter: str
    task: dict[str, Any]  # TaskInfo fields
    data_dir: str  # holds X_train/X_valid/X_test.parquet, y_train/y_valid.npy
    budget_s: float
    seed: int
    cores: int
    memory_gb: float
    core_ids: tuple[int, ...] = ()
    startup_limit_s: float = 300.0
    predict_limit_s: float | None = None  # default max(120 s, budget)


@dataclass
class SandboxResult:
    status: str  # ok, failed, timeout, memory, skipped; "aborted" is never stored
    reason: str | None = None
    startup_s: float | None = None
    fit_s: float | None = None
    predict_s: float | None = None
    cpu_s: float | None = None
    peak_mem_mb: float | None = None
    y_pred: np.ndarray | None = None
    proba: np.ndarray | None = None
    best_config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    killed: int = 0


def child_env(cores: int, marker: str) -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(cores)
    env[MARKER_VAR] = marker
    env["HARNESS_PARENT_PID"] = str(os.getpid())  # the child dies with us, even if we die before it looks
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("KERAS_BACKEND", "torch")
    # OpenMP threads that spin while waiting steal the core from the rest of the job (measured: a small
    # conv-net epoch took 18-20 s with spinning on a busy machine, 0.8 s without)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # the child must import the same harness as the parent, wherever it was started from
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_in_sandbox(job: SandboxJob, log_path: Path) -> SandboxResult:
    """Run ``job`` in a child process; its stdout and stderr go to ``log_path``."""
    run_dir = Path(tempfile.mkdtemp(prefix="harness-run-"))
    try:
        return _run(job, run_dir, log_path)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _run(job: SandboxJob, run_dir: Path, log_path: Path) -> SandboxResult:
    (run_dir / "job.json").write_text(json.dumps(job.__dict__), encoding="utf-8")
    marker = uuid.uuid4().hex
    log_path.parent.mkdir(parents=True, exist_ok=True)
    limit_rss = int(job.memory_gb * 2**30)
    predict_limit = job.predict_limit_s or max(120.0, job.budget_s)
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.execution.child", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=child_env(job.cores, marker),
            cwd=str(run_dir),
            start_new_session=True,
        )
    watcher = TreeWatcher(proc.pid, marker)
    events = _EventReader(run_dir / "events.jsonl")
    started = time.time()
    kill_status: str | None = None
    kill_reason = ""
    rusage_cpu = 0.0
    last_sample = 0.0
    while True:
        pid, wstatus, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(wstatus)
            rusage_cpu = rusage.ru_utime + rusage.ru_stime
            break
        now = time.time()
        events.poll()
        if now - last_sample >= 0.25:
            last_sample = now
            rss = watcher.sample()
            if rss > limit_rss:
                kill_status = "memory"
                kill_reason = (
                    f"process tree used {rss / 2**30:.2f} GB, over the memory limit of {job.memory_gb:g} GB"
                )
        if kill_status is None:
            kill_status, kill_reason = _check_deadlines(job, events, started, now, predict_limit)
        if kill_status is None and _ABORT.is_set():
            kill_status, kill_reason = "aborted", "the harness was interrupted"
        if kill_status is None and log_path.stat().st_size > MAX_LOG_BYTES:
            kill_status = "failed"
            kill_reason = f"wrote more than {MAX_LOG_BYTES // 2**20} MB to stdout/stderr"
        if kill_status is not None:
            break
        time.sleep(POLL_S)

    killed = 0
    if kill_status is not None:
        log.info("killing %s: %s", job.adapter, kill_reason)
        killed = kill_tree(watcher)
        _reap(proc)
    else:
        wait_gone(watcher, timeout=1.0)
        leftovers = watcher.all_processes()
        if leftovers:
            log.info("%s left %d processes behind; killing them", job.adapter, len(leftovers))
            killed = kill_tree(watcher, grace_s=1.0)
    events.poll()
    res = _collect(run_dir, events, kill_status, kill_reason, proc.returncode, log_path)
    res.killed = killed
    res.cpu_s = max(rusage_cpu, watcher.cpu_seconds())
    res.peak_mem_mb = watcher.peak_rss / 2**20
    if killed and res.status == "ok":
        res.reason = f"left {killed} processes behind, killed by the harness"
    _cap_log(log_path)
    return res


def _check_deadlines(
    job: SandboxJob, events: _EventReader, started: float, now: float, predict_limit: float
) -> tuple[str | None, str]:
    if "fit_start" not in events.seen:
        if now - started > job.startup_limit_s:
            return "timeout", f"start-up took longer than its limit of {job.startup_limit_s:g} s"
        return None, ""
    fit_start = events.seen["fit_start"]["t"]
    if "fit_end" not in events.seen:
        hard = hard_deadline_s(job.budget_s)
        if now - fit_start > hard:
            return "timeout", f"fit ran past the hard deadline of {hard:g} s (budget {job.budget_s:g} s)"
        return None, ""
    if "predict_end" not in events.seen and now - events.seen["fit_end"]["t"] > predict_limit:
        return "timeout", f"predict took longer than its limit of {predict_limit:g} s"
    return None, ""


def _reap(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log.warning("child %d did not exit after SIGKILL", proc.pid)


def _collect(
    run_dir: Path,
    events: _EventReader,
    kill_status: str | None,
    kill_reason: str,
    returncode: int | None,
    log_path: Path,
) -> SandboxResult:
    result: dict[str, Any] = {}
    rpath = run_dir / "result.json"
    if rpath.exists():
        try:
            result = json.loads(rpath.read_text(encoding="utf-8"))
        except ValueError:
            result = {}
    res = SandboxResult(status="failed")
    res.trials = _read_trials(run_dir / "trials.jsonl")
    res.startup_s = result.get("startup_s", events.seen.get("fit_start", {}).get("startup_s"))
    if "fit_start" in events.seen:
        fs = events.seen["fit_start"]["t"]
        end = events.seen.get("fit_end", {}).get("t")
        res.fit_s = result.get("fit_s") or ((end or time.time()) - fs)
    res.predict_s = result.get("predict_s")
    res.best_config = result.get("best_config") or {}
    res.versions = result.get("versions") or {}
    if kill_status is not None:
        res.status, res.reason = kill_status, kill_reason
        return res
    status = result.get("status")
    if status == "ok":
        try:
            res.y_pred = np.load(run_dir / "y_pred.npy", allow_pickle=False)
            if (run_dir / "proba.npy").exists():
                res.proba = np.load(run_dir / "proba.npy", allow_pickle=False)
            res.status = "ok"
        except (OSError, ValueError) as exc:
            res.reason = f"predictions could not be read: {exc}"
    elif status in ("failed", "skipped"):
        res.status = status
        phase = result.get("phase", "")
        reason = result.get("reason") or "unknown error"
        res.reason = reason if status == "skipped" else f"{reason} (in {phase})"
    else:
        phase = _phase(events)
        res.reason = f"child exited with {_describe_exit(returncode)} during {phase}" + _tail(log_path)
    return res


def _phase(events: _EventReader) -> str:
    for ev, name in (("predict_end", "clean-up"), ("fit_end", "predict"), ("fit_start", "fit")):
        if ev in events.seen:
            return name
    return "start-up"


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


def _read_trials(path: Path) -> list[dict[str, Any]]:
    trials: list[dict[str, Any]] = []
    if not path.exists():
        return trials
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            t = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if isinstance(t, dict) and isinstance(t.get("config", {}), dict):
            trials.append(t)
    return trials


def _cap_log(log_path: Path) -> None:
    try:
        if log_path.stat().st_size > MAX_LOG_BYTES:
            with open(log_path, "r+b") as fh:
                fh.truncate(MAX_LOG_BYTES)
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n[harness: log cut at the size limit]\n")
    except OSError:
        pass


class _EventReader:
    """Reads ``events.jsonl`` incrementally."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.seen: dict[str, dict[str, Any]] = {}

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        self.offset += end + 1
        for line in chunk[: end + 1].splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and "event" in ev:
                self.seen.setdefault(ev["event"], ev)
