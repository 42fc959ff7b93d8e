"""AutoML engines run as adapters: flaml, tpot, h2o, autokeras, autogluon.

Each engine is one module, or one folder when it has helpers (``tpot/``: the adapter, its
history reader and the bounded refit; ``h2o/``: the adapter and its private JVM server;
``autogluon/``: the adapter and its deadline callback). They share ``common``: the
``EngineAdapter`` base, budget knobs and process helpers. How each engine's budget knobs were
calibrated is in ``benchmarks/README.md``.
"""
