"""Watching and killing a whole process tree: the child, its children, and anything they daemonised.

A grandchild whose parent died is re-parented away from our tree, and a JVM may
start its own session, so the tree is found three ways: the live descendants of
the child, every descendant seen earlier (remembered with its start time, so a
reused PID is never killed), and every process whose environment carries the
run's marker variable (children inherit it even after double-forking).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass, field

import psutil

from harness.execution.cpu_use import TreeCpu
from harness.execution.environment import MARKER_VAR

log = logging.getLogger(__name__)


@dataclass
class TreeWatcher:
    """Samples a process tree: resident memory, CPU seconds, and every member ever seen."""

    root_pid: int
    marker: str
    seen: dict[int, float] = field(default_factory=dict)  # pid -> create_time
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    peak_rss: int = 0
    tree_cpu: TreeCpu = field(init=False)  # for the CPU used during fit (harness.execution.cpu_use)

    def __post_init__(self) -> None:
        self.tree_cpu = TreeCpu(self.root_pid)

    def members(self) -> list[psutil.Process]:
        procs: dict[int, psutil.Process] = {}
        try:
            root = psutil.Process(self.root_pid)
            procs[root.pid] = root
            for p in root.children(recursive=True):
                procs[p.pid] = p
        except psutil.Error:
            pass
        for pid, ctime in list(self.seen.items()):
            if pid in procs:
                continue
            try:
                p = psutil.Process(pid)
                if abs(p.create_time() - ctime) < 0.01:
                    procs[pid] = p
                    for c in p.children(recursive=True):
                        procs[c.pid] = c
            except psutil.Error:
                self.seen.pop(pid, None)
        return list(procs.values())

    def sample(self, marked: bool = False) -> int:
        """Record members, their CPU time and the tree's resident memory; return the RSS in bytes.

        ``marked``: also adopt processes that carry the run's marker but were never seen as
        descendants (double-forked between two samples); slower, for the start and end of fit.
        """
        if marked:
            for p in marked_processes(self.marker):
                try:
                    self.seen.setdefault(p.pid, p.create_time())
                except psutil.Error:
                    continue
        rss = 0
        cpu: dict[int, tuple[int, float]] = {}
        for p in self.members():
            try:
                with p.oneshot():
                    if p.pid not in self.seen:
                        self.seen[p.pid] = p.create_time()
                    t = p.cpu_times()
                    self.cpu_by_pid[p.pid] = t.user + t.system
                    cpu[p.pid] = (p.ppid(), t.user + t.system + t.children_user + t.children_system)
                    rss += p.memory_info().rss  # last: a zombie has CPU times but may refuse this
            except psutil.Error:
                continue
        self.tree_cpu.update(cpu)
        self.peak_rss = max(self.peak_rss, rss)
        return rss

    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_pid.values())

    def all_processes(self) -> list[psutil.Process]:
        """Members of the tree plus every process carrying the marker in its environment."""
        procs = {p.pid: p for p in self.members()}
        for p in marked_processes(self.marker):
            procs.setdefault(p.pid, p)
        procs.pop(os.getpid(), None)
        return list(procs.values())


def marked_processes(marker: str) -> list[psutil.Process]:
    """Processes whose environment has ``HARNESS_SANDBOX_ID=marker`` (readable for our own user)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found = []
    for pid in psutil.pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            try:
                found.append(psutil.Process(pid))
            except psutil.Error:
                continue
    return found


def kill_tree(watcher: TreeWatcher, grace_s: float = 3.0) -> int:
    """SIGTERM every process of the tree, then SIGKILL what is left after ``grace_s``.

    Returns how many processes had to be killed. Loops until nothing of the tree is left,
    since a dying process may still fork.
    """
    killed = 0
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0), (signal.SIGKILL, 5.0)):
        procs = watcher.all_processes()
        if not procs:
            break
        for p in procs:
            try:
                p.send_signal(sig)
                killed += 1 if sig == signal.SIGTERM else 0
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(procs, timeout=wait)
        if not alive and not watcher.all_processes():
            break
    left = watcher.all_processes()
    if left:
        log.warning("processes survived SIGKILL: %s", [p.pid for p in left])
    return killed


def wait_gone(watcher: TreeWatcher, timeout: float = 2.0) -> None:
    """Give exiting members a moment to disappear before the final sweep."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not [p for p in watcher.all_processes() if _alive(p)]:
            return
        time.sleep(0.05)


def alive(p: psutil.Process) -> bool:
    """Whether ``p`` still runs (a zombie has ended: it only waits for its parent to reap it)."""
    return _alive(p)


def _alive(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
