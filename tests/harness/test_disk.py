"""A full disk during a run and a read-only output directory: one clear line, the store intact, resumable.

These mount a small tmpfs, which needs root (as CI runs here); elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.store import Store
from tests.conftest import harness_cmd, mounted_tmpfs

pytestmark = pytest.mark.usefixtures("no_leaks")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "small", "8m") as mnt:
        yield mnt


def harness(out: Path, adapters: str, seeds: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        harness_cmd(
            "--task",
            "wine",
            "--budget",
            "1",
            "--adapters",
            adapters,
            "--seeds",
            str(seeds),
            "--out",
            str(out),
            "--quiet",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def fill(fs: Path) -> Path:
    filler = fs / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def error_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("harness: error:")]


def test_disk_full_during_a_run(plugin_path: Path, small_fs: Path) -> None:
    out = small_fs / "out"
    first = harness(out, "t-good")
    first.communicate(timeout=120)
    assert first.returncode == 0
    driver = harness(out, "t-sleep,t-good", seeds=2)
    time.sleep(2.5)  # the first sandbox is running its 6 s until the hard deadline
    filler = fill(small_fs)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 2, err
    [line] = error_lines(err)
    assert "free disk space" in line
    with Store(out / "harness.db") as s:
        assert s.integrity_ok()
        assert [(r.adapter, r.seed) for r in s.runs()][:1] == [("t-good", 0)]
    filler.unlink()
    again = harness(out, "t-sleep,t-good", seeds=2)
    again.communicate(timeout=300)
    assert again.returncode == 0
    with Store(out / "harness.db") as s:
        assert sorted((r.adapter, r.seed) for r in s.runs()) == [
            ("t-good", 0),
            ("t-good", 1),
            ("t-sleep", 0),
            ("t-sleep", 1),
        ]


def test_read_only_output_directory(plugin_path: Path, small_fs: Path) -> None:
    out = small_fs / "out"
    first = harness(out, "t-good")
    first.communicate(timeout=120)
    assert first.returncode == 0
    before = (out / "harness.db").read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    driver = harness(out, "t-good", seeds=2)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 2
    [line] = error_lines(err)
    assert "cannot write" in line and "Read-only file system" in line
    assert (out / "harness.db").read_bytes() == before
