"""benchmarks/publish.py: the published benchmark's definition and how it writes its files."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT
from tests.conftest import harness_cmd


def load_publish():
    spec = importlib.util.spec_from_file_location("publish", ROOT / "benchmarks" / "publish.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_covers_every_builtin_adapter_and_the_issue_s_tasks() -> None:
    publish = load_publish()
    from adapters.registry import builtin_names

    names = set(publish.ADAPTERS.split(","))
    assert set(builtin_names()) <= names and "optuna:mlp" in names
    from tasks.registry import SUITES

    assert dict((b, set(t)) for t, b in publish.parts()) == {
        30: {*SUITES["lite"], "boston"},
        120: {"titanic"},
    }
    assert len(SUITES["lite"]) >= 24


def test_report_only_writes_the_reports_provenance_and_readme_headline(tmp_path: Path) -> None:
    out = tmp_path / "published"
    run = harness_cmd(
        "--task", "suite:smoke", "--budget", "2", "--adapters", "default,random", "--out", str(out), "--quiet"
    )
    subprocess.run(run, check=True, cwd=ROOT, timeout=300)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nbefore\n<!-- results:start -->\nold\n<!-- results:end -->\nafter\n")
    (out / "digits").mkdir()  # the report of a task the store no longer holds ...
    (out / "digits" / "leaderboard.md").write_text("old")
    (out / "notes").mkdir()  # ... and a folder that is no report
    publish = load_publish()
    assert publish.main(["--report-only", "--out", str(out), "--readme", str(readme)]) == 0
    assert not (out / "digits").exists() and (out / "notes").is_dir()
    for f in (
        "summary.md",
        "runs.csv",
        "index.html",
        "provenance.md",
        "wine/leaderboard.md",
        "wine/report.html",
    ):
        assert (out / f).is_file(), f
    prov = (out / "provenance.md").read_text()
    assert "left out" not in prov  # every task loads offline (boston from the MASS copy)
    assert "python benchmarks/publish.py" in prov and "--budget 120" in prov and "Versions" in prov
    recorded = prov.split("Recorded by the runs")[1].split("Installed when")[0]
    assert re.search(r"^- lightgbm \d", recorded, re.M), prov  # what the runs used, from the store
    assert "runs from " in prov and ", 6 runs" in prov
    from harness import machine

    here = machine.label(machine.describe())  # recorded by each run where it ran
    assert f"## Machines\n\n- {here}: 6 runs\n" in prov, prov
    assert "span more than one machine" not in prov
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n<!-- results:start -->\n") and text.endswith(
        "<!-- results:end -->\nafter\n"
    )
    assert "\nold\n" not in text
    assert re.search(r"^\| *default +\|", text, re.M), text  # a row of the summary's table
    assert "results/published/summary.md" in text
    # across the 3 tasks: the critical-difference diagram, Elo with its interval, the win-rate matrix
    assert re.search(r"!\[[^\]]*critical[^\]]*\]\(results/published/[^)]+\.png\)", text, re.I), text
    assert "Elo 95 % interval" in text, text
    assert re.search(r"^\| *adapter *\| *vs (default|random) *\| *vs (default|random)", text, re.M), text
    assert re.search(
        r"Run \d{4}-\d\d-\d\d with `python benchmarks/publish.py` on " + re.escape(here), text
    ), text


def test_the_store_is_archived_and_a_fresh_clone_resumes_from_the_archive(tmp_path: Path) -> None:
    from harness.store import STORE_FILE, Store

    out = tmp_path / "published"
    run = harness_cmd(
        "--task", "wine", "--budget", "2", "--adapters", "default", "--out", str(out), "--quiet"
    )
    subprocess.run(run, check=True, cwd=ROOT, timeout=300)
    publish = load_publish()
    with Store(out / STORE_FILE) as store:
        before = [(r.task, r.adapter, r.seed, r.test_score) for r in store.runs()]
    archive = publish.archive_store(out)
    assert archive == out / "harness.db.gz" and archive.stat().st_size > 0
    assert publish.restore_store(out) is False  # the store is there: the archive is not unpacked over it
    (out / STORE_FILE).unlink()
    assert publish.restore_store(out) is True
    with Store(out / STORE_FILE) as store:
        assert [(r.task, r.adapter, r.seed, r.test_score) for r in store.runs()] == before
    assert sorted(p.name for p in out.iterdir() if "harness.db" in p.name) == ["harness.db", "harness.db.gz"]


def test_report_only_in_a_fresh_clone_renders_from_the_archive(tmp_path: Path) -> None:
    # a clone has the committed harness.db.gz and no harness.db: --report-only unpacks it first
    from harness.store import STORE_FILE

    out = tmp_path / "published"
    run = harness_cmd(
        "--task", "wine", "--budget", "2", "--adapters", "default", "--out", str(out), "--quiet"
    )
    subprocess.run(run, check=True, cwd=ROOT, timeout=300)
    publish = load_publish()
    publish.archive_store(out)
    (out / STORE_FILE).unlink()
    (out / "summary.md").unlink()
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\n<!-- results:end -->\n")
    assert publish.main(["--report-only", "--out", str(out), "--readme", str(readme)]) == 0
    assert (out / STORE_FILE).is_file() and "wine" in (out / "summary.md").read_text()


def test_a_readme_without_the_markers_is_one_clear_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# nothing to replace\n")
    with pytest.raises(SystemExit, match="no <!-- results:start --> ... <!-- results:end --> block"):
        load_publish().update_readme(readme, "table")
    assert readme.read_text() == "# nothing to replace\n"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
