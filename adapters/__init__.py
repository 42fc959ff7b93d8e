"""Adapters: the tuning strategies and AutoML engines the harness compares, and their contract.

Map of the package:

- ``base``: the contract every adapter implements (``Adapter``, ``TaskInfo``, ``FitData``,
  ``FitContext``, ``Trial``); what a plugin author subclasses.
- ``registry``: adapters by name, from the ``harness.adapters`` entry points (built-ins and plugins).
- ``testing``: ``check_adapter``, the contract checks a plugin author runs on their adapter.
- ``tuning/``: the tuning machinery. One loop (``loop``) owns evaluation, timing and stopping; a
  strategy only proposes; ``cost`` predicts a trial's seconds for the loop. ``tuner`` is the adapter
  around it, ``spaces`` the typed search spaces, ``evaluate`` and ``preprocess`` fit and score one
  configuration, ``families/`` the model families (gbm, rf, linear, svm, mlp, cnn), ``strategies/``
  one file per strategy.
- ``engines/``: the AutoML engines, one module or folder per engine (flaml, tpot, h2o, autokeras),
  on a shared base (``engines.common``).
"""

from harness import moved_modules

moved_modules.install()
