"""OpenML suites and tasks: suite resolution, official folds, the verified cache, and the CLI end to end.

Only the network is replaced (``fake_openml.py``): the fake server answers in OpenML's layout with
data sets built from scikit-learn's bundled data, tasks with generated 10-fold split files, and
suites listing them. Nothing is downloaded from OpenML.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import logging
import os
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

import tasks.openml
from harness.config import RunConfig
from harness.errors import HarnessError
from harness.runner import load_datasets
from tasks import cache, clean_cache
from tasks.loading import load_dataset
from tasks.openml_suites import KNOWN_SUITES, OPENML_LITE, OPENML_LITE_TASKS
from tasks.openml_tasks import read_splits
from tasks.registry import SUITES, expand, expand_with_origin, get_task, suite_tasks
from tasks.splits import make_split
from tests.conftest import harness_cmd
from tests.tasks.fake_openml import FakeOpenML, fold_ids, splits_arff

STUDY, SMALL_STUDY, RUN_STUDY = 7271, 7272, 7273
BINARY, MULTICLASS, REGRESSION, HOLDOUT = 7001, 7002, 7003, 7004
# AMLB's suites 271 (classification) and 269 (regression): suite:openml-lite must be a subset of them
AMLB_TASKS = {
    *(2073, 3945, 7593, 10090, 146818, 146820, 167120, 168350, 168757, 168784, 168868, 168909),
    *(168910, 168911, 189354, 189355, 189356, 189922, 190137, 190146, 190392, 190410, 190411),
    *(190412, 211979, 211986, *range(359953, 359978), *range(359979, 359995), 360112, 360113),
    *(360114, 360975, 167210, 233211, 233212, 233213, 233214, 233215, 317614, *range(359929, 359947)),
    *(359948, 359949, 359950, 359951, 359952, 360932, 360933, 360945),
}


def named(bunch, target: str) -> pd.DataFrame:
    frame = bunch.frame.rename(columns={"target": target})
    if hasattr(bunch, "target_names"):  # classification: the class names, as OpenML's nominal target
        frame[target] = pd.Categorical(np.asarray(bunch.target_names)[bunch.target])
    return frame


def make_fake() -> tuple[FakeOpenML, dict[int, np.ndarray]]:
    """Three data sets from scikit-learn, a 10-fold task on each, a hold-out task, and suites."""
    fake = FakeOpenML()
    fake.add_data_set(
        7101, "breast_cancer", named(load_breast_cancer(as_frame=True), "diagnosis"), "diagnosis"
    )
    fake.add_data_set(7102, "wine", named(load_wine(as_frame=True), "cultivar"), "cultivar")
    fake.add_data_set(7103, "diabetes", named(load_diabetes(as_frame=True), "progression"), "progression")
    folds = {
        tid: fake.add_task(tid, did) for tid, did in ((BINARY, 7101), (MULTICLASS, 7102), (REGRESSION, 7103))
    }
    fake.add_task(HOLDOUT, 7101, n_folds=1, procedure="holdout")
    fake.add_study(STUDY, [BINARY, MULTICLASS, REGRESSION])
    fake.add_study(SMALL_STUDY, [BINARY, REGRESSION])
    fake.add_study(RUN_STUDY, [BINARY], main_entity_type="run")
    return fake, folds


@pytest.fixture
def fake() -> FakeOpenML:
    return make_fake()[0]


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenML) -> FakeOpenML:
    monkeypatch.delenv("HARNESS_OFFLINE")
    monkeypatch.setattr(tasks.openml, "urlopen", fake)
    return fake


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(req, timeout=None):
        raise AssertionError("this test must not reach the network")

    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    monkeypatch.setattr(tasks.openml, "urlopen", refuse)


def test_suite_resolves_to_its_tasks_and_is_cached(
    offline: Path, online: FakeOpenML, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["openml-task:7001", "openml-task:7002", "openml-task:7003"]
    assert expand([f"suite:openml:{STUDY}"]) == names
    assert online.urls == [f"https://www.openml.org/api/v1/json/study/{STUDY}"]
    manifest = cache.read(offline, f"openml-study-{STUDY}")
    assert manifest is not None and manifest[1]["alias"] == f"fake-suite-{STUDY}"
    go_offline(monkeypatch)  # the cached task list is used without the server
    assert expand(["wine", f"suite:openml:{STUDY}", "openml-task:7002"]) == ["wine", *names]
    origins = dict(expand_with_origin([f"suite:openml:{STUDY}", "openml-task:7002"]))
    assert origins == {names[0]: f"suite:openml:{STUDY}", names[1]: None, names[2]: f"suite:openml:{STUDY}"}


def test_task_loads_with_its_target_type_metric_and_official_folds(online: FakeOpenML) -> None:
    _, folds = make_fake()  # the same generated folds as the server's
    expected = {BINARY: ("binary", "roc_auc", 569), MULTICLASS: ("multiclass", "log_loss", 178)}
    expected[REGRESSION] = ("regression", "rmse", 442)
    for tid, (ptype, metric, n) in expected.items():
        ds = load_dataset(get_task(f"openml-task:{tid}"))
        assert (ds.problem_type, ds.metric, len(ds.y)) == (ptype, metric, n)
        assert ds.spec.problem_type == ptype and ds.given_protocol == "openml-cv10"
        assert ds.fold_of_row is not None and np.array_equal(ds.fold_of_row, folds[tid])
        assert sorted(Counter(ds.fold_of_row.tolist())) == list(range(10))  # no row without a fold
        tested = np.concatenate([make_split(ds, k, 10).test for k in range(10)])
        assert sorted(tested.tolist()) == list(range(n))  # each row in exactly one test fold
        split = make_split(ds, 3)
        assert (split.protocol, split.fold) == ("openml-cv10", 3)
        assert np.array_equal(split.test, np.flatnonzero(folds[tid] == 3))
        assert not set(split.train) & set(split.test) and not set(split.valid) & set(split.test)
    assert ds.classes == () and any("downloaded OpenML task 7003" in n for n in ds.notes)
    wine = load_dataset(get_task(f"openml-task:{MULTICLASS}"))
    assert wine.classes == ("class_0", "class_1", "class_2")


def test_cached_task_loads_offline_without_the_server(
    offline: Path, online: FakeOpenML, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_dataset(get_task(f"openml-task:{BINARY}"))
    assert {p.name for p in offline.iterdir()} == {
        "openml-task-7001.parquet",
        "openml-task-7001.json",
        "openml-7101.parquet",
        "openml-7101.json",
        clean_cache.SUBDIR,  # the cleaned data, beside the downloads
    }
    go_offline(monkeypatch)
    again = load_dataset(get_task(f"openml-task:{BINARY}"))
    assert again.fingerprint == first.fingerprint and again.notes == ()
    assert np.array_equal(again.fold_of_row, first.fold_of_row)


def test_tampered_task_cache_fails_its_checksum(offline: Path, online: FakeOpenML) -> None:
    load_dataset(get_task(f"openml-task:{BINARY}"))
    data = offline / "openml-task-7001.parquet"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(HarnessError, match="fails its checksum \\(tampered or corrupt\\)") as info:
        load_dataset(get_task(f"openml-task:{BINARY}"))
    assert str(data) in str(info.value) and "\n" not in str(info.value)


def test_corrupt_data_download_fails_the_md5(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = make_fake()[0]
    fake.corrupt_data = True
    monkeypatch.delenv("HARNESS_OFFLINE")
    monkeypatch.setattr(tasks.openml, "urlopen", fake)
    with pytest.raises(HarnessError, match="fails OpenML's md5 checksum"):
        load_dataset(get_task(f"openml-task:{BINARY}"))
    assert not (offline / "openml-7101.parquet").exists()


def test_suite_task_that_cannot_load_is_one_warning_and_the_rest_loads(
    offline: Path, online: FakeOpenML, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    expand([f"suite:openml:{STUDY}"])  # the suite and two of its tasks are cached, the third is not
    load_dataset(get_task(f"openml-task:{BINARY}"))
    load_dataset(get_task(f"openml-task:{REGRESSION}"))
    go_offline(monkeypatch)
    with caplog.at_level(logging.WARNING):
        datasets = load_datasets(RunConfig(tasks=(f"suite:openml:{STUDY}",), budgets=(1.0,)))
    assert list(datasets) == ["openml-task:7001", "openml-task:7003"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert warnings[0].startswith(f"skipped openml-task:7002 of suite:openml:{STUDY}: OpenML task 7002")
    assert "run once with network" in warnings[0] and "openml-task-7002.parquet" in warnings[0]
    # a task the user named is not skipped: its error stops the run
    with pytest.raises(HarnessError, match="OpenML task 7002 is not in the cache"):
        load_datasets(RunConfig(tasks=(f"suite:openml:{STUDY}", "openml-task:7002"), budgets=(1.0,)))


def test_suite_without_network_or_cache_is_one_line(offline: Path) -> None:
    with pytest.raises(HarnessError) as info:
        expand(["suite:openml:271"])
    text = str(info.value)
    assert "\n" not in text and text.startswith("OpenML suite 271 is not in the cache")
    assert "run once with network" in text and "--data-dir" in text and "openml-study-271.json" in text
    with pytest.raises(HarnessError, match="OpenML task 31 is not in the cache .* run once with network"):
        load_dataset(get_task("openml-task:31"))
    assert not offline.exists()  # nothing was written


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (f"openml-task:{HOLDOUT}", "evaluated by 'holdout', not k-fold cross-validation.*openml:7101"),
        ("openml-task:987654", "OpenML task 987654 does not exist \\(OpenML answered 412\\)"),
        (f"suite:openml:{RUN_STUDY}", "study of runs, not a benchmark suite of tasks"),
        ("suite:openml:987654", "OpenML suite 987654 does not exist"),
    ],
)
def test_bad_tasks_and_suites_give_one_line(online: FakeOpenML, name: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message) as info:
        expand([name]) if name.startswith("suite:") else load_dataset(get_task(name))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: get_task("openml-task:abc"), "does not end in an OpenML id; write openml-task:ID"),
        (lambda: get_task("openml-task:0"), "does not end in an OpenML id"),
        (lambda: get_task("openml-task:31", target="class"), "takes its target from the OpenML task"),
        (lambda: expand(["suite:openml:x"]), "write suite:openml:ID"),
        (lambda: expand(["suite:openml-lit"]), "did you mean suite:openml-lite\\?.*suite:openml:ID"),
    ],
)
def test_bad_names_give_one_line(call, message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        call()


def test_split_files_are_checked(tmp_path: Path) -> None:
    def write(text: str) -> Path:
        path = tmp_path / "splits.arff.gz"
        path.write_bytes(gzip.compress(text.encode()))
        return path

    folds = fold_ids(np.arange(50) % 2, 5, 0, stratified=True)
    no_sample = read_splits(write(splits_arff(1, folds, 5, sample_column=False)), "splits", 5)
    assert np.array_equal(no_sample, folds)
    twice = splits_arff(1, folds, 5) + "TEST,0,0,4,0\n" + "TEST,0,0,3,0\n"
    with pytest.raises(HarnessError, match="puts a row into several test folds"):
        read_splits(write(twice), "splits", 5)
    with pytest.raises(HarnessError, match="does not have test rows in each of its 6 folds"):
        read_splits(write(splits_arff(1, folds, 5)), "splits", 6)
    with pytest.raises(HarnessError, match="lacks the column\\(s\\) fold"):
        read_splits(
            write(
                "@relation x\n@attribute type {TRAIN,TEST}\n@attribute rowid numeric\n"
                "@attribute repeat numeric\n@data\nTEST,0,0\n"
            ),
            "splits",
            1,
        )


def test_openml_lite_is_a_small_spread_of_amlb_tasks() -> None:
    specs = suite_tasks("openml-lite")
    assert 10 <= len(specs) <= 20 and list(SUITES["openml-lite"]) == list(OPENML_LITE) == expand(
        ["suite:openml-lite"]
    )
    assert {int(t.name.split(":")[1]) for t in specs} <= AMLB_TASKS
    assert Counter(t.problem_type for t in specs) == {"binary": 6, "multiclass": 6, "regression": 6}
    metric = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
    for t in OPENML_LITE_TASKS:
        assert t.source == t.name and t.metric == metric[str(t.problem_type)] and t.target
        assert get_task(t.name) is t and t.n_rows is not None and t.n_rows <= 10_000
    assert min(t.n_rows or 0 for t in specs) < 1000 < 5000 < max(t.n_rows or 0 for t in specs)
    assert set(KNOWN_SUITES) == {271, 269, 99}


def test_an_openml_lite_task_checks_its_table_against_the_task(
    offline: Path, online: FakeOpenML, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = dataclasses.replace(
        get_task(f"openml-task:{BINARY}"), target="diagnosis", problem_type="multiclass"
    )
    with pytest.raises(HarnessError, match="should be multiclass but OpenML task 7001 is binary"):
        load_dataset(spec)
    with pytest.raises(
        HarnessError, match="should have the target 'label' but OpenML task 7001 has 'diagnosis'"
    ):
        load_dataset(dataclasses.replace(spec, target="label"))


def read_runs(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.usefixtures("no_leaks")
def test_cli_runs_an_openml_suite_on_its_official_folds(
    tmp_path: Path, offline: Path, fake: FakeOpenML
) -> None:
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_OFFLINE"}
    env["HARNESS_DATA_DIR"] = str(offline)
    args = ["--task", f"suite:openml:{SMALL_STUDY}", "--folds", "10", "--budget", "1"]
    args += [
        "--adapters",
        "default",
        "--out",
        str(out),
        "--quiet",
        "--parallel",
        str(min(2, os.cpu_count() or 1)),
    ]
    with fake.serve() as url:
        env["HARNESS_OPENML_URL"] = url
        proc = subprocess.run(harness_cmd(*args), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    asked = {u.split("127.0.0.1:", 1)[1].split("/", 1)[1] for u in fake.urls}
    assert (
        f"api/v1/json/study/{SMALL_STUDY}" in asked and "api_splits/get/7001/Task_7001_splits.arff" in asked
    )
    rows = read_runs(out / "runs.csv")
    assert Counter(r["task"] for r in rows) == {"openml-task:7001": 10, "openml-task:7003": 10}
    for task in ("openml-task:7001", "openml-task:7003"):
        mine = [r for r in rows if r["task"] == task]
        assert sorted(int(r["fold"]) for r in mine) == list(range(10))
        assert {(r["protocol"], r["status"], r["adapter"]) for r in mine} == {
            ("openml-cv10", "ok", "default")
        }
    assert {r["metric"] for r in rows} == {"roc_auc", "rmse"}
    # the same command without network or server: everything from the cache, every run already done
    env["HARNESS_OFFLINE"] = "1"
    again = subprocess.run(harness_cmd(*args), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(read_runs(out / "runs.csv")) == 20
