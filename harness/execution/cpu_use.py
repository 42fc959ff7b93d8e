"""CPU use of a run during fit: the core-seconds its whole process tree used, and their share of
``cores x fit seconds`` (what the budget granted). Start-up and predict are not included.

Two methods; each run records which (``cpu_method``):

- ``cgroup``: the sandbox puts the child in a cgroup of its own (:mod:`harness.execution.cgroup`),
  whose counter the kernel charges for every process of the tree, exited and daemonised ones
  included. The child reads it at the exact start and end of fit (the parent when the child cannot:
  ``--isolate``, a run killed before fit ended).
- ``psutil-sampled``, where no cgroup can be made: the child's own CPU and that of the descendants it
  reaped (``getrusage`` of itself and of its children, exact, read by the child at fit start and
  end), plus the other members of the tree as the parent samples them every 0.25 s
  (:class:`TreeCpu`): live ones with what they reaped themselves, and the last sample of members
  that exited while orphaned (reaped by init, so counted nowhere else). What an orphan used after
  its last sample is lost; so is a descendant that exits after its parent and before being sampled
  as an orphan.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.execution import cgroup as cgroups
from harness.execution import energy

log = logging.getLogger(__name__)

CGROUP = "cgroup"
SAMPLED = "psutil-sampled"
ENERGY_EVERY_S = 5.0  # far more often than a RAPL counter wraps


# --- the child's side -------------------------------------------------------------------------
def reading(counter: str | None) -> dict[str, float | None]:
    """What the child records at fit start and end: its own CPU with its reaped descendants' (``own``)
    and its cgroup's ``counter`` file (``cgroup``, None without one)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "own": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "cgroup": cgroups.read_usage(Path(counter)) if counter else None,
    }


# --- the parent's side ------------------------------------------------------------------------
@dataclass
class TreeCpu:
    """CPU seconds of a process tree as sampled: per member, its own CPU plus what it reaped."""

    root_pid: int
    members: dict[int, tuple[int, float]] = field(default_factory=dict)  # pid -> (parent pid, CPU s)
    orphans_gone_s: float = 0.0

    def update(self, seen: dict[int, tuple[int, float]]) -> None:
        """One sampling round: ``seen`` maps each member found to its parent pid and CPU seconds."""
        for pid, (ppid, cpu) in self.members.items():
            # A member gone since the last round whose parent was a member was reaped by it: its CPU
            # moved into that parent's count of reaped children. An orphan was reaped by init.
            if pid not in seen and pid != self.root_pid and ppid not in self.members:
                self.orphans_gone_s += cpu
        self.members = dict(seen)

    def root_s(self) -> float | None:
        """The root's CPU with its reaped descendants' at the last round (None if never sampled)."""
        got = self.members.get(self.root_pid)
        return None if got is None else got[1]

    def others_s(self) -> float:
        """Every member but the root: live ones at the last round, and orphans that exited."""
        return self.orphans_gone_s + sum(c for pid, (_, c) in self.members.items() if pid != self.root_pid)


@dataclass
class FitCpu:
    """What a run records (see the module's docstring); None where it was not measured."""

    fit_cpu_s: float | None = None
    cpu_use: float | None = None
    cpu_method: str | None = None
    energy_j: float | None = None

    def astuple(self) -> tuple[float | None, float | None, str | None, float | None]:
        return self.fit_cpu_s, self.cpu_use, self.cpu_method, self.energy_j


class FitMeter:
    """The parent's accounting of one run's fit: :meth:`start` when fit starts, :meth:`end` when it ends."""

    def __init__(
        self,
        tree: TreeCpu,
        cg: cgroups.RunCgroup | None,
        rapl: energy.RaplMeter | None,
        child_is_root: bool = True,
    ) -> None:
        """``child_is_root``: the tree's root is the child that sends readings (not so under bubblewrap,
        whose process is the root: then the child's own counters are left to the tree's samples)."""
        self.tree, self.cg, self.rapl = tree, cg, rapl
        self.child_is_root = child_is_root
        self.started = self.ended = False
        self._start: dict[str, float | None] = {}
        self._end: dict[str, float | None] = {}
        self._energy: energy.EnergyCount | None = None
        self._energy_at = 0.0

    def start(self, child: dict[str, Any] | None) -> None:
        """Fit started; ``child`` is the child's :func:`reading` from its event (None if absent)."""
        self.started = True
        self._start = self._readings(child, self.tree.root_s())
        self._energy = self.rapl.start() if self.rapl is not None else None
        self._energy_at = time.monotonic()

    def tick(self) -> None:
        """Called from the watch loop: keeps the energy count ahead of its counters' wrap-around."""
        if (
            self._energy is not None
            and not self.ended
            and time.monotonic() - self._energy_at >= ENERGY_EVERY_S
        ):
            self._energy.update()
            self._energy_at = time.monotonic()

    def end(self, child: dict[str, Any] | None, own: float | None = None) -> None:
        """Fit ended (``child``: the child's reading) or was cut (None: ``own`` is the child's CPU with its
        reaped descendants' from ``wait4`` if it exited, else the tree's last sample is used)."""
        if not self.started or self.ended:
            return
        self.ended = True
        self._end = self._readings(child, own if own is not None else self.tree.root_s())
        if self._energy is not None:
            self._energy.update()

    def _readings(self, child: dict[str, Any] | None, own_fallback: float | None) -> dict[str, float | None]:
        child = child or {}
        cg = child.get("cgroup")
        if cg is None and self.cg is not None:
            cg = self.cg.usage_s()
        own = child.get("own") if self.child_is_root else None
        return {"cgroup": cg, "own": own if own is not None else own_fallback, "others": self.tree.others_s()}

    def result(self, cores: int, fit_s: float | None) -> FitCpu:
        if not (self.started and self.ended):
            return FitCpu()
        s, e = self._start, self._end
        out = FitCpu(energy_j=self._energy.joules if self._energy is not None else None)
        if self.cg is not None and s["cgroup"] is not None and e["cgroup"] is not None:
            out.fit_cpu_s, out.cpu_method = e["cgroup"] - s["cgroup"], CGROUP
        elif s["own"] is not None and e["own"] is not None:
            others = (e["others"] or 0.0) - (s["others"] or 0.0)
            out.fit_cpu_s, out.cpu_method = e["own"] - s["own"] + others, SAMPLED
        if out.fit_cpu_s is not None:
            out.fit_cpu_s = max(0.0, out.fit_cpu_s)
            if fit_s and fit_s > 0 and cores > 0:
                out.cpu_use = out.fit_cpu_s / (cores * fit_s)
        return out
