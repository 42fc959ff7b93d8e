"""Tuning strategies over typed search spaces: one loop evaluates, each strategy only proposes.

``loop.TuningLoop`` owns the trials (fit on train, score on valid or by cross-validation), their
timing and when to stop; a ``loop.Strategy`` proposes configurations and learns from results.
``tuner.TunerAdapter`` turns a strategy and a model family into an adapter. ``spaces`` (typed
search spaces), ``evaluate`` and ``preprocess`` (one configuration, fitted and scored),
``families/`` (what is tuned), ``strategies/`` (how: default, manual, grid, random, halving,
optuna, hyperopt, skopt).
"""
