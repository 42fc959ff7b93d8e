"""TPOT 1.x as an adapter: the search in its own Dask cluster, trials per generation, a bounded refit."""
