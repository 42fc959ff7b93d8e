"""Tasks: the registry of data sets (built-in, OpenML, CSV), their cleaning, splits and metrics.

Modules: :mod:`tasks.registry` (names to specs, suites), :mod:`tasks.loading` (specs to cleaned
data sets), :mod:`tasks.splits` (the train/valid/test policy), :mod:`tasks.metrics` (the one metric
registry), and the helpers :mod:`tasks.clean`, :mod:`tasks.files`, :mod:`tasks.openml`,
:mod:`tasks.cache` and :mod:`tasks.arff`.
"""
