"""Waiting for cores: first come, first served across processes, and a limit that names the holders."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.execution.cores import allowed_cores
from tests import ROOT

pytestmark = pytest.mark.usefixtures("no_leaks")

# One process: pinned to one core, it leases that core, writes its name, holds the core a moment.
WAITER = """
import os, sys, time
core = min(os.sched_getaffinity(0))
os.sched_setaffinity(0, {core})
from harness.execution.cores import leased_cores
name, hold, log = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with leased_cores(int(sys.argv[4]) if len(sys.argv) > 4 else 1, lambda: False):
    with open(log, "a") as fh:
        fh.write(name + "\\n")
    print("holding", flush=True)
    time.sleep(hold)
"""


def start(name: str, hold: float, log: Path, env: dict[str, str], n: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WAITER, name, str(hold), str(log), str(n)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def queued(locks: Path) -> int:
    q = locks / "queue"
    return len([p for p in q.iterdir() if not p.name.startswith(".")]) if q.exists() else 0


def test_waiting_commands_take_the_core_in_the_order_they_started_waiting(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    env = dict(os.environ, HARNESS_CORE_LOCK_DIR=str(locks))
    log = tmp_path / "order.txt"
    holder = start("holder", 6.0, log, env)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    waiters = []
    for i in range(4):
        waiters.append(start(f"w{i}", 0.3, log, env))
        deadline = time.monotonic() + 1
        while queued(locks) < i + 1 and time.monotonic() < deadline:  # it waits: its ticket is in the queue
            time.sleep(0.05)
        time.sleep(0.3)
    for p in [holder, *waiters]:
        assert p.wait(timeout=60) == 0
    assert log.read_text().split() == ["holder", "w0", "w1", "w2", "w3"]
    assert queued(locks) == 0, "served waiters leave no ticket behind"


def test_a_dead_waiter_does_not_block_the_queue(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    env = dict(os.environ, HARNESS_CORE_LOCK_DIR=str(locks))
    log = tmp_path / "order.txt"
    holder = start("holder", 1.5, log, env)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    doomed = start("doomed", 0.1, log, env)
    deadline = time.monotonic() + 10
    while queued(locks) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert queued(locks) == 1, "the waiter took a ticket"
    doomed.kill()
    doomed.wait()
    later = start("later", 0.1, log, env)
    assert holder.wait(timeout=30) == 0 and later.wait(timeout=30) == 0
    assert log.read_text().split() == ["holder", "later"]


def test_wait_for_cores_runs_out_in_one_line_naming_the_holders(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locks = tmp_path / "locks"
    env = dict(os.environ, HARNESS_CORE_LOCK_DIR=str(locks))
    monkeypatch.setenv("HARNESS_CORE_LOCK_DIR", str(locks))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WAITER.replace("os.sched_setaffinity(0, {core})", ""),
            "h",
            "30",
            str(tmp_path / "l"),
            str(len(allowed_cores())),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        t0 = time.monotonic()
        args = ["--task", "wine", "--budget", "1", "--adapters", "t-good", "--out", str(tmp_path / "out")]
        assert main([*args, "--wait-for-cores", "1", "--quiet"]) == 2
        assert time.monotonic() - t0 < 30
    finally:
        holder.kill()
        holder.wait()
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("harness: error: waited 1 s"), err
    assert f"pids {holder.pid}" in err[0] and "--wait-for-cores" in err[0], err[0]
