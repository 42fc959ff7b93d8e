"""The HTML report in a real browser (headless Chromium): it loads, no image is broken, a screenshot.

Broken images are found by a script added to a copy of the page: on ``load`` it writes the number of
images and of images with no natural width onto ``<body>``, and ``--dump-dom`` hands the DOM back.
A control page with a corrupt image proves the check can fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from harness.report.files import write_reports
from harness.store import Store
from tests.harness.report.conftest import fill_synthetic

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium)"
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
PROBE = (
    "<script>window.addEventListener('load',()=>{const im=Array.from(document.images);"
    "const b=document.body;b.setAttribute('data-images',im.length);"
    "b.setAttribute('data-broken',im.filter(i=>!(i.complete&&i.naturalWidth>0)).length);"
    "b.setAttribute('data-title',document.title);"
    "b.setAttribute('data-sizes',im.map(i=>i.naturalWidth+'x'+i.naturalHeight+':'+i.alt).join('|'));"
    "b.setAttribute('data-loaded','yes');});</script>"
)


def chromium(*args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        proc = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def probe(page: Path, tmp: Path) -> dict[str, str]:
    """Load a copy of ``page`` with the probe script and read what it wrote on <body>."""
    copy = tmp / f"probe-{page.parent.name}-{page.name}"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", copy.as_uri())
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', body.group(1)))


def screenshot(page: Path, dest: Path) -> Path:
    chromium("--window-size=1280,2400", f"--screenshot={dest}", page.as_uri())
    return dest


def test_task_report_and_index_render_without_broken_images(synthetic_store: Path, tmp_path: Path) -> None:
    with Store(synthetic_store / "harness.db") as s:
        write_reports(s, synthetic_store)
    page = synthetic_store / "synth" / "report.html"
    n_plots = len(list((synthetic_store / "synth" / "plots").glob("*.png")))
    assert n_plots >= 6
    seen = probe(page, tmp_path)
    assert seen["loaded"] == "yes" and seen["title"] == "synth: harness report"
    assert seen["images"] == str(n_plots) and seen["broken"] == "0", seen
    index = probe(synthetic_store / "index.html", tmp_path)
    assert index["loaded"] == "yes" and index["broken"] == "0"
    shot = screenshot(page, tmp_path / "report.png")
    with Image.open(shot) as im:
        assert im.size == (1280, 2400)
        assert len(im.convert("L").getcolors(maxcolors=1 << 16) or []) > 50, "the screenshot looks blank"


def test_index_shows_the_cross_task_plots(tmp_path: Path) -> None:
    """Across several tasks, index.html carries the CD diagram and the win-rate matrix, both drawn."""
    out = tmp_path / "out"
    with Store(out / "harness.db") as s:
        for task in ("a", "b", "c", "d"):
            fill_synthetic(s, task=task, seeds=3)
        write_reports(s, out)
    index = out / "index.html"
    assert "Elo 95 % interval" in index.read_text()
    seen = probe(index, tmp_path)
    assert seen["loaded"] == "yes" and seen["images"] == "2" and seen["broken"] == "0", seen
    sizes = dict(reversed(x.split(":", 1)) for x in seen["sizes"].split("|"))
    cd = next(v for k, v in sizes.items() if k.startswith("Critical-difference diagram"))
    wr = next(v for k, v in sizes.items() if k.startswith("Win rate"))
    for size in (cd, wr):
        w, h = (int(x) for x in size.split("x"))
        assert w >= 400 and h >= 150, sizes
    shot = screenshot(index, tmp_path / "index.png")
    with Image.open(shot) as im:
        assert len(im.convert("L").getcolors(maxcolors=1 << 16) or []) > 50, "the screenshot looks blank"


def test_the_check_catches_a_broken_image(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<img src="data:image/png;base64,bm90IGEgcG5n" alt="not a png"></body></html>'
    )
    seen = probe(bad, tmp_path)
    assert seen["images"] == "1" and seen["broken"] == "1"


@pytest.mark.slow
def test_real_run_report_renders(real_run: Path, tmp_path: Path) -> None:
    page = real_run / "breast_cancer" / "report.html"
    seen = probe(page, tmp_path)
    assert seen["loaded"] == "yes" and int(seen["images"]) >= 5 and seen["broken"] == "0", seen
    shot = screenshot(page, tmp_path / "real.png")
    assert shot.stat().st_size > 20_000
