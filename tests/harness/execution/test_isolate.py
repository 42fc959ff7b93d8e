"""``--isolate``: cheating plugins find nothing, a child sees only its own job, engines still run.

Needs bubblewrap (``.ci/services`` installs it); where it cannot create a sandbox the tests skip
with the reason.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from adapters import registry
from harness import leakage
from harness.cli import main
from harness.execution import isolate
from harness.store import Store
from tests.conftest import harness_cmd

pytestmark = pytest.mark.usefixtures("no_leaks")


@pytest.fixture(autouse=True)
def bwrap_works() -> None:
    why = isolate.problem()
    if why:
        pytest.skip(why)


def noise_csv(path: Path, n: int = 400) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3))
    y = rng.integers(0, 2, n)
    path.write_text(
        "a,b,c,label\n" + "".join(f"{a:.4f},{b:.4f},{c:.4f},{t}\n" for (a, b, c), t in zip(x, y, strict=True))
    )


def runs_of(out: Path) -> dict[str, object]:
    with Store(out / "harness.db") as s:
        return {r.adapter: r for r in s.runs()}


def test_cheating_plugins_find_nothing_under_isolate(plugin_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "noise.csv"
    noise_csv(data)
    base = [
        "--task",
        f"csv:{data}",
        "--target",
        "label",
        "--budget",
        "2",
        "--adapters",
        "t-rebuild,t-readcsv",
    ]
    assert main([*base, "--out", str(tmp_path / "open"), "--quiet"]) == 0
    open_runs = runs_of(tmp_path / "open")
    for name in ("t-rebuild", "t-readcsv"):  # without --isolate both cheat, and the flag sees it
        r = open_runs[name]
        assert r.best_config["found"] and r.test_score == 1.0 and leakage.flagged(r), (name, r.best_config)
    assert main([*base, "--out", str(tmp_path / "closed"), "--isolate", "--quiet"]) == 0
    for name, r in runs_of(tmp_path / "closed").items():
        assert r.status == "ok" and r.reason is None, (name, r.reason)
        assert not r.best_config["found"], (name, r.best_config)
        assert r.test_score < 0.7 and not leakage.flagged(r), (name, r.test_score)
        assert r.task_info["exec"]["isolated"] is True


def test_the_child_sees_only_its_own_job(
    plugin_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text("the test labels")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "openml-1.parquet").write_text("cached data")
    data = tmp_path / "noise.csv"
    noise_csv(data, 60)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HARNESS_DATA_DIR", str(cache))
    monkeypatch.setenv("HARNESS_TEST_PROBE", os.pathsep.join(map(str, [home / "secret.txt", cache, data])))
    out = tmp_path / "out"
    args = [
        "--task",
        f"csv:{data}",
        "--target",
        "label",
        "--budget",
        "2",
        "--adapters",
        "t-probe",
        "--seeds",
        "2",
    ]
    assert main([*args, "--out", str(out), "--isolate", "--quiet"]) == 0
    with Store(out / "harness.db") as s:
        seen = [r.best_config for r in s.runs()]
    assert len(seen) == 2
    for s in seen:
        assert s["visible"] == [], s  # not the home, not the data cache, not the user's file
        assert s["home"] == []
        assert s["interfaces"] == ["lo"], "a network namespace of its own: loopback only"
        assert s["processes"] < 10, "its own PID namespace: no other process to look into"
        assert len([d for d in s["data_siblings"] if d.startswith("harness-data-")]) == 1, s["data_siblings"]


def test_isolate_without_bubblewrap_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolate, "_bwrap", lambda: None)
    isolate.problem.cache_clear()
    try:
        env = dict(os.environ, PATH="/nonexistent")
        import sys

        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness",
                "--task",
                "wine",
                "--budget",
                "1",
                "--isolate",
                "--out",
                str(tmp_path),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        isolate.problem.cache_clear()
    assert proc.returncode == 2
    err = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(err) == 1 and "bubblewrap" in err[0] and "apt-get install bubblewrap" in err[0], err


def _need(name: str) -> None:
    st = registry.status(name)
    if not st.available:
        pytest.skip(f"{name} is not available here: {st.why}")


@pytest.mark.engine
@pytest.mark.parametrize("adapter", ["h2o", "tpot", "autogluon"])
def test_engines_run_under_isolate(adapter: str, tmp_path: Path) -> None:
    """H2O's JVM and TPOT's Dask cluster listen on a loopback of their own; AutoGluon needs no network."""
    _need(adapter)
    out = tmp_path / "out"
    proc = subprocess.run(
        harness_cmd(
            "--task", "breast_cancer", "--budget", "20", "--adapters", adapter, "--out", str(out), "--isolate"
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    [r] = runs_of(out).values()
    assert r.status == "ok", (r.reason, Path(r.log_path).read_text()[-3000:] if r.log_path else "")
    assert r.test_score > 0.85 and r.task_info["exec"]["isolated"] is True
