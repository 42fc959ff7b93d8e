"""An adapter's ``min_budget_s``: a smaller budget stops the command when the user named the adapter,
and is recorded ``skipped`` (with the reason) when the adapter runs by default."""

from __future__ import annotations

import pytest

from adapters import registry
from harness.config import Job, RunConfig
from harness.errors import HarnessError
from harness.runner import Plan, budgets_too_short

pytest.importorskip("autogluon.tabular")
SMALLEST = registry.load_class("autogluon").min_budget_s


def test_a_named_adapter_with_a_budget_too_short_stops_in_one_line() -> None:
    cfg = RunConfig(tasks=("wine",), budgets=(SMALLEST, SMALLEST / 2), adapters=("default", "autogluon"))
    with pytest.raises(HarnessError) as exc:
        budgets_too_short(cfg, ["default", "autogluon"])
    msg = str(exc.value)
    assert "\n" not in msg
    assert f"budget of {SMALLEST / 2:g} s" in msg and f"--budget {SMALLEST:g} or more" in msg


def test_an_adapter_run_by_default_is_skipped_at_budgets_too_short() -> None:
    cfg = RunConfig(tasks=("wine",), budgets=(SMALLEST, SMALLEST / 2))
    too_short = budgets_too_short(cfg, ["default", "autogluon"])
    assert list(too_short) == [("autogluon", SMALLEST / 2)]
    plan = Plan([], [], ["default", "autogluon"], [], too_short=too_short)
    job = Job("wine", "autogluon", 0, SMALLEST / 2, 1, 8.0, "fp")
    assert "under the" in (plan.skip_reason(job) or "")
    assert plan.skip_reason(Job("wine", "autogluon", 0, SMALLEST, 1, 8.0, "fp")) is None
    assert plan.skip_reason(Job("wine", "default", 0, SMALLEST / 2, 1, 8.0, "fp")) is None
