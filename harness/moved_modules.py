"""Module paths that moved in the 0.2 reorganisation, kept importable for plugins and old installs.

``import adapters.loop`` (or an entry point ``adapters.random_search:RandomAdapter`` left in an
install made before the move) still works: it imports the new module, warns once with
:class:`DeprecationWarning`, and binds the old name to the very same module object, so classes
and ``isinstance`` checks are shared. :func:`install` runs from ``harness/__init__.py`` and
``adapters/__init__.py``, whichever package is imported first.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

MOVED: dict[str, str] = {
    # harness: execution and reporting got their own packages
    "harness.sandbox": "harness.execution.sandbox",
    "harness.child": "harness.execution.child",
    "harness.proctree": "harness.execution.proctree",
    "harness.cores": "harness.execution.cores",
    "harness.executor": "harness.execution.local_executor",
    "harness.dask_executor": "harness.execution.dask_executor",
    "harness.worker": "harness.execution.dask_worker",
    "harness.leaderboard": "harness.report.leaderboard",
    "harness.report_files": "harness.report.files",
    # adapters: the tuning machinery and the engines got their own packages
    "adapters.loop": "adapters.tuning.loop",
    "adapters.tuner": "adapters.tuning.tuner",
    "adapters.spaces": "adapters.tuning.spaces",
    "adapters.evaluate": "adapters.tuning.evaluate",
    "adapters.preprocess": "adapters.tuning.preprocess",
    "adapters.families": "adapters.tuning.families",
    "adapters.default": "adapters.tuning.strategies.default",
    "adapters.manual": "adapters.tuning.strategies.manual",
    "adapters.grid": "adapters.tuning.strategies.grid",
    "adapters.random_search": "adapters.tuning.strategies.random",
    "adapters.halving": "adapters.tuning.strategies.halving",
    "adapters.optuna_tpe": "adapters.tuning.strategies.optuna",
    "adapters.hyperopt_tpe": "adapters.tuning.strategies.hyperopt",
    "adapters.skopt_gp": "adapters.tuning.strategies.skopt",
    "adapters.engine_common": "adapters.engines.common",
    "adapters.flaml_automl": "adapters.engines.flaml",
    "adapters.autokeras_automl": "adapters.engines.autokeras",
    "adapters.tpot_automl": "adapters.engines.tpot.adapter",
    "adapters.tpot_history": "adapters.engines.tpot.history",
    "adapters.tpot_refit": "adapters.engines.tpot.refit",
    "adapters.h2o_automl": "adapters.engines.h2o.adapter",
    "adapters.h2o_server": "adapters.engines.h2o.server",
}


def new_name(old: str) -> str | None:
    """Where module ``old`` lives now (also below a moved package), or None if it did not move."""
    head, dot, rest = old, "", ""
    while head:
        if head in MOVED:
            return MOVED[head] + dot + rest
        head, _, last = head.rpartition(".")
        rest, dot = (last + dot + rest), "."
    return None


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module at its new path."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(fullname, self) if new_name(fullname) else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = new_name(spec.name)
        assert new is not None  # find_spec said so
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the one at the new path, already executed."""


_FINDER = _Alias()


def install() -> None:
    # first in line: below a moved package, the path finder would find the new files under the old
    # name and load them a second time, as other modules with other classes
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
