"""The energy the machine's processors used during a run's fit, from RAPL power meters, where there are any.

Linux exposes Intel's and AMD's RAPL counters under ``/sys/class/powercap``: one zone per processor
package (``intel-rapl:N``, named ``package-N``) with ``energy_uj``, a counter of microjoules that
wraps at ``max_energy_range_uj``. Only package zones are summed: their subzones (cores, uncore, DRAM)
are parts of them, ``psys`` spans the platform, and ``intel-rapl-mmio`` zones repeat the packages.

The counters measure the whole machine, so with ``--parallel`` above 1 the energy of runs that
overlap is counted in each. Where no meter can be read (a VM, a container, no root: ``energy_uj`` is
readable by root only on current kernels) :func:`open_meter` returns None and nothing is recorded:
never an estimate.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

POWERCAP = Path("/sys/class/powercap")
_PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")


@dataclass(frozen=True)
class Zone:
    path: Path
    max_uj: int  # the counter wraps to 0 past this

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())


@dataclass(frozen=True)
class RaplMeter:
    zones: tuple[Zone, ...]

    def read(self) -> tuple[int, ...] | None:
        """Every package's counter now, or None if one cannot be read."""
        try:
            return tuple(z.read_uj() for z in self.zones)
        except (OSError, ValueError) as exc:
            log.debug("RAPL counters unreadable: %s", exc)
            return None

    def start(self) -> EnergyCount | None:
        now = self.read()
        return None if now is None else EnergyCount(self, list(now))


@dataclass
class EnergyCount:
    """Joules since :meth:`RaplMeter.start`; :meth:`update` must run more often than a counter wraps
    (at 200 W a 262 J·10⁶ µJ range wraps every ~20 minutes), which the sandbox's watch loop does."""

    meter: RaplMeter
    last: list[int]
    total_uj: int = 0
    failed: bool = field(default=False)

    def update(self) -> None:
        now = self.meter.read()
        if now is None:
            self.failed = True  # a reading lost: the total would be short, so none is reported
            return
        for i, (zone, prev, cur) in enumerate(zip(self.meter.zones, self.last, now, strict=True)):
            self.total_uj += delta_uj(prev, cur, zone.max_uj)
            self.last[i] = cur

    @property
    def joules(self) -> float | None:
        return None if self.failed else self.total_uj / 1e6


def delta_uj(prev: int, cur: int, max_uj: int) -> int:
    """Microjoules between two readings of one counter that wraps past ``max_uj`` (at most once between)."""
    return cur - prev if cur >= prev else max_uj - prev + cur


def open_meter(root: Path = POWERCAP) -> RaplMeter | None:
    """The machine's package power meters, or None when there are none or they cannot be read."""
    zones = []
    try:
        candidates = sorted(p for p in root.iterdir() if _PACKAGE_ZONE.match(p.name))
    except OSError:
        return None
    for p in candidates:
        try:
            if not (p / "name").read_text().strip().startswith("package"):
                continue
            zone = Zone(p, int((p / "max_energy_range_uj").read_text().strip()))
            zone.read_uj()
        except (OSError, ValueError) as exc:
            log.debug("RAPL zone %s unreadable: %s", p, exc)
            return None  # a package left out would make the total wrong, not smaller by a known part
        zones.append(zone)
    return RaplMeter(tuple(zones)) if zones else None
