"""What a run ran on, as sha256 hashes: its data, its split, its settings and its adapter.

- ``data``: :attr:`tasks.loading.Dataset.fingerprint`, the content of the task after loading and
  cleaning;
- ``split``: :meth:`tasks.splits.Split.describe` (protocol, seed or fold, sizes, and the sha256 of
  the test and valid rows), without its notes, which only explain;
- ``setup``: what every run on one leaderboard must share: the data, cores, memory limit, primary
  metric and protocol;
- ``adapter``: the adapter's name (its family included) and the versions of its libraries as far as
  the parent knows them (the distribution that provides the adapter, and what it ``requires``);
- ``run``: all of it, with the task, budget and seed: a job is done only when a run with the same
  ``run`` fingerprint is stored.

Runs stored before fingerprints existed have ``{}``; their data, split and setup hashes are rebuilt
from the columns every run has (:func:`columns`), so old and new runs compare alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from tasks.splits import protocol_of

COLUMNS = ("data_fingerprint", "split_fingerprint", "setup_fingerprint", "adapter_fingerprint", "fingerprint")


def sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def split_fingerprint(described: dict[str, Any]) -> str:
    """The hash of a split as :meth:`Split.describe` records it (notes left out: they only explain)."""
    return sha({k: v for k, v in described.items() if k != "notes"}) if described else ""


def setup(data: str, cores: int, memory_gb: float, metric: str | None, protocol: str) -> dict[str, Any]:
    """The settings every run on one leaderboard shares."""
    return {
        "data": data,
        "cores": int(cores),
        "memory_gb": float(memory_gb),
        "metric": metric,
        "protocol": protocol,
    }


@dataclass(frozen=True)
class Fingerprint:
    """A job's fingerprint, computed in the parent before it runs and stored with its run."""

    data: str
    split: str
    setup: str
    adapter: str
    run: str
    versions: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["versions"] = dict(self.versions)
        return d


def fingerprint(
    task: str,
    adapter: str,
    budget_s: float,
    seed: int,
    settings: dict[str, Any],
    described_split: dict[str, Any],
    versions: dict[str, str],
) -> Fingerprint:
    """The fingerprint of one job: ``settings`` from :func:`setup`, the split's description, versions."""
    adapter_fp = sha({"adapter": adapter, "versions": versions})
    split_fp = split_fingerprint(described_split)
    setup_fp = sha(settings)
    run = sha([task, adapter, float(budget_s), int(seed), settings["data"], split_fp, setup_fp, adapter_fp])
    return Fingerprint(settings["data"], split_fp, setup_fp, adapter_fp, run, tuple(sorted(versions.items())))


def adapter_versions(name: str) -> dict[str, str]:
    """The distribution that provides adapter ``name`` and the libraries it requires, with versions.

    Only what the parent knows without starting anything: package metadata, never an engine's own
    report (H2O's Java version is recorded with each run, from the child).
    """
    from adapters import registry
    from adapters.base import Adapter

    out = dict(Adapter.versions(registry.create_adapter(name)))  # the base's: metadata of ``requires``
    provider = registry.provider(name)
    if provider is not None:
        out[provider[0]] = provider[1]
    return out


# --- reading stored runs (any object with the RunRecord fields) ---------------------------------
def setup_of(r: Any) -> dict[str, Any]:
    """The setup of a stored run, from the columns every run has (old runs too)."""
    return setup(
        str(r.task_info.get("fingerprint") or ""), r.cores, r.memory_gb, r.metric, protocol_of(r.split)
    )


def columns(r: Any) -> list[str]:
    """The fingerprint columns of ``runs.csv`` for a stored run (:data:`COLUMNS`); "" when unknown."""
    fp = r.fingerprint or {}
    return [
        str(r.task_info.get("fingerprint") or ""),
        split_fingerprint(r.split),
        sha(setup_of(r)),
        str(fp.get("adapter") or ""),
        str(fp.get("run") or ""),
    ]


def board_groups(runs: list[Any], board_task: Callable[[Any], str]) -> list[tuple[str, float, list[Any]]]:
    """Runs grouped for leaderboards: (board name, budget, runs), in name then budget order.

    One board holds one setup (:func:`setup_of`): when runs of a task and budget differ in data,
    cores, memory limit or metric, the newest setup keeps the task's name and the others are named
    by how they differ (``wine [--memory-gb 8]``). In a board, an adapter whose runs differ in
    library versions gets one row per version set (``random [lightgbm 4.6.0]``), and of two runs of
    one row and seed only the newest is kept: nothing is averaged or paired across fingerprints.
    """
    groups: dict[tuple[str, float, str], list[Any]] = {}
    setups: dict[str, dict[str, Any]] = {}
    for r in runs:
        s = setup_of(r)
        key = sha(s)
        setups[key] = s
        groups.setdefault((board_task(r), r.budget_s, key), []).append(r)
    newest: dict[tuple[str, float], tuple[int, str]] = {}
    for (task, budget, key), rs in groups.items():
        last = max(r.id or 0 for r in rs)
        newest[(task, budget)] = max(newest.get((task, budget), (-1, "")), (last, key))
    out = []
    for (task, budget, key), rs in groups.items():
        ref = newest[(task, budget)][1]
        name = task if key == ref else f"{task} [{_difference(setups[key], setups[ref])}]"
        out.append((name, budget, _rows_apart(rs)))
    return sorted(out, key=lambda g: (g[0], g[1]))


def _difference(s: dict[str, Any], ref: dict[str, Any]) -> str:
    parts = []
    if s["data"] != ref["data"]:
        parts.append(f"data {s['data'][:8] or '?'}")
    for flag, key in (("--cores", "cores"), ("--memory-gb", "memory_gb"), ("--metric", "metric")):
        if s[key] != ref[key]:
            parts.append(f"{flag} {s[key]:g}" if isinstance(s[key], float) else f"{flag} {s[key]}")
    return ", ".join(parts) or "other settings"


def _rows_apart(runs: list[Any]) -> list[Any]:
    """Runs of one board: an adapter's runs of other library versions renamed, one run per row and seed."""
    by_adapter: dict[str, list[Any]] = {}
    for r in runs:
        by_adapter.setdefault(r.adapter, []).append(r)
    out = []
    for adapter, rs in by_adapter.items():
        rs = sorted(rs, key=lambda r: r.id or 0)
        known = [r for r in rs if (r.fingerprint or {}).get("adapter")]
        ref = known[-1].fingerprint if known else None
        keep: dict[tuple[str, int], Any] = {}
        for r in rs:
            fp = r.fingerprint or {}
            name = adapter
            if ref is not None and fp.get("adapter") and fp["adapter"] != ref["adapter"]:
                name = f"{adapter} [{_versions_apart(fp.get('versions') or {}, ref.get('versions') or {})}]"
                r = replace(r, adapter=name)
            keep[(name, r.seed)] = r  # sorted by id: the newest run of a row and seed wins
        out += list(keep.values())
    return out


def _versions_apart(versions: dict[str, str], ref: dict[str, str]) -> str:
    diff = [f"{k} {v}" for k, v in sorted(versions.items()) if ref.get(k) != v]
    return ", ".join(diff) or "other versions"
