"""The cleaned-data cache: a task's data is cleaned once per raw data, options and cleaning code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tasks import clean_cache
from tasks.clean import clean
from tasks.loading import load_dataset
from tasks.registry import get_task

ROOT = Path(__file__).resolve().parents[2]


def entries(data_dir: Path) -> list[Path]:
    return sorted((data_dir / clean_cache.SUBDIR).glob("*.parquet"))


def csv_task(path: Path, rows: int = 60) -> str:
    lines = ["colour,size,label"] + [
        f"{'red' if i % 3 else 'blue'},{i % 7},{'yes' if i % 2 else 'no'}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return f"csv:{path}"


def test_a_second_load_reads_the_cleaned_data_and_it_is_the_same(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    spec = get_task("titanic")  # category columns: their order must survive the round trip
    first = load_dataset(spec, data_dir)
    assert len(entries(data_dir)) == 1
    second = load_dataset(spec, data_dir)
    assert len(entries(data_dir)) == 1
    assert second.fingerprint == first.fingerprint
    assert second.X.equals(first.X) and (second.y == first.y).all() and second.notes == first.notes
    for col in first.X.select_dtypes("category"):
        assert list(second.X[col].cat.categories) == list(first.X[col].cat.categories)
        assert (second.X[col].cat.codes == first.X[col].cat.codes).all()


def test_changed_data_options_or_code_miss_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    task = csv_task(tmp_path / "t.csv")
    a = load_dataset(get_task(task, target="label"), data_dir)
    b = load_dataset(get_task(task, target="colour"), data_dir)  # another option
    assert len(entries(data_dir)) == 2 and a.fingerprint != b.fingerprint
    csv_task(tmp_path / "t.csv", rows=61)  # the file changed
    c = load_dataset(get_task(task, target="label"), data_dir)
    assert len(entries(data_dir)) == 3 and len(c.X) == 61
    monkeypatch.setattr(clean_cache, "code_version", lambda: "other cleaning code")
    d = load_dataset(get_task(task, target="label"), data_dir)
    assert len(entries(data_dir)) == 4 and d.fingerprint == c.fingerprint


def test_a_corrupt_entry_is_cleaned_again_and_rewritten(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    spec = get_task(csv_task(tmp_path / "t.csv"), target="label")
    first = load_dataset(spec, data_dir)
    [entry] = entries(data_dir)
    entry.write_bytes(b"not parquet")
    again = load_dataset(spec, data_dir)
    assert again.fingerprint == first.fingerprint
    assert entry.read_bytes() != b"not parquet"  # verified again, not refused


def test_a_data_directory_that_cannot_hold_the_cache_only_costs_the_cleaning(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / clean_cache.SUBDIR).write_text("a file where the cache's folder would go")
    spec = get_task(csv_task(tmp_path / "t.csv"), target="label")
    ds = load_dataset(spec, data_dir)
    frame = __import__("pandas").read_csv(tmp_path / "t.csv")
    direct = clean(frame, "label", source="t.csv")
    assert ds.fingerprint == clean_cache.fingerprint(direct.X, direct.y, direct.classes, direct.problem_type)


def test_harness_processes_cleaning_the_same_data_at_once_agree(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    task = csv_task(tmp_path / "t.csv", rows=3000)
    code = (
        "import sys; from tasks.loading import load_dataset; from tasks.registry import get_task; "
        f"print(load_dataset(get_task({task!r}, target='label'), sys.argv[1]).fingerprint)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    prints = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(prints) == 1
    assert load_dataset(get_task(task, target="label"), data_dir).fingerprint == prints.pop()
    assert len(entries(data_dir)) == 1
