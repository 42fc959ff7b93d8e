"""Servers the harness starts (H2O's JVM, TPOT's and the executor's Dask clusters) listen on loopback only."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from adapters import registry
from tests.conftest import harness_cmd

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def listening_sockets_of_tree(root: int) -> set[tuple[str, int, str]]:
    try:
        tree = {root} | {p.pid for p in psutil.Process(root).children(recursive=True)}
    except psutil.Error:
        return set()
    found = set()
    for c in psutil.net_connections(kind="inet"):
        if c.status == psutil.CONN_LISTEN and c.pid in tree:
            try:
                name = psutil.Process(c.pid).name()
            except psutil.Error:
                name = "?"
            found.add((c.laddr.ip, c.laddr.port, name))
    return found


def run_watching(cmd: list[str]) -> tuple[int, set[tuple[str, int, str]]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: set[tuple[str, int, str]] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.update(listening_sockets_of_tree(proc.pid))
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    _, err = proc.communicate(timeout=600)
    done.set()
    t.join()
    assert proc.returncode == 0, err
    return proc.returncode, seen


def _need(name: str) -> None:
    st = registry.status(name)
    if not st.available:
        pytest.skip(f"{name} is not available here: {st.why}")


@pytest.mark.engine
@pytest.mark.parametrize("adapter", ["h2o", "tpot"])
def test_engine_servers_listen_on_loopback_only(adapter: str, tmp_path: Path) -> None:
    _need(adapter)
    _, seen = run_watching(
        harness_cmd(
            "--task",
            "breast_cancer",
            "--budget",
            "10",
            "--adapters",
            adapter,
            "--out",
            str(tmp_path),
            "--quiet",
        )
    )
    assert seen, f"{adapter} was expected to listen on some port during the run"
    assert {ip for ip, _, _ in seen} <= LOOPBACK, seen
