"""Fixtures of the execution tests: a toy task's prepared data, a fork server as the executors start one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.execution import forkserver
from harness.execution.environment import child_env
from harness.execution.forkserver import ForkServer
from harness.execution.protocol import write_data


@pytest.fixture(scope="module")
def fork_server() -> Iterator[ForkServer | None]:
    """A fork server for a module's runs (None with ``HARNESS_FORKSERVER=0``); started before the leak
    checks of its tests look, stopped after them."""
    with forkserver.serving(child_env(1, None)) as server:
        assert server is None or server.wait_ready(), server and server.broken
        yield server


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)

    def X(n: int) -> pd.DataFrame:
        return pd.DataFrame({"a": rng.normal(size=n), "b": pd.Categorical(rng.choice(["x", "y"], n))})

    write_data(d, X(60), rng.integers(0, 2, 60), X(20), rng.integers(0, 2, 20), X(20))
    return d
