"""One module per tuning strategy; each registers an adapter of the same name in ``pyproject.toml``."""
