"""Shared fixtures: a test plugin installed through a real entry point, and process-leak checks."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

HERE = Path(__file__).parent

# Tests never use the network: OpenML look-ups fail at once instead of waiting on DNS.
os.environ.setdefault("HARNESS_OFFLINE", "1")
# Core leases of the tests' runs are their own: a benchmark running on this machine does not stall them.
if "HARNESS_CORE_LOCK_DIR" not in os.environ:
    os.environ["HARNESS_CORE_LOCK_DIR"] = tempfile.mkdtemp(prefix="harness-test-core-locks-")
    atexit.register(shutil.rmtree, os.environ["HARNESS_CORE_LOCK_DIR"], True)


def install_plugin(dest: Path) -> Path:
    """Make ``dest`` look like site-packages holding the ``harness-test-plugins`` distribution."""
    from tests.harness.plugin_adapters import ENTRY_POINTS

    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "harness" / "plugin_adapters.py", dest / "harness_test_plugins.py")
    info = dest / "harness_test_plugins-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-test-plugins\nVersion: 0.1\n")
    eps = "\n".join(f"{k} = harness_test_plugins:{v}" for k, v in ENTRY_POINTS.items())
    (info / "entry_points.txt").write_text(f"[harness.adapters]\n{eps}\n")
    return dest


@pytest.fixture
def plugin_path(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = install_plugin(tmp_path_factory.mktemp("site"))
    monkeypatch.syspath_prepend(str(path))
    old = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(path) + (os.pathsep + old if old else ""))
    return path


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture
def no_leaks():
    """Fails the test if it leaves a child process of the test runner behind."""
    before = descendants()
    yield
    left = []
    for pid in descendants() - before:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid} {' '.join(p.cmdline())[:80]}")
        except psutil.Error:
            pass
    assert not left, f"processes left behind: {left}"


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` for a driver the test interrupts: SIGINT handled as in a foreground terminal job.

    A job a shell starts in the background (``cmd &``, as some CI runners do) inherits SIGINT
    ignored, and Python then keeps ignoring it, as a background job should.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at ``where`` (a disk that fills up); the test is skipped where mounting needs root."""
    where.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {r.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def harness_cmd(*args: str) -> list[str]:
    """``python -m harness ARGS`` with this interpreter."""
    return [sys.executable, "-m", "harness", *args]


def is_sandbox(p: psutil.Process) -> bool:
    """Whether ``p`` is a run's child: spawned (``python -m harness.execution.child RUN_DIR``) or forked
    by the fork server, whose command line it keeps; then its working directory is its run directory."""
    from harness.execution.forkserver import SERVER_MODULE

    cmd = p.cmdline()
    if "harness.execution.child" in cmd:
        return True
    return SERVER_MODULE in cmd and os.path.exists(os.path.join(p.cwd(), "job.json"))


def sandboxes_of(drivers: set[int]) -> list[psutil.Process]:
    """Live sandbox children started by the given driver processes (found by their environment, which
    a forked child has from the fork server: the driver's)."""
    needles = {f"HARNESS_PARENT_PID={pid}".encode() for pid in drivers}
    found = []
    for p in psutil.process_iter():
        try:
            if not is_sandbox(p):
                continue
            with open(f"/proc/{p.pid}/environ", "rb") as fh:
                env = set(fh.read().split(b"\0"))
            if env & needles and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (psutil.Error, OSError):
            continue
    return found
