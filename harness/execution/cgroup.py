"""A cgroup of its own per run: the kernel's count of the CPU its whole process tree used.

A cgroup charges every process in it, and a process forked inside stays inside, so its counter
holds the CPU of every descendant of the run, those that already exited and those that
daemonised included: what sampling the tree cannot promise (:mod:`harness.execution.cpu_use`).

Made where the machine allows it, under the harness's own cgroup: cgroup v1's ``cpuacct``
hierarchy (``cpuacct.usage``, nanoseconds) when it is mounted, else cgroup v2 (``cpu.stat``'s
``usage_usec``, present without enabling a controller). Making one needs write access to the
hierarchy (root, or a delegated subtree); where that fails, :func:`create` returns None and the
runs are sampled instead. Each cgroup is named ``harness-<pid of the harness>-<run>`` and removed
when its run ends; a harness killed with ``kill -9`` leaves an empty one, which the next run removes.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

PREFIX = "harness-"
_STALE = re.compile(rf"^{PREFIX}(\d+)-")
_V1_COUNTER = "cpuacct.usage"  # nanoseconds
_V2_COUNTER = "cpu.stat"  # a line "usage_usec N"


@dataclass(frozen=True)
class RunCgroup:
    """One run's cgroup: ``path`` in a hierarchy of cgroup ``version`` 1 or 2."""

    path: Path
    version: int

    @property
    def counter(self) -> Path:
        """The file holding the cgroup's CPU time (read by :func:`read_usage`)."""
        return self.path / (_V1_COUNTER if self.version == 1 else _V2_COUNTER)

    def adopt(self, pids: Iterable[int]) -> bool:
        """Move processes into the cgroup (their future children are born in it); False if not allowed."""
        for pid in pids:
            try:
                (self.path / "cgroup.procs").write_text(f"{pid}\n")
            except ProcessLookupError:  # exited meanwhile: nothing left to move
                continue
            except OSError as exc:
                if exc.errno == errno.ESRCH:
                    continue
                log.debug("cannot move pid %d into %s: %s", pid, self.path, exc)
                return False
        return True

    def usage_s(self) -> float | None:
        return read_usage(self.counter)

    def remove(self) -> None:
        """Remove the cgroup (the kernel refuses while a process is in it; logged, swept later)."""
        try:
            self.path.rmdir()
        except OSError as exc:
            log.debug("cannot remove the cgroup %s: %s", self.path, exc)


def read_usage(counter: Path) -> float | None:
    """CPU seconds in a cgroup's counter file (v1 ``cpuacct.usage`` or v2 ``cpu.stat``); None if unreadable."""
    try:
        text = counter.read_text()
    except OSError:
        return None
    try:
        if counter.name == _V1_COUNTER:
            return int(text.strip()) / 1e9
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1e6
    except ValueError:
        pass
    return None


def create(tag: str) -> RunCgroup | None:
    """A new cgroup named for this process and ``tag``, or None where the machine does not allow one."""
    for base, version in hierarchies():
        _sweep(base)
        path = base / f"{PREFIX}{os.getpid()}-{tag}"
        try:
            path.mkdir()
        except OSError as exc:  # no permission, a read-only mount: try the next hierarchy
            log.debug("cannot make a cgroup under %s: %s", base, exc)
            continue
        cg = RunCgroup(path, version)
        if cg.usage_s() is not None:
            return cg
        cg.remove()
    return None


def hierarchies(proc: Path = Path("/proc/self")) -> list[tuple[Path, int]]:
    """This process's own cgroup directory in each hierarchy that counts CPU: v1 cpuacct first, then v2."""
    try:
        own = (proc / "cgroup").read_text().splitlines()
        mounts = (proc / "mountinfo").read_text().splitlines()
    except OSError:
        return []
    v1 = v2 = None
    for line in own:
        _hid, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            v1 = path
        elif controllers == "" and _hid == "0":
            v2 = path
    out: list[tuple[Path, int]] = []
    for own_path, version in ((v1, 1), (v2, 2)):
        if own_path is None:
            continue
        for line in mounts:
            fields, _, fs = line.partition(" - ")
            parts, fsparts = fields.split(), fs.split()
            if len(parts) < 5 or len(fsparts) < 3:
                continue
            root, point = parts[3], parts[4]
            ok = (
                fsparts[0] == "cgroup2"
                if version == 2
                else (fsparts[0] == "cgroup" and "cpuacct" in fsparts[2].split(","))
            )
            if ok and (own_path + "/").startswith(root.rstrip("/") + "/"):
                rel = own_path[len(root.rstrip("/")) :].strip("/")
                out.append((Path(point) / rel, version))
                break
    return out


def _sweep(base: Path) -> None:
    """Remove the empty run cgroups of harness processes that are gone (killed before they could)."""
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for d in entries:
        m = _STALE.match(d.name)
        if m and int(m.group(1)) != os.getpid() and not psutil.pid_exists(int(m.group(1))):
            try:
                d.rmdir()
            except OSError:  # still holds a process, or not ours to remove
                pass
