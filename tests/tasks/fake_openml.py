"""A stand-in for OpenML's web server: scikit-learn's recorded OpenML answers, plus tasks and suites.

Data sets: the files scikit-learn ships for its own tests are OpenML's real answers (some data files
are shortened, with matching md5 checksums), so the download, md5 check, ARFF parsing, caching and
cleaning all run for real. Tasks, suites and further data sets are added by the tests
(:meth:`FakeOpenML.add_data_set`, :meth:`~FakeOpenML.add_task`, :meth:`~FakeOpenML.add_study`) and
answered in the layout of OpenML's JSON API (task and study descriptions, a data set's description
and features) and of its files (the data set's ARFF, the task's ``datasplits.arff``); their content
is generated here, from data the tests give, never copied from OpenML. Unknown ids get HTTP 412, as
OpenML answers.

Two ways to use it: as ``urllib.request.urlopen`` (``monkeypatch.setattr(tasks.openml, "urlopen",
fake)``), or as a real HTTP server on localhost for another process (:meth:`FakeOpenML.serve`, with
``HARNESS_OPENML_URL`` set to the address it yields). Paths are matched whatever the server's
address, and links in the answers (data and split files) point back to the address asked.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import sklearn

ROOT = Path(sklearn.__file__).parent / "datasets" / "tests" / "data" / "openml"
UNKNOWN = b'{"error":{"code":"111","message":"Unknown dataset"}}'


class Response:
    def __init__(self, gz_bytes: bytes, gzip_encoded: bool) -> None:
        self._data = io.BytesIO(gz_bytes if gzip_encoded else gzip.decompress(gz_bytes))
        self._gzip = gzip_encoded

    def read(self, amt: int = -1) -> bytes:
        return self._data.read(amt)

    def info(self) -> dict[str, str]:
        return {"Content-Encoding": "gzip"} if self._gzip else {}

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self._data.close()


@dataclass(frozen=True)
class FakeDataSet:
    did: int
    name: str
    arff: str
    target: str


@dataclass(frozen=True)
class FakeTask:
    tid: int
    did: int
    target: str
    regression: bool
    n_folds: int
    splits: str
    procedure: str = "crossvalidation"


def arff_text(name: str, frame: pd.DataFrame, nominal: dict[str, list[str]]) -> str:
    """A dense ARFF file of ``frame``: ``nominal`` columns with their values, the others numeric."""
    lines = [f"@relation {name}", ""]
    for col in frame.columns:
        kind = "{" + ",".join(nominal[col]) + "}" if col in nominal else "numeric"
        lines.append(f"@attribute '{col}' {kind}")
    lines += ["", "@data"]
    cells = frame.astype(object).where(frame.notna(), "?").astype(str)
    lines += [",".join(row) for row in cells.itertuples(index=False, name=None)]
    return "\n".join(lines) + "\n"


def fold_ids(y: np.ndarray, n_folds: int, seed: int, stratified: bool) -> np.ndarray:
    """Each row's test fold: rows shuffled (within each class when stratified) and dealt round-robin."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=np.int64)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratified else [np.arange(len(y))]
    start = 0
    for rows in groups:
        rows = rng.permutation(rows)
        folds[rows] = (start + np.arange(len(rows))) % n_folds
        start += len(rows)
    return folds


def splits_arff(tid: int, folds: np.ndarray, n_folds: int, sample_column: bool = True) -> str:
    """OpenML's ``datasplits.arff`` layout for one repeat: for each fold its TRAIN rows, then its TEST rows."""
    lines = [f"@relation openml_task_{tid}_splits", "", "@attribute type {TRAIN,TEST}"]
    lines += ["@attribute rowid numeric", "@attribute repeat numeric", "@attribute fold numeric"]
    lines += ["@attribute sample numeric"] if sample_column else []
    lines += ["", "@data"]
    tail = ",0" if sample_column else ""
    for k in range(n_folds):
        for kind, rows in (("TRAIN", np.flatnonzero(folds != k)), ("TEST", np.flatnonzero(folds == k))):
            lines += [f"{kind},{r},0,{k}{tail}" for r in rows]
    return "\n".join(lines) + "\n"


class FakeOpenML:
    """Callable like ``urllib.request.urlopen``; records the URLs it was asked for."""

    def __init__(self, gzip_encoded: bool = True, corrupt_data: bool = False) -> None:
        self.gzip_encoded = gzip_encoded
        self.corrupt_data = corrupt_data
        self.urls: list[str] = []
        self.data_sets: dict[int, FakeDataSet] = {}
        self.tasks: dict[int, FakeTask] = {}
        self.studies: dict[int, dict] = {}

    # --- what the tests add ---

    def add_data_set(self, did: int, name: str, frame: pd.DataFrame, target: str) -> None:
        """Serve ``frame`` as data set ``did``; a text or category ``target`` column becomes nominal."""
        nominal = {}
        for col in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[col]):
                nominal[col] = sorted(frame[col].dropna().astype(str).unique())
        self.data_sets[did] = FakeDataSet(did, name, arff_text(name, frame, nominal), target)

    def add_task(
        self, tid: int, did: int, n_folds: int = 10, seed: int = 0, procedure: str = "crossvalidation"
    ) -> np.ndarray:
        """A task on data set ``did`` (its target; regression for a numeric one); returns each row's fold."""
        ds = self.data_sets[did]
        frame = _read_back(ds.arff)
        y = frame[ds.target].to_numpy()
        regression = pd.api.types.is_numeric_dtype(frame[ds.target])
        folds = fold_ids(y, n_folds, seed, stratified=not regression)
        splits = splits_arff(tid, folds, n_folds)
        self.tasks[tid] = FakeTask(tid, did, ds.target, regression, n_folds, splits, procedure)
        return folds

    def add_study(self, sid: int, task_ids: list[int], main_entity_type: str = "task") -> None:
        self.studies[sid] = {
            "id": str(sid),
            "alias": f"fake-suite-{sid}",
            "main_entity_type": main_entity_type,
            "name": f"Fake benchmark suite {sid}",
            "description": "Generated by the tests",
            "visibility": "public",
            "status": "active",
            "data": {"data_id": [str(self.tasks[t].did) for t in task_ids if t in self.tasks]},
            "tasks": {"task_id": [str(t) for t in task_ids]},
        }

    # --- answering ---

    def __call__(self, req, timeout: float | None = None) -> Response:
        url = req.get_full_url()
        self.urls.append(url)
        body = self.answer(url)
        if body is None:
            raise HTTPError(url, 412, "Unknown dataset", {}, io.BytesIO(UNKNOWN))
        return Response(body, self.gzip_encoded)

    def answer(self, url: str) -> bytes | None:
        """The gzip-compressed answer to ``url``, or None for an unknown id (HTTP 412)."""
        parts = urlsplit(url)
        origin, path = f"{parts.scheme}://{parts.netloc}", parts.path
        data = self._generated(origin, path)
        if data is None:
            file = self._file_for(path)
            data = file.read_bytes() if file is not None and file.exists() else None
        if data is not None and self.corrupt_data and "/download/" in path:
            raw = bytearray(gzip.decompress(data))
            raw[-3] = ord("9") if raw[-3] != ord("9") else ord("8")
            data = gzip.compress(bytes(raw))
        return data

    def _generated(self, origin: str, path: str) -> bytes | None:
        doc: dict | str | None = None
        if m := re.fullmatch(r"/api/v1/json/study/(\d+)", path):
            study = self.studies.get(int(m.group(1)))
            doc = {"study": study} if study else None
        elif m := re.fullmatch(r"/api/v1/json/task/(\d+)", path):
            task = self.tasks.get(int(m.group(1)))
            doc = _task_json(task, origin) if task else None
        elif m := re.fullmatch(r"/api_splits/get/(\d+)/Task_\d+_splits\.arff", path):
            task = self.tasks.get(int(m.group(1)))
            doc = task.splits if task else None
        elif m := re.fullmatch(r"/api/v1/json/data/(features/)?(\d+)", path):
            ds = self.data_sets.get(int(m.group(2)))
            doc = (_features_json(ds) if m.group(1) else _data_json(ds, origin)) if ds else None
        elif m := re.match(r"/data/v1/download/(\d+)/", path):
            ds = self.data_sets.get(int(m.group(1)))
            doc = ds.arff if ds else None
        if doc is None:
            return None
        text = doc if isinstance(doc, str) else json.dumps(doc)
        return gzip.compress(text.encode())

    @staticmethod
    def _file_for(path: str) -> Path | None:
        m = re.fullmatch(r"/api/v1/json/data/(features/|qualities/)?(\d+)", path)
        if m:
            kind = {"features/": "jdf", "qualities/": "jdq", None: "jd"}[m.group(1)]
            did = m.group(2)
            return ROOT / f"id_{did}" / f"api-v1-{kind}-{did}.json.gz"
        m = re.match(r"/data/v1/download/(\d+)/", path)
        if m:
            hits = sorted(ROOT.glob(f"id_*/data-v1-dl-{m.group(1)}.arff.gz"))
            return hits[0] if hits else None
        return None

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Answer over HTTP on localhost while the block runs; yields the server's base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = f"http://{self.headers.get('Host')}{self.path}"
                fake.urls.append(url)
                body = fake.answer(url)
                if body is None:
                    self.send_response(412)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(UNKNOWN)
                    return
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the tests check fake.urls instead

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


def _read_back(arff: str) -> pd.DataFrame:
    from tasks.arff import read_arff

    return read_arff(io.StringIO(arff), "fake data set")


def _data_json(ds: FakeDataSet, origin: str) -> dict:
    return {
        "data_set_description": {
            "id": str(ds.did),
            "name": ds.name,
            "version": "1",
            "format": "ARFF",
            "file_id": str(ds.did),
            "default_target_attribute": ds.target,
            "md5_checksum": hashlib.md5(ds.arff.encode()).hexdigest(),
            "url": f"{origin}/data/v1/download/{ds.did}/{ds.name}.arff",
            "status": "active",
        }
    }


def _features_json(ds: FakeDataSet) -> dict:
    names = [m.group(1) for m in re.finditer(r"^@attribute '([^']*)'", ds.arff, re.MULTILINE)]
    feature = [
        {
            "index": str(i),
            "name": name,
            "is_target": "true" if name == ds.target else "false",
            "is_ignore": "false",
            "is_row_identifier": "false",
        }
        for i, name in enumerate(names)
    ]
    return {"data_features": {"feature": feature}}


def _task_json(task: FakeTask, origin: str) -> dict:
    kind = "Supervised Regression" if task.regression else "Supervised Classification"
    params = [
        {"name": "number_repeats", "value": "1"},
        {"name": "number_folds", "value": str(task.n_folds)},
        {"name": "percentage"},
        {"name": "stratified_sampling", "value": "false" if task.regression else "true"},
    ]
    return {
        "task": {
            "task_id": str(task.tid),
            "task_name": f"Task {task.tid}: data set {task.did} ({kind})",
            "task_type_id": "2" if task.regression else "1",
            "task_type": kind,
            "input": [
                {
                    "name": "source_data",
                    "data_set": {"data_set_id": str(task.did), "target_feature": task.target},
                },
                {
                    "name": "estimation_procedure",
                    "estimation_procedure": {
                        "id": "1",
                        "type": task.procedure,
                        "data_splits_url": f"{origin}/api_splits/get/{task.tid}/Task_{task.tid}_splits.arff",
                        "parameter": params,
                    },
                },
                {"name": "evaluation_measures", "evaluation_measures": []},
            ],
            "output": {"name": "predictions"},
            "tag": ["fake"],
        }
    }
