"""Statistics against hand-computed cases: the paired test, Holm, rank groups, ties, one seed, failures."""

from __future__ import annotations

import math

import pytest

from harness.report import stats
from harness.report.leaderboard import build_boards, leaderboard_table
from tests.harness.report.conftest import run_record


def test_paired_t_matches_the_closed_form_for_two_degrees_of_freedom() -> None:
    # differences 0.02, 0.02, 0.05: mean 0.03, sd sqrt(0.0003), t = 0.03 / (sd / sqrt 3) = 3.0
    # with 2 degrees of freedom the two-sided p-value is 1 - t / sqrt(2 + t^2) = 1 - 3 / sqrt(11)
    a = {0: 0.80, 1: 0.82, 2: 0.85}
    b = {0: 0.78, 1: 0.80, 2: 0.80}
    assert stats.paired_t_pvalue(a, b) == pytest.approx(1 - 3 / math.sqrt(11), abs=1e-9)
    assert stats.paired_t_pvalue(b, a) == pytest.approx(1 - 3 / math.sqrt(11), abs=1e-9)


def test_paired_t_uses_only_shared_seeds_and_needs_three() -> None:
    a = {0: 0.8, 1: 0.9, 2: 0.7, 7: 0.1}
    b = {0: 0.7, 1: 0.8, 3: 0.5}
    assert stats.paired_t_pvalue(a, b) is None  # two shared seeds: not tested
    assert stats.paired_t_pvalue({0: 0.8}, {0: 0.7}) is None  # one seed


def test_ties_and_constant_differences() -> None:
    same = {0: 0.8, 1: 0.81, 2: 0.82}
    assert stats.paired_t_pvalue(same, dict(same)) == 1.0
    shifted = {s: v - 0.01 for s, v in same.items()}
    assert stats.paired_t_pvalue(same, shifted) == 0.0  # identical non-zero differences: t is infinite


def test_holm_by_hand() -> None:
    adj = stats.holm({("a", "b"): 0.01, ("a", "c"): 0.04, ("b", "c"): 0.03})
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 1 x 0.04) = 0.06
    assert adj == {
        ("a", "b"): pytest.approx(0.03),
        ("b", "c"): pytest.approx(0.06),
        ("a", "c"): pytest.approx(0.06),
    }
    assert stats.holm({("x", "y"): 0.7, ("x", "z"): 0.6}) == {("x", "y"): 1.0, ("x", "z"): 1.0}


def _seeds(base: float, step: float = 0.0, n: int = 6, wobble: float = 0.002) -> dict[int, float]:
    return {s: base + step * s + (wobble if s % 2 else -wobble) for s in range(n)}


def test_rank_groups_separate_clear_differences_and_share_ties() -> None:
    scores = {"a": _seeds(0.90), "b": _seeds(0.80), "c": _seeds(0.70)}
    r = stats.rank_groups(scores, greater_is_better=True)
    assert r.ranks == {"a": 1, "b": 2, "c": 3}
    assert r.tested == 3
    # a and b indistinguishable (same scores), both clearly above c
    r = stats.rank_groups({"a": _seeds(0.9), "b": _seeds(0.9), "c": _seeds(0.7)}, greater_is_better=True)
    assert r.ranks == {"a": 1, "b": 1, "c": 3}
    # lower is better flips the order
    r = stats.rank_groups(scores, greater_is_better=False)
    assert r.ranks == {"a": 3, "b": 2, "c": 1}


def test_noisy_differences_do_not_separate() -> None:
    a = {0: 0.80, 1: 0.85, 2: 0.78, 3: 0.86}
    b = {0: 0.82, 1: 0.81, 2: 0.80, 3: 0.83}
    r = stats.rank_groups({"a": a, "b": b}, greater_is_better=True)
    assert r.ranks == {"a": 1, "b": 1} and r.tested == 1 and not r.better


def test_one_seed_ranks_everyone_first_and_has_no_spread() -> None:
    r = stats.rank_groups({"a": {0: 0.9}, "b": {0: 0.5}}, greater_is_better=True)
    assert r.ranks == {"a": 1, "b": 1} and r.tested == 0
    assert stats.mean_sd([0.7]) == (0.7, None)
    assert stats.mean_sd([]) == (None, None)
    mean, sd = stats.mean_sd([0.7, 0.8, 0.9])
    assert mean == pytest.approx(0.8) and sd == pytest.approx(0.1)


def test_adapter_without_finished_runs_is_unranked_and_last() -> None:
    r = stats.rank_groups({"a": _seeds(0.9), "dead": {}}, greater_is_better=True)
    assert r.ranks == {"a": 1, "dead": None}
    assert r.order({"a": 0.9, "dead": None}, True) == ["a", "dead"]


def test_plain_ranks_average_ties_and_put_missing_last() -> None:
    ranks = stats.plain_ranks({"a": 0.9, "b": 0.9, "c": 0.8, "d": None, "e": None}, greater_is_better=True)
    assert ranks == {"a": 1.5, "b": 1.5, "c": 3.0, "d": 4.5, "e": 4.5}
    assert stats.plain_ranks({"a": 2.0, "b": 1.0}, greater_is_better=False) == {"a": 2.0, "b": 1.0}


def test_normalised_gain_and_optimism() -> None:
    assert stats.normalised(0.85, 0.80, 0.90) == pytest.approx(0.5)
    assert stats.normalised(4.0, 5.0, 3.0) == pytest.approx(0.5)  # RMSE: lower is better, same formula
    assert stats.normalised(0.80, 0.80, 0.80) is None  # the default is the best: undefined
    assert stats.normalised(None, 0.8, 0.9) is None
    assert stats.paired_gain({0: 3.0, 1: 4.0}, {0: 5.0, 1: 5.0, 2: 1.0}, greater_is_better=False) == 1.5
    assert stats.paired_gain({0: 0.9}, {1: 0.8}, True) is None
    assert stats.optimism([(0.9, 0.8), (0.85, 0.85)], True) == pytest.approx(0.05)
    assert stats.optimism([(2.0, 3.0)], False) == pytest.approx(1.0)  # valid RMSE 2 looks better than test 3


def test_board_with_a_failed_and_a_killed_run() -> None:
    runs = [
        run_record("t", "default", 0, 0.80),
        run_record("t", "default", 1, 0.70),
        run_record("t", "default", 2, 0.75),
        run_record("t", "random", 0, 0.85, valid=0.95),
        run_record("t", "random", 1, None, status="failed", reason="boom"),
        run_record("t", "random", 2, 0.80, valid=0.90),
        run_record("t", "flaml", 0, None, status="timeout", overrun=1.4),
    ]
    [board] = build_boards(runs)
    rnd, default, flaml = board.row("random"), board.default, board.row("flaml")
    assert [r.adapter for r in board.rows] == ["random", "default", "flaml"]
    assert rnd.mean == pytest.approx(0.825) and rnd.sd == pytest.approx(math.sqrt(2 * 0.025**2))
    assert rnd.gain == pytest.approx(((0.85 - 0.80) + (0.80 - 0.75)) / 2)  # seeds 0 and 2 only
    assert rnd.optimism == pytest.approx(0.10)
    assert rnd.failed == 1 and rnd.killed == 0
    assert flaml.rank is None and flaml.killed == 1 and flaml.worst_overrun == pytest.approx(1.4)
    assert default.rank == 1 and rnd.rank == 1  # two shared seeds: nothing is tested
    text = leaderboard_table(runs, fmt="github")
    assert "1 failed" in text and "1 timeout" in text and "2/3" in text


def test_board_per_budget_and_lower_is_better() -> None:
    runs = [
        run_record("t", a, s, v + s * 0.01, metric="rmse", budget=b)
        for a, v in (("x", 3.0), ("y", 2.0))
        for s in range(3)
        for b in (5.0, 50.0)
    ]
    boards = build_boards(runs)
    assert [b.budget_s for b in boards] == [5.0, 50.0]
    assert all(b.rows[0].adapter == "y" and not b.greater_is_better for b in boards)
    assert all(b.row("y").rank == 1 and b.row("x").rank == 2 for b in boards)  # constant difference
    assert "budget 5 s" in leaderboard_table(runs, fmt="simple")
