"""Tasks: the registry of data sets (built-in, suites, OpenML, R, CSV), their cleaning, splits and metrics.

Modules: :mod:`tasks.registry` (names to specs, suites), :mod:`tasks.spec` (what a task is),
:mod:`tasks.lite` (the table of ``suite:lite``), :mod:`tasks.loading` (specs to cleaned data sets),
:mod:`tasks.splits` (the train/valid/test policy), :mod:`tasks.metrics` (the one metric registry),
and the helpers :mod:`tasks.clean`, :mod:`tasks.files`, :mod:`tasks.openml`, :mod:`tasks.rdata`,
:mod:`tasks.cache` (downloads) with :mod:`tasks.clean_cache` (cleaned data) and :mod:`tasks.arff`.
"""
