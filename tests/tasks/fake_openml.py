"""A stand-in for OpenML's web server that answers from the files scikit-learn ships for its own tests.

Only the network is replaced: the JSON descriptions, feature lists and ARFF files are OpenML's real
answers (some data files are shortened, with matching md5 checksums), so the download, md5 check,
ARFF parsing, caching and cleaning all run for real. Unknown ids get HTTP 412, as OpenML answers.
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path
from urllib.error import HTTPError

import sklearn

ROOT = Path(sklearn.__file__).parent / "datasets" / "tests" / "data" / "openml"


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


class FakeOpenML:
    """Callable like ``urllib.request.urlopen``; records the URLs it was asked for."""

    def __init__(self, gzip_encoded: bool = True, corrupt_data: bool = False) -> None:
        self.gzip_encoded = gzip_encoded
        self.corrupt_data = corrupt_data
        self.urls: list[str] = []

    def __call__(self, req, timeout: float | None = None) -> Response:
        url = req.get_full_url()
        self.urls.append(url)
        path = self._file_for(url)
        if path is None or not path.exists():
            raise HTTPError(url, 412, "Unknown dataset", {}, io.BytesIO(b'{"error":{"code":"111"}}'))
        data = path.read_bytes()
        if self.corrupt_data and "/download/" in url:
            raw = bytearray(gzip.decompress(data))
            raw[-3] = ord("9") if raw[-3] != ord("9") else ord("8")
            data = gzip.compress(bytes(raw))
        return Response(data, self.gzip_encoded)

    @staticmethod
    def _file_for(url: str) -> Path | None:
        m = re.fullmatch(r"https://www\.openml\.org/api/v1/json/data/(features/|qualities/)?(\d+)", url)
        if m:
            kind = {"features/": "jdf", "qualities/": "jdq", None: "jd"}[m.group(1)]
            did = m.group(2)
            return ROOT / f"id_{did}" / f"api-v1-{kind}-{did}.json.gz"
        m = re.match(r"https://www\.openml\.org/data/v1/download/(\d+)/", url)
        if m:
            hits = sorted(ROOT.glob(f"id_*/data-v1-dl-{m.group(1)}.arff.gz"))
            return hits[0] if hits else None
        return None
