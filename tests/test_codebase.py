"""The codebase's own rules, checked as CI runs them: lint, types, and an import graph without circles.

The import graph is built with grimp from the source (``TYPE_CHECKING`` imports included: a
circle through a type annotation still means a part is in the wrong place).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import grimp
import pytest

from tests import ROOT

PACKAGES = ("harness", "adapters", "tasks")

# Which parts may not depend on which: (importer, imported). The packages' maps
# (``harness/__init__.py`` ...) say why: tasks know nothing of adapters or of how jobs run,
# adapters nothing of the harness beyond its error type, and execution and reporting are
# independent parts of the harness.
FORBIDDEN = (
    ("tasks", "adapters"),
    ("tasks", "harness.execution"),
    ("tasks", "harness.report"),
    ("tasks", "harness.runner"),
    ("adapters", "harness.execution"),
    ("adapters", "harness.report"),
    ("adapters", "harness.runner"),
    ("adapters", "harness.store"),
    ("harness.execution", "harness.report"),
    ("harness.execution", "harness.runner"),
    ("harness.execution", "harness.store"),
    ("harness.report", "harness.execution"),
    ("harness.report", "harness.runner"),
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def test_no_import_circle(graph: grimp.ImportGraph) -> None:
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                circles.append(" -> ".join((module, *back)))
    assert not circles, "import circles:\n" + "\n".join(sorted(set(circles)))


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_parts_depend_only_downwards(graph: grimp.ImportGraph, importer: str, imported: str) -> None:
    chains = graph.find_shortest_chains(importer=importer, imported=imported, as_packages=True)
    assert not chains, f"{importer} must not import {imported}: " + "; ".join(" -> ".join(c) for c in chains)


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff")
    assert ruff, "ruff is in the test extra: pip install -e '.[test]'"
    proc = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    proc = subprocess.run(
        [ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, "not formatted (run `ruff format`):\n" + proc.stdout[-3000:]


@pytest.mark.slow
def test_types_check() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", *PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
