"""Where a command's wall time goes: named phases of the driver, each logged at DEBUG as it ends.

One line per phase, ``phase NAME START END`` (seconds since the epoch, so another process can set
them against the moment it started the command): ``benchmarks/overhead.py --cli`` runs
``python -m harness ... --debug`` and sums these lines per name to break down the driver's cost
outside the jobs. A phase may run inside another (``score`` inside ``jobs``) or many times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("harness.timing")

MARK = "phase"  # the first word of each line, what a reader of the log looks for


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as the phase ``name`` (one word): a DEBUG line with its start and end."""
    start = time.time()
    try:
        yield
    finally:
        log.debug("%s %s %.6f %.6f", MARK, name, start, time.time())
