"""Energy from RAPL counters, on a fake ``/sys/class/powercap`` (this machine may have none): package
zones only, wrap-around, and nothing at all where no meter can be read."""

from __future__ import annotations

from pathlib import Path

from harness.execution import energy
from harness.execution.cpu_use import FitMeter, TreeCpu

MAX = 262_143_328_850  # a real package's max_energy_range_uj


def zone(root: Path, name: str, kind: str, uj: int, max_uj: int = MAX) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "name").write_text(kind + "\n")
    (d / "energy_uj").write_text(f"{uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return d


def set_uj(d: Path, uj: int) -> None:
    (d / "energy_uj").write_text(f"{uj}\n")


def fake_sysfs(root: Path) -> tuple[Path, Path]:
    p0 = zone(root, "intel-rapl:0", "package-0", 1_000_000)
    p1 = zone(root, "intel-rapl:1", "package-1", MAX - 500_000)  # about to wrap
    zone(root, "intel-rapl:0:0", "core", 7)  # part of package 0: not added again
    zone(root, "intel-rapl:0:1", "dram", 7)
    zone(root, "intel-rapl-mmio:0", "package-0", 7)  # the same package through MMIO
    zone(root, "intel-rapl:2", "psys", 7)  # the platform, packages included
    return p0, p1


def test_package_zones_are_summed_across_a_wrap_around(tmp_path: Path) -> None:
    p0, p1 = fake_sysfs(tmp_path)
    meter = energy.open_meter(tmp_path)
    assert meter is not None and [z.path.name for z in meter.zones] == ["intel-rapl:0", "intel-rapl:1"]
    count = meter.start()
    assert count is not None
    set_uj(p0, 3_000_000)  # +2 J
    set_uj(p1, 1_500_000)  # wrapped: +0.5 J to the top, +1.5 J after
    count.update()
    set_uj(p0, 4_000_000)  # +1 J
    count.update()
    assert count.joules == 2.0 + 2.0 + 1.0


def test_the_wrap_arithmetic() -> None:
    assert energy.delta_uj(10, 25, 100) == 15
    assert energy.delta_uj(90, 5, 100) == 15


def test_no_meter_no_energy(tmp_path: Path) -> None:
    assert energy.open_meter(tmp_path / "absent") is None
    assert energy.open_meter(tmp_path) is None  # a powercap directory without RAPL zones
    zone(tmp_path, "intel-rapl:0", "package-0", 5)
    (tmp_path / "intel-rapl:0" / "energy_uj").unlink()  # unreadable (root-only on current kernels)
    assert energy.open_meter(tmp_path) is None


def test_a_lost_reading_reports_no_energy_rather_than_too_little(tmp_path: Path) -> None:
    p0, _ = fake_sysfs(tmp_path)
    meter = energy.open_meter(tmp_path)
    assert meter is not None
    count = meter.start()
    assert count is not None
    (p0 / "energy_uj").unlink()
    count.update()
    assert count.joules is None


def test_the_fit_meter_records_energy_only_with_a_meter(tmp_path: Path) -> None:
    p0, _ = fake_sysfs(tmp_path)
    fit = FitMeter(TreeCpu(1), None, energy.open_meter(tmp_path))
    fit.start({"own": 0.0, "cgroup": None})
    set_uj(p0, 4_000_000)  # +3 J
    fit.end({"own": 1.0, "cgroup": None})
    assert fit.result(1, 2.0).energy_j == 3.0
    none = FitMeter(TreeCpu(1), None, energy.open_meter(tmp_path / "absent"))
    none.start({"own": 0.0, "cgroup": None})
    none.end({"own": 1.0, "cgroup": None})
    assert none.result(1, 2.0).energy_j is None
