"""The driver killed (SIGKILL or Ctrl-C) at random moments, 20 times: each restart resumes, nothing is lost."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from harness.store import Store
from tests.conftest import harness_cmd, sandboxes_of, sigint_as_in_a_terminal

pytestmark = pytest.mark.usefixtures("no_leaks")


def test_twenty_random_kills_then_complete(plugin_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = harness_cmd(
        "--task",
        "wine,breast_cancer",
        "--budget",
        "1",
        "--adapters",
        "t-good,default",
        "--seeds",
        "3",
        "--out",
        str(out),
        "--quiet",
    )
    rng = random.Random(7)
    drivers: set[int] = set()
    for _ in range(20):
        driver = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=sigint_as_in_a_terminal
        )
        drivers.add(driver.pid)
        time.sleep(rng.uniform(0.3, 4.0))
        driver.send_signal(signal.SIGKILL if rng.random() < 0.7 else signal.SIGINT)
        driver.wait(timeout=60)
    time.sleep(1.5)  # orphaned sandboxes notice their driver is gone
    assert not sandboxes_of(drivers)
    subprocess.run(cmd, check=True, timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with Store(out / "harness.db") as s:
        assert s.integrity_ok()
        runs = s.runs(with_trials=True)
    keys = [(r.task, r.adapter, r.seed) for r in runs]
    assert len(keys) == len(set(keys)) == 2 * 2 * 3, "exactly one row per job"
    for r in runs:
        assert r.status == "ok", (r.adapter, r.reason)
        assert r.n_trials == len(r.trials) >= 1, "no half-written run"
    con = sqlite3.connect(out / "harness.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
