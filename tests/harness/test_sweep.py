"""Nothing left behind: a killed driver's temporary directories are swept, an empty output removed."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.sweep import OWNER_FILE, owned_tempdir, sweep
from tests.conftest import harness_cmd, sandboxes_of

pytestmark = pytest.mark.usefixtures("no_leaks")


def harness_dirs(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("harness-"))


def test_the_next_command_sweeps_what_a_killed_driver_left(plugin_path: Path, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"  # a temp dir of this test's own: other commands on the machine are not involved
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    cmd = harness_cmd(
        "--task", "wine", "--budget", "1", "--adapters", "t-sleep", "--out", str(tmp_path / "a")
    )
    driver = subprocess.Popen(
        [*cmd, "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not sandboxes_of({driver.pid}):
        time.sleep(0.1)
    assert sandboxes_of({driver.pid}), "the sandbox did not start"
    left = harness_dirs(tmp)
    assert any(n.startswith("harness-run-") for n in left) and len(left) >= 2, left
    driver.kill()
    driver.wait()
    for _ in range(50):  # the orphaned child sees its parent gone and takes its tree down
        if not sandboxes_of({driver.pid}):
            break
        time.sleep(0.1)
    assert harness_dirs(tmp) == left, "kill -9 leaves them (they hold train labels and test features)"
    other = subprocess.run(
        harness_cmd("--task", "wine", "--budget", "1", "--adapters", "t-good", "--out", str(tmp_path / "b")),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 0, other.stderr[-2000:]
    assert harness_dirs(tmp) == [], "the next command sweeps the dead driver's directories"


def test_sweep_keeps_live_owners_and_foreign_directories_and_sees_a_reused_pid(tmp_path: Path) -> None:
    mine = owned_tempdir("harness-run-", tmp_path)
    foreign = tmp_path / "harness-someone-else"
    foreign.mkdir()
    dead = owned_tempdir("harness-", tmp_path)
    info = json.loads((dead / OWNER_FILE).read_text())
    (dead / OWNER_FILE).write_text(json.dumps({**info, "pid": 2**22 + 7}))  # no such process
    reused = owned_tempdir("harness-data-x-", tmp_path)
    (reused / OWNER_FILE).write_text(json.dumps({**info, "start": info["start"] - 3600}))  # pid now another's
    assert sorted(sweep(tmp_path)) == sorted([dead, reused])
    assert mine.exists() and foreign.exists()


def test_a_failed_command_removes_the_output_directory_it_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "out"
    assert main(["--task", "nosuchtask", "--budget", "1", "--adapters", "default", "--out", str(out)]) == 2
    assert "nosuchtask" in capsys.readouterr().err
    assert not (tmp_path / "new").exists(), "an empty output directory (lock file included) is removed"
    kept = tmp_path / "kept"
    kept.mkdir()
    assert main(["--task", "nosuchtask", "--budget", "1", "--adapters", "default", "--out", str(kept)]) == 2
    assert kept.exists() and list(kept.iterdir()) == [kept / ".harness.lock"], "one it did not create stays"
