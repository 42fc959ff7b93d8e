"""The Python API: the README's example, a run inside a running event loop, interrupts, bad values."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.cli import main
from harness.errors import HarnessError
from harness.store import Store
from tests import ROOT
from tests.conftest import sandboxes_of

pytestmark = pytest.mark.usefixtures("no_leaks")


def readme_example(out: Path) -> str:
    """The README's Python API example, made cheap: wine, 2 s, two fast adapters, 2 seeds."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = code[: code.index("```")]
    cheap = {
        r'tasks=\["titanic"\]': 'tasks=["wine"]',
        r"budgets=\[60\]": "budgets=[2]",
        r"adapters=\[[^\]]*\]": 'adapters=["default", "random"]',
        r"seeds=3": "seeds=2",
        r"parallel=2": f"parallel={min(2, os.cpu_count() or 1)}",
        r'leaderboard\("titanic"\)': 'leaderboard("wine")',
        r'"results"': repr(str(out)),
    }
    for pattern, value in cheap.items():
        code, n = re.subn(pattern, value, code)
        assert n, f"the README's example no longer has {pattern}"
    return code


def test_the_readme_example_runs_inside_a_running_event_loop(tmp_path: Path) -> None:
    """As in Jupyter: harness.run is called synchronously from code that runs in an event loop."""
    code = readme_example(tmp_path / "results")
    ns: dict[str, Any] = {}

    async def cell() -> None:
        asyncio.get_running_loop()  # the loop runs, as a notebook's does
        exec(code, ns)  # the README's own code

    asyncio.run(cell())
    res = ns["res"]
    runs = res.runs
    assert len(runs) == 4 and set(runs["status"]) == {"ok"}
    assert list(runs.columns[:5]) == ["task", "adapter", "seed", "budget_s", "status"]
    board = res.leaderboard("wine")
    assert sorted(board["adapter"]) == ["default", "random"] and list(board["rank"]) == sorted(board["rank"])
    assert "accuracy (test)" in board.columns
    assert set(res.summary()["adapter"]) == {"default", "random"}
    again = harness.load(tmp_path / "results")
    assert again.runs.equals(runs)
    assert "4 runs (4 ok) of 2 adapters on wine at 2 s" in repr(again) and "random" in repr(again)
    page = again._repr_html_()
    assert "<table" in page and "wine" in page


def test_bad_values_get_the_clis_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (dict(budgets=[-1]), ["--budget", "-1"]),
        (dict(budgets=[1], seeds=0), ["--budget", "1", "--seeds", "0"]),
        (dict(budgets=[1], adapters=[]), ["--budget", "1", "--adapters", ""]),
        (dict(budgets=[1], memory_gb="lots"), ["--budget", "1", "--memory-gb", "lots"]),
    ]
    for kwargs, flags in cases:
        with pytest.raises(HarnessError) as exc:
            harness.run(tasks=["wine"], out=tmp_path / "api", **kwargs)
        capsys.readouterr()
        assert main(["--task", "wine", *flags, "--out", str(tmp_path / "cli")]) == 2
        # the same line; a value the CLI got as text is quoted there
        assert capsys.readouterr().err.strip().replace("'", "") == f"harness: error: {exc.value}".replace(
            "'", ""
        )
    with pytest.raises(HarnessError, match="--executor must be local or dask"):
        harness.run(tasks=["wine"], budgets=[1], executor="spark")
    with pytest.raises(HarnessError, match="no store at"):
        harness.load(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_import_harness_stays_cheap() -> None:
    code = "import sys, harness; harness.run; assert not {'pandas', 'matplotlib', 'scipy'} & set(sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


INTERRUPTED = """
import sys, harness
harness.run(tasks=["wine"], budgets=[30], adapters=["t-good", "t-sleep"], out=sys.argv[1])
"""


def test_an_interrupt_keeps_the_finished_runs_and_never_reads_stdin(
    plugin_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    driver = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(out)],
        stdin=subprocess.PIPE,  # open and never written: a read would block the run
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if sandboxes_of({driver.pid}) and _stored(out / "harness.db") == 1:
            break  # t-good is stored, t-sleep runs
        time.sleep(0.2)
    time.sleep(1)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode != 0 and "KeyboardInterrupt" in err
    assert f"harness.load('{out}') reads them" in err
    assert not sandboxes_of({driver.pid})
    assert [r.adapter for r in harness.load(out).records] == ["t-good"]


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM runs").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_store_of_results_matches_runs_csv(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert (
        main(["--task", "wine", "--budget", "1", "--adapters", "default", "--out", str(out), "--quiet"]) == 0
    )
    import pandas as pd

    res = harness.load(out)
    pd.testing.assert_frame_equal(res.runs, pd.read_csv(out / "runs.csv"))
    with Store(out / "harness.db") as s:
        assert len(s.runs()) == len(res.records) == 1
