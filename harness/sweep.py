"""The harness's directories under the temp dir: each names its owner, and a dead owner's are swept.

Every directory the harness makes directly under the temp dir (``harness-*``: the runner's prepared
splits, the sandbox's run directories, the Dask executor's scratch) holds :data:`OWNER_FILE`, the
pid and start time of the process that made it. A process killed with ``kill -9`` cannot remove
them (they hold train labels and test features), so each command sweeps, at its start, those whose
owner is gone. The start time is compared too: a pid the system has since given to another process
does not keep a dead owner's directory alive. Directories without the file (another program's, an
older harness's, one being made this instant) are left alone.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

PREFIX = "harness-"
OWNER_FILE = ".harness-owner"
START_TOLERANCE_S = 0.5  # the start time read twice for one process agrees far better than this


def process_start(pid: int) -> float | None:
    """When ``pid`` started (seconds since the epoch), or None if there is no such process."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def owned_tempdir(prefix: str = PREFIX, dir: Path | str | None = None) -> Path:
    """``tempfile.mkdtemp`` that records this process as the owner (for :func:`sweep`)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    me = os.getpid()
    owner = {"pid": me, "start": process_start(me), "host": socket.gethostname()}
    (path / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    return path


def owner_is_gone(path: Path) -> bool:
    """Whether the process that made ``path`` is dead (False when unknown: no owner file, another host)."""
    try:
        owner = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
        pid, start, host = int(owner["pid"]), owner.get("start"), owner.get("host")
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if host and host != socket.gethostname():  # a temp dir shared between machines: not ours to judge
        return False
    now = process_start(pid)
    if now is None:
        return True
    return start is not None and abs(now - float(start)) > START_TOLERANCE_S


def sweep(root: Path | str | None = None) -> list[Path]:
    """Remove ``harness-*`` directories under ``root`` (the temp dir) whose owner is gone."""
    base = Path(root if root is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        candidates = [p for p in base.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return removed
    for path in candidates:
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        if owner_is_gone(path):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
    if removed:
        log.info("removed %d temporary directories of harness processes that are gone", len(removed))
    return removed
