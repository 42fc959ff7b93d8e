"""Bad inputs and the messages about them: one line, before any data loads, saying what to do."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.base import TaskInfo
from harness.cli import main
from harness.execution.protocol import SandboxJob, write_data
from harness.execution.sandbox import run_in_sandbox

pytestmark = pytest.mark.usefixtures("no_leaks")


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("harness: error: "), err
    return err[0]


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("nan", "positive, finite number"),
        ("inf", "positive, finite number"),
        ("-inf", "positive, finite number"),
        ("0.001", "below the minimum of 0.1 GB"),
        ("0.05", "below the minimum of 0.1 GB"),
    ],
)
def test_bad_memory_limit_is_one_line_before_any_data_loads(
    value: str,
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness.runner

    def no_loading(*_a: object, **_k: object) -> None:
        raise AssertionError("data was loaded before the bad --memory-gb was refused")

    monkeypatch.setattr(harness.runner, "load_datasets", no_loading)
    out = tmp_path / "out"
    code = main(
        [
            "--task",
            "wine",
            "--budget",
            "1",
            f"--memory-gb={value}",
            "--adapters",
            "default",
            "--out",
            str(out),
        ]
    )
    assert code == 2
    line = one_error_line(capsys)
    assert "--memory-gb" in line and needle in line, line
    assert not out.exists()


def test_csv_path_with_a_comma_gets_a_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "a,b.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    for task in (f"csv:{data}", f"csv:{tmp_path}/missing,c.csv"):
        code = main(["--task", task, "--target", "y", "--budget", "1", "--out", str(tmp_path / "out")])
        assert code == 2
        line = one_error_line(capsys)
        assert "does not exist" in line and "commas separate tasks" in line, line
        assert "name without a comma" in line


def test_a_missing_csv_followed_by_a_real_task_has_no_comma_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--task", f"csv:{tmp_path}/none.csv,wine", "--target", "y", "--budget", "1"])
    assert code == 2
    line = one_error_line(capsys)
    assert "does not exist" in line and "commas" not in line, line


def test_memory_kill_message_gives_both_numbers_with_enough_digits(plugin_path: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=30)})
    write_data(tmp_path, X, rng.integers(0, 2, 30), X.head(10), rng.integers(0, 2, 10), X.head(10))
    task = TaskInfo("toy", "binary", "accuracy", ("no", "yes"))
    job = SandboxJob("t-memory", task, str(tmp_path), budget_s=5, seed=0, cores=1, memory_gb=0.001)
    res = run_in_sandbox(job, tmp_path / "run.log")
    assert res.status == "memory", res.reason
    m = re.fullmatch(
        r"process tree used ([0-9.e+-]+) GB, over the memory limit of ([0-9.e+-]+) GB", res.reason or ""
    )
    assert m, res.reason
    used, limit = float(m.group(1)), float(m.group(2))
    assert limit == 0.001
    assert used > limit, "the measured size must show above the limit, not round to 0.00"
    digits = m.group(1).lstrip("0.").replace(".", "")
    assert len(digits) >= 3, f"{m.group(1)}: three significant digits at least"


def write_dist(site: Path, dist: str, name: str, target: str) -> None:
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[harness.adapters]\n{name} = {target}\n")


def test_two_packages_registering_one_adapter_name_is_one_line_naming_both(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    write_dist(site, "pkg-one", "t-twice", "harness_test_plugins:Good")
    write_dist(site, "pkg-two", "t-twice", "harness_test_plugins:RaiseInFit")
    monkeypatch.syspath_prepend(str(site))
    out = tmp_path / "out"
    assert main(["--task", "wine", "--budget", "1", "--adapters", "t-twice", "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert "t-twice" in line and "pkg-one" in line and "pkg-two" in line, line
    assert not out.exists()
