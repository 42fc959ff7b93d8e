"""Statistics across tasks against values computed by hand on small fixed tables.

Friedman's statistic, Wilcoxon p-values with Holm's correction, Elo ratings (a known winner, a tie
counted half), imputation under each policy, complete blocks, and the power analysis's numbers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from harness.report import elo, power
from harness.report.crosstask import (
    CrossTask,
    PairTest,
    complete_blocks,
    cross_task,
    friedman,
    scaled,
    unjoined,
    wilcoxon_p,
)
from harness.report.impute import impute, impute_board, imputed_label
from harness.report.leaderboard import Board, build_boards
from tests.harness.report.conftest import run_record


def boards(table: dict[str, list[float]], adapters: list[str], metric: str = "accuracy") -> list[Board]:
    """One board per task from ``{task: [score of each adapter]}`` (one seed)."""
    runs = [
        run_record(task, a, 0, score, metric=metric)
        for task, scores in table.items()
        for a, score in zip(adapters, scores, strict=True)
    ]
    return build_boards(runs)


# --- Friedman ---

# 4 tasks x 3 adapters, no ties. Ranks per task (1 = best): A 1,2,1,1; B 2,1,3,2; C 3,3,2,3.
# Rank sums 5, 8, 11: chi2 = 12 / (N k (k+1)) * sum R^2 - 3 N (k+1) = 12/48 * 210 - 48 = 4.5, and with
# k - 1 = 2 degrees of freedom p = exp(-4.5 / 2).
TABLE_4X3 = np.array([[0.90, 0.80, 0.70], [0.85, 0.86, 0.70], [0.90, 0.70, 0.80], [0.95, 0.90, 0.60]])


def test_friedman_statistic_by_hand() -> None:
    chi2, p = friedman(TABLE_4X3) or (None, None)
    assert chi2 == pytest.approx(4.5)
    assert p == pytest.approx(math.exp(-2.25))


def test_friedman_needs_three_adapters_and_survives_all_ties() -> None:
    assert friedman(TABLE_4X3[:, :2]) is None
    assert friedman(np.ones((4, 3))) == (0.0, 1.0)


def test_cross_task_ranks_and_friedman_on_boards_with_a_lower_is_better_metric() -> None:
    # the same table as RMSE (lower is better): negated scores give the same ranks
    table = {f"t{i}": list(-row) for i, row in enumerate(TABLE_4X3)}
    ct = cross_task(10.0, boards(table, ["A", "B", "C"], metric="rmse"))
    assert ct.adapters == ["A", "B", "C"]
    assert [ct.avg_rank[a] for a in ct.adapters] == pytest.approx([5 / 4, 8 / 4, 11 / 4])
    assert ct.friedman is not None and ct.friedman[0] == pytest.approx(4.5)
    assert not ct.rejects and not ct.significant()  # p = 0.105: no post-hoc claim


# --- Wilcoxon signed-rank with Holm ---

# 8 tasks x 3 adapters: A beats B and C on every task; B - C = +1..+6 on six tasks, -7 and -8 on two.
B_MINUS_C = [1, 2, 3, 4, 5, 6, -7, -8]
TABLE_8X3 = np.array([[100.0, 50.0 + d, 50.0] for d in B_MINUS_C])


def exact_wilcoxon(d: list[float]) -> float:
    """Two-sided exact p by enumerating all 2^n sign patterns (distinct magnitudes, no zeros)."""
    ranks = {abs(x): r for r, x in enumerate(sorted(d, key=abs), start=1)}
    w = sum(ranks[abs(x)] for x in d if x > 0)
    total = sum(ranks.values())
    observed = min(w, total - w)
    sums = [
        sum(r for r, s in zip(ranks.values(), signs, strict=True) if s)
        for signs in itertools.product((0, 1), repeat=len(d))
    ]
    return min(1.0, 2 * sum(s <= observed for s in sums) / len(sums))


def test_wilcoxon_p_matches_the_exact_enumeration() -> None:
    assert wilcoxon_p(np.ones(8)) == pytest.approx(2 / 2**8)  # all 8 positive: 2 of 256 patterns
    assert wilcoxon_p(np.array(B_MINUS_C, dtype=float)) == pytest.approx(exact_wilcoxon(B_MINUS_C))
    assert wilcoxon_p(np.zeros(5)) == 1.0


def test_holm_corrected_pairs_by_hand() -> None:
    table = {f"t{i}": list(row) for i, row in enumerate(TABLE_8X3)}
    ct = cross_task(10.0, boards(table, ["A", "B", "C"]))
    # Friedman: rank sums A 8, B 6*2 + 2*3 = 18, C 22: chi2 = 12/96 * 872 - 96 = 13, p = exp(-6.5)
    assert ct.friedman is not None and ct.friedman[0] == pytest.approx(13.0)
    assert ct.friedman[1] == pytest.approx(math.exp(-6.5))
    ab, ac, bc = ct.pair("A", "B"), ct.pair("A", "C"), ct.pair("B", "C")
    assert ab is not None and ac is not None and bc is not None
    # raw p 2/256 for both pairs with A; Holm: the smallest times 3, the next times 2, kept monotone
    assert ab.p == pytest.approx(2 / 256) and ac.p == pytest.approx(2 / 256)
    assert ab.p_holm == pytest.approx(3 * 2 / 256) and ac.p_holm == pytest.approx(3 * 2 / 256)
    p_bc = exact_wilcoxon(B_MINUS_C)
    assert bc.p == pytest.approx(p_bc) and bc.p_holm == pytest.approx(max(p_bc, 3 * 2 / 256))
    # B has the larger signed-rank sum (21 against 15), so it is named first
    assert (bc.a, bc.b, bc.wins, bc.ties, bc.losses) == ("B", "C", 6, 0, 2)
    assert {(p.a, p.b) for p in ct.significant()} == {("A", "B"), ("A", "C")}
    assert ct.cliques() == [["B", "C"]]
    assert ct.winrate[0, 1] == 1.0 and ct.winrate[1, 2] == pytest.approx(6 / 8)


def test_pair_tests_and_power_do_not_depend_on_a_tasks_units() -> None:
    # the table above, with one task's scores in units 1000 times larger (dollars against thousands):
    # on raw differences that task would hold the largest rank of every pair; scaled, nothing changes
    table = {f"t{i}": list(row) for i, row in enumerate(TABLE_8X3)}
    louder = dict(table, t0=[1000 * x for x in table["t0"]])
    ct, ct_louder = (cross_task(10.0, boards(t, ["A", "B", "C"])) for t in (table, louder))
    assert [(p.a, p.b, p.p) for p in ct_louder.pairs] == [(p.a, p.b, pytest.approx(p.p)) for p in ct.pairs]
    assert ct.power is not None and ct_louder.power is not None
    assert ct_louder.power.diff == pytest.approx(ct.power.diff)
    assert ct_louder.power.sd == pytest.approx(ct.power.sd)


def test_scaled_scores_run_from_each_tasks_worst_to_its_best() -> None:
    oriented = np.array([[0.9, 0.8, 0.7], [-30.0, -10.0, -20.0], [0.5, 0.5, 0.5]])
    assert scaled(oriented) == pytest.approx(np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 0.0]]))


def test_power_is_bounded_when_the_default_is_almost_the_best() -> None:
    # on t0 the default is 0.001 behind the best and C is far behind: a normalisation by the gap
    # from the default to the best would make A - C there 201; scaled, it stays within 1
    rows = [[0.90, 0.85, 0.80], [0.80, 0.75, 0.70], [0.70, 0.68, 0.60], [0.95, 0.90, 0.85]]
    table = {f"t{i}": r for i, r in enumerate(rows)}
    table["t0"] = [0.901, 0.70, 0.900]
    ct = cross_task(10.0, boards(table, ["A", "C", "default"]))
    assert ct.power is not None and (ct.power.first, ct.power.second) == ("A", "C")
    assert all(abs(d) <= 1 for d in (ct.power.diff, ct.power.sd))


# --- Elo ---


def test_elo_known_winner_and_anchor() -> None:
    # A beats B beats C on every task; the anchor (default) is at 1000 in every bootstrap round
    table = np.array([[3.0, 2.0, 1.0]] * 6)
    e = elo.elo(table, ["A", "default", "C"])
    assert e.rating["A"] > e.rating["default"] == 1000.0 > e.rating["C"]
    assert e.low["default"] == e.high["default"] == 1000.0
    assert e.low["A"] <= e.rating["A"] <= e.high["A"]
    assert e.rating["A"] - 1000 == pytest.approx(1000 - e.rating["C"])  # symmetric


def test_elo_tie_counts_half() -> None:
    # 4 tasks: A wins 3, one tie. A's wins 3 + 0.5 (tie) + 0.5 (the virtual draw) of 5 games:
    # p_A / (p_A + p_B) = 4/5, so A is 400 * log10(4) above B.
    table = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.5, 0.5]])
    w = elo.games(table).sum(axis=0)
    assert w.tolist() == [[0.0, 3.5], [0.5, 0.0]]
    e = elo.elo(table, ["A", "default"])
    assert e.rating["A"] - e.rating["default"] == pytest.approx(400 * math.log10(4))
    # without the virtual draw, a 3-1 record is a strength ratio of 3
    r = elo.fit(np.array([[0.0, 3.0], [1.0, 0.0]]), prior=0.0)
    assert r[0] - r[1] == pytest.approx(400 * math.log10(3))


def test_elo_bootstrap_is_seeded() -> None:
    rng = np.random.default_rng(5)
    table = rng.normal(size=(10, 4)) + np.arange(4)
    names = ["a", "b", "c", "default"]
    assert elo.elo(table, names) == elo.elo(table, names)
    assert elo.elo(table, names).rounds == 200


# --- imputation ---


def imputation_board(metric: str = "accuracy") -> Board:
    """default 0.80, 0.70; random 0.90 and a failed run; optuna 0.85, 0.60; manual skipped twice."""
    runs = [
        run_record("t", "default", 0, 0.80, metric=metric),
        run_record("t", "default", 1, 0.70, metric=metric),
        run_record("t", "random", 0, 0.90, metric=metric),
        run_record("t", "random", 1, None, status="failed", metric=metric),
        run_record("t", "optuna", 0, 0.85, metric=metric),
        run_record("t", "optuna", 1, 0.60, metric=metric),
        run_record("t", "manual", 0, None, status="skipped", metric=metric),
        run_record("t", "manual", 1, None, status="skipped", metric=metric),
    ]
    (board,) = build_boards(runs)
    return board


@pytest.mark.parametrize(
    ("policy", "metric", "seed1", "mean"),
    [
        ("default", "accuracy", 0.70, 0.80),  # the default adapter's score on seed 1
        ("worst", "accuracy", 0.60, 0.75),  # the worst on seed 1 (optuna's)
        ("worst", "rmse", 0.70, 0.80),  # lower is better: the worst is the highest
        ("drop", "accuracy", None, 0.90),  # left out: the mean of seed 0 alone
    ],
)
def test_imputation_policies(policy: str, metric: str, seed1: float | None, mean: float) -> None:
    t = impute_board(imputation_board(metric), policy)
    random = t.cells["random"]
    assert random.scores.get(1) == seed1
    assert random.mean == pytest.approx(mean)
    assert (random.runs, random.imputed, random.left_out) == (
        2,
        0 if seed1 is None else 1,
        int(seed1 is None),
    )
    # skipped runs are not failures: left out under every policy, and not counted as runs
    manual = t.cells["manual"]
    assert (manual.runs, manual.imputed, manual.skipped, manual.mean) == (0, 0, 2, None)
    assert "manual" not in t.means()
    assert t.cells["optuna"].imputed == 0 and t.cells["optuna"].mean == pytest.approx(0.725)


def test_default_policy_falls_back_to_worst_and_labels_say_what_happened() -> None:
    runs = [
        run_record("t", "default", 0, None, status="timeout"),
        run_record("t", "random", 0, 0.9),
        run_record("t", "optuna", 0, 0.8),
        run_record("t", "grid", 0, None, status="memory"),
    ]
    (t,) = impute(build_boards(runs), "default")
    assert t.cells["default"].scores == {0: 0.8} and t.cells["grid"].scores == {0: 0.8}
    (dropped,) = impute(build_boards(runs), "drop")
    assert imputed_label(dropped.cells["grid"]) == "0/1 (1 left out)"
    assert imputed_label(t.cells["grid"]) == "1/1"
    with pytest.raises(ValueError, match="unknown imputation policy"):
        impute(build_boards(runs), "mean")


def test_complete_blocks_drop_tasks_or_adapters_whichever_keeps_more() -> None:
    table = {f"t{i}": [0.7, 0.8, 0.9] for i in range(6)}
    runs = [run_record(task, a, 0, s) for task, row in table.items() for a, s in zip("xyz", row, strict=True)]
    # z failed on one task: under drop that task goes (3 x 5 = 15 cells beat 2 x 6 = 12)
    runs[-1] = run_record("t5", "z", 0, None, status="failed")
    adapters, used = complete_blocks(impute(build_boards(runs), "drop"))
    assert adapters == ["x", "y", "z"] and [t.task for t in used] == [f"t{i}" for i in range(5)]
    # z ran on only two tasks: z goes instead (2 x 6 = 12 beat 3 x 2 = 6)
    few = [r for r in runs if r.adapter != "z" or r.task in ("t0", "t1")]
    ct = cross_task(10.0, build_boards(few), "drop")
    assert ct.adapters == ["y", "x"] and ct.left_out == ["z"] and len(ct.tasks) == 6 and not ct.dropped


# --- power ---


def test_tasks_needed_matches_the_textbook_values() -> None:
    # paired t-test, two-sided alpha 0.05, 80 % power (the values G*Power gives)
    assert power.tasks_needed(0.5) == 34
    assert power.tasks_needed(0.8) == 15
    assert power.tasks_needed(0.2) == 199
    assert power.t_power(0.5, 34) >= 0.80 > power.t_power(0.5, 33)
    assert power.tasks_needed(0.0) is None


def test_power_sentence_for_a_known_spread() -> None:
    # 10 tasks whose mean differences have mean 0.5 and standard deviation exactly 1: effect 0.5
    v = np.arange(10, dtype=float)
    means = 0.5 + (v - v.mean()) / v.std(ddof=1)
    p = power.analyse("optuna", "random", [[m] for m in means])
    assert p is not None and p.diff == pytest.approx(0.5) and p.sd == pytest.approx(1.0)
    assert p.needed == 34
    assert p.detectable == pytest.approx(power.detectable_effect(10))
    assert power.t_power(p.detectable or 0.0, 10) == pytest.approx(0.8)
    text = power.sentence(p)
    assert "to separate optuna from random at this spread you would need about 34 tasks" in text
    assert "with 10 tasks x 1 seed" in text


def test_power_variance_components_with_seeds() -> None:
    # two seeds per task: within-task differences +-0.1 around the task mean, so var_seed = 0.02
    v = np.arange(8, dtype=float)
    means = 0.2 + 0.3 * (v - v.mean()) / v.std(ddof=1)
    p = power.analyse("a", "b", [[m - 0.1, m + 0.1] for m in means])
    assert p is not None and p.seeds == 2 and p.var_seed == pytest.approx(0.02)
    assert p.var_task == pytest.approx(0.09 - 0.02 / 2)
    assert p.needed is not None and p.needed_more_seeds is not None and p.needed_more_seeds < p.needed
    assert "with 10 seeds each" in power.sentence(p)


def test_power_is_at_the_holm_level_and_respects_the_wilcoxon_floor() -> None:
    v = np.arange(10, dtype=float)
    means = 0.5 + (v - v.mean()) / v.std(ddof=1)
    p = power.analyse("optuna", "random", [[m] for m in means], pairs=3)
    assert p is not None and p.alpha == pytest.approx(0.05 / 3)
    assert p.needed == power.tasks_needed(0.5, alpha=0.05 / 3) and p.needed > 34
    assert "at 80 % power (alpha = 0.05 / 3 pairs)" in power.sentence(p)
    # all 6 tasks won by the same margin: a t-test would need 2 tasks, but the Wilcoxon test cannot
    # reach 0.05 / 3 with fewer than 7 (2 / 2^6 = 0.031 > 0.0167 >= 2 / 2^7)
    assert power.wilcoxon_floor(0.05) == 6 and power.wilcoxon_floor(0.05 / 3) == 7
    q = power.analyse("a", "b", [[0.3]] * 6, pairs=3)
    assert q is not None and q.detectable is None and q.needed == 7
    assert "the Wilcoxon test needs at least 7 tasks" in power.sentence(q)
    assert "you would need about 7 tasks" in power.sentence(q)


def test_a_pair_no_bar_can_join_is_named() -> None:
    # a ~ b, a ~ c, but b differs from c: the bar joins a and b only, and a ~ c is named separately
    def pair(a: str, b: str, sig: bool) -> PairTest:
        return PairTest(a, b, 5, 0, 1, 0.01 if sig else 0.5, 0.03 if sig else 1.0, sig)

    ct = CrossTask(
        10.0, "default", ["t"] * 6, [], [], ["a", "b", "c"], {"a": 1.5, "b": 1.8, "c": 2.7}, (9.0, 0.01),
        [pair("a", "b", False), pair("b", "c", True), pair("a", "c", False)], np.zeros((3, 3)), {}, {}, 1,
    )  # fmt: skip
    assert ct.cliques() == [["a", "b"]]
    assert [(p.a, p.b) for p in unjoined(ct)] == [("a", "c")]
