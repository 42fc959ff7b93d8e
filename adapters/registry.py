"""Adapters by name, from the entry-point group ``harness.adapters``.

Built-ins are registered there too (``pyproject.toml``), so a plugin is a
first-class citizen. Only the entry points the user names are loaded, one at a
time, so a broken plugin breaks nothing but itself. ``NAME:FAMILY`` picks a
model family of a tuning strategy (``optuna:mlp``).
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import sys
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from adapters.base import Adapter

log = logging.getLogger(__name__)

GROUP = "harness.adapters"


class AdapterLoadError(RuntimeError):
    """An adapter name that is unknown, or a plugin that does not load or fit the protocol."""


@dataclass(frozen=True)
class AdapterStatus:
    name: str
    available: bool
    why: str  # what is missing and how to install it, or the description
    families: tuple[str, ...] = ()


def _all_entry_points() -> dict[str, list[EntryPoint]]:
    """Every registration of each name; more than one distribution per name is a conflict."""
    return _scan(_path_state())


def _path_state() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Per ``sys.path`` folder, the metadata folders of the distributions in it (where entry points are)."""
    state = []
    for folder in sys.path:
        try:
            found = sorted(n for n in os.listdir(folder or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:  # not a folder (a zip file), or not there
            found = []
        state.append((folder, tuple(found)))
    return tuple(state)


@functools.lru_cache(maxsize=4)
def _scan(path_state: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, list[EntryPoint]]:
    """The entry points of ``path_state``: a command asks for them dozens of times, they are read once."""
    out: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=GROUP):
        same = [o for o in out.get(ep.name, []) if (_dist_name(o), o.value) == (_dist_name(ep), ep.value)]
        if not same:  # one distribution found twice on sys.path is not a conflict
            out.setdefault(ep.name, []).append(ep)
    return out


def _entry_points() -> dict[str, EntryPoint]:
    return {name: eps[0] for name, eps in _all_entry_points().items()}


BUILTIN_DIST = "budget-fair-harness"


def names() -> list[str]:
    """Every registered adapter name, without loading any."""
    return sorted(_all_entry_points())


def builtin_names() -> list[str]:
    """The adapters this project ships (the default set); plugins run only when named."""
    return sorted(
        n for n, eps in _all_entry_points().items() if any(_dist_name(ep) == BUILTIN_DIST for ep in eps)
    )


def conflict(name: str) -> str | None:
    """One line naming the packages that register the same adapter name, or None."""
    base = split_name(name)[0]
    eps = _all_entry_points().get(base, [])
    if len(eps) < 2:
        return None
    who = " and ".join(f"{_dist_name(ep) or '?'} ({ep.value})" for ep in eps)
    return (
        f"adapter name {base!r} is registered by {len(eps)} installed packages, {who}; "
        "uninstall or rename one of them"
    )


def origin(name: str) -> str:
    """``built-in`` or the name of the plugin's distribution (or the conflict, when two register it)."""
    clash = conflict(name)
    if clash:
        return clash
    ep = _entry_points().get(split_name(name)[0])
    dist = _dist_name(ep) if ep else None
    return "built-in" if dist == BUILTIN_DIST else f"plugin {dist or '?'}"


def provider(name: str) -> tuple[str, str] | None:
    """The distribution that registers adapter ``name`` and its version (None when unknown)."""
    ep = _entry_points().get(split_name(name)[0])
    dist = getattr(ep, "dist", None)
    dist_name = _dist_name(ep) if ep is not None else None
    if dist is None or dist_name is None:
        return None
    try:
        return dist_name, str(dist.version)
    except (OSError, KeyError, ValueError):  # a broken or vanished distribution
        return None


def _dist_name(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    try:
        return dist.metadata["Name"] if dist is not None else None
    except (OSError, KeyError, ValueError):  # a broken or vanished distribution on sys.path: no name
        return None


def split_name(name: str) -> tuple[str, str | None]:
    base, _, family = name.partition(":")
    return base, (family or None)


def load_class(name: str) -> type[Adapter]:
    """The adapter class for ``name`` (``NAME`` or ``NAME:FAMILY``), validated against the protocol."""
    base, _ = split_name(name)
    eps = _entry_points()
    if base not in eps:
        close = difflib.get_close_matches(base, list(eps), n=3, cutoff=0.5)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else f"; known adapters: {', '.join(sorted(eps))}"
        )
        raise AdapterLoadError(f"unknown adapter {base!r}{hint}")
    clash = conflict(base)
    if clash:  # which one would win depends on the order of sys.path: never pick one silently
        raise AdapterLoadError(clash)
    ep = eps[base]
    try:
        obj = ep.load()
    except Exception as exc:
        raise AdapterLoadError(
            f"adapter plugin {base!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    _validate(base, ep.value, obj)
    return obj


def _validate(name: str, where: str, obj: object) -> None:
    if not isinstance(obj, type):
        raise AdapterLoadError(f"adapter plugin {name!r} ({where}) is not a class but {type(obj).__name__}")
    missing = [m for m in ("fit", "predict", "best_config") if not callable(getattr(obj, m, None))]
    if missing:
        raise AdapterLoadError(
            f"adapter plugin {name!r} ({where}) does not implement the adapter protocol: "
            f"no {', '.join(missing)} (subclass adapters.base.Adapter)"
        )
    if not issubclass(obj, Adapter):
        raise AdapterLoadError(f"adapter plugin {name!r} ({where}) does not subclass adapters.base.Adapter")
    if obj.fit is Adapter.fit or obj.predict is Adapter.predict:
        raise AdapterLoadError(
            f"adapter plugin {name!r} ({where}) does not implement the adapter protocol: "
            "fit and predict must be overridden"
        )


def create_adapter(name: str) -> Adapter:
    """An adapter instance for ``NAME`` or ``NAME:FAMILY``."""
    cls = load_class(name)
    _, family = split_name(name)
    try:
        return cls(family=family) if family else cls()
    except ValueError as exc:
        raise AdapterLoadError(f"adapter {name!r}: {exc}") from exc


def status(name: str) -> AdapterStatus:
    """Whether ``name`` can run here, and if not what to install."""
    try:
        cls = load_class(name)
    except AdapterLoadError as exc:
        return AdapterStatus(name, False, str(exc))
    _, family = split_name(name)
    if family is not None and family not in cls.families:
        return AdapterStatus(name, False, f"no model family {family!r} (has: {', '.join(cls.families)})")
    missing = cls.missing()
    if missing:
        how = f"pip install '.[{cls.extra}]'" if cls.extra else f"pip install {' '.join(missing)}"
        return AdapterStatus(name, False, f"missing {', '.join(missing)}: {how}", cls.families)
    return AdapterStatus(name, True, cls.description, cls.families)
