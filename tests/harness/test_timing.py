"""The driver's phases: one DEBUG line each, which benchmarks/overhead.py --cli reads."""

from __future__ import annotations

import logging

import pytest

from harness.timing import MARK, phase


def test_a_phase_logs_its_name_start_and_end_even_when_it_raises(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="harness.timing")
    with phase("data"):
        pass
    with pytest.raises(ValueError), phase("plan"):
        raise ValueError("bad")
    lines = [r.getMessage().split() for r in caplog.records]
    assert [w[:2] for w in lines] == [[MARK, "data"], [MARK, "plan"]]
    for _, _, start, end in lines:
        assert float(start) <= float(end)
