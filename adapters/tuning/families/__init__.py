"""Model families the tuning strategies share: gbm, rf, linear, svm, mlp and cnn."""

from __future__ import annotations

import importlib
import importlib.util

from adapters.base import AdapterUnavailable, TaskInfo, TaskNotSupported
from adapters.tuning.families.base import DATA_FRACTION, Family, Model, Resource

__all__ = ["DATA_FRACTION", "FAMILY_NAMES", "Family", "Model", "Resource", "default_family", "get_family"]

_MODULES = {
    "gbm": "adapters.tuning.families.gbm:GbmFamily",
    "rf": "adapters.tuning.families.rf:RfFamily",
    "linear": "adapters.tuning.families.linear:LinearFamily",
    "svm": "adapters.tuning.families.svm:SvmFamily",
    "mlp": "adapters.tuning.families.mlp:MlpFamily",
    "cnn": "adapters.tuning.families.cnn:CnnFamily",
}
FAMILY_NAMES: tuple[str, ...] = tuple(_MODULES)
NN_FAMILIES = ("mlp", "cnn")


def get_family(name: str) -> Family:
    if name not in _MODULES:
        raise ValueError(f"unknown model family {name!r}; choose one of {', '.join(FAMILY_NAMES)}")
    module, cls = _MODULES[name].split(":")
    return getattr(importlib.import_module(module), cls)()


def default_family(task: TaskInfo) -> str:
    """The family a strategy tunes when none is named: a CNN for images, gradient boosting otherwise."""
    return "cnn" if task.is_image else "gbm"


def check_family(name: str, task: TaskInfo) -> Family:
    """The family, or a one-line error when it cannot run ``task`` here."""
    if name in NN_FAMILIES and importlib.util.find_spec("torch") is None:
        raise AdapterUnavailable(
            f"the {name} family needs PyTorch, which is not installed: pip install 'budget-fair-harness[nn]'"
        )
    family = get_family(name)
    reason = family.unsupported(task)
    if reason:
        raise TaskNotSupported(reason)
    return family
