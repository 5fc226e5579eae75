"""pass@k estimator, counts, crossover, ΔSE, histogram and coverage, mostly as data tables.

    .venv/bin/pytest tests/test_metrics.py -q
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlboundary import metrics
from rlboundary.errors import UserError


def brute_force_pass_at_k(n: int, c: int, k: int) -> Fraction:
    """Chen et al.'s estimator in exact rational arithmetic."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def counts_frame(model: str, rows: list[tuple[str, int, int]], benchmark: str = "bench") -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "benchmark": benchmark, "problem_id": pid, "n": n, "c": c}
                         for pid, n, c in rows])


# ---------------------------------------------------------------------------
# The estimator against exact arithmetic
# ---------------------------------------------------------------------------

# (n, c, k, expected pass@k as an exact fraction): edge cases by hand.
EDGE_CASES = [
    (1, 0, 1, Fraction(0)),
    (1, 1, 1, Fraction(1)),
    (10, 0, 10, Fraction(0)),          # c = 0: never solved
    (10, 10, 1, Fraction(1)),          # c = n: always solved
    (10, 3, 1, Fraction(3, 10)),       # pass@1 = c/n
    (10, 3, 10, Fraction(1)),          # k = n and c > 0
    (10, 3, 7, Fraction(119, 120)),    # n - c = k: exactly one k-subset, C(7,7)/C(10,7) = 1/120, fails
    (10, 3, 8, Fraction(1)),           # n - c < k: every k-subset holds a correct sample
    (4, 2, 2, Fraction(5, 6)),         # 1 - C(2,2)/C(4,2)
    (4096, 1, 1, Fraction(1, 4096)),
    (4096, 1, 4095, Fraction(4095, 4096)),
    (4096, 4095, 1, Fraction(4095, 4096)),
    (4096, 2, 4096, Fraction(1)),
]


@pytest.mark.parametrize("n,c,k,expected", EDGE_CASES)
def test_edge_cases_match_exact_values(n, c, k, expected):
    got = metrics.pass_at_k([n], [c], [k])[0, 0]
    assert got == pytest.approx(float(expected), rel=1e-12, abs=0)
    assert float(brute_force_pass_at_k(n, c, k)) == pytest.approx(float(expected), rel=1e-15)


def test_random_cases_match_math_comb_up_to_n_4096():
    rng = np.random.default_rng(20250418)
    worst = 0.0
    checked = 0
    for trial in range(150):
        n = int(rng.integers(1, 4097))
        # Mix in small c, where pass@k is small and relative error is hardest.
        c = int(rng.integers(0, n + 1)) if trial % 2 else int(rng.integers(0, min(n, 4) + 1))
        ks = np.unique(np.concatenate([rng.integers(1, n + 1, size=6), [1, n]]))
        got = metrics.pass_at_k([n], [c], ks)[0]
        for k, value in zip(ks, got):
            exact = float(brute_force_pass_at_k(n, c, int(k)))
            if exact == 0.0:
                assert value == 0.0
            else:
                worst = max(worst, abs(value - exact) / exact)
            checked += 1
    assert checked > 500
    assert worst < 1e-12, worst


def test_all_k_at_once_equals_per_k_product_form():
    """The cumulative form equals the paper's per-k product 1 - prod(1 - k / arange(n-c+1, n+1))."""
    n, c = 300, 17
    all_k = metrics.pass_at_k([n], [c], np.arange(1, n + 1))[0]
    per_k = [1 - np.prod(1 - k / np.arange(n - c + 1, n + 1)) if n - c >= k else 1.0 for k in range(1, n + 1)]
    np.testing.assert_allclose(all_k, per_k, rtol=1e-12, atol=0)


def test_many_problems_shape_and_values():
    n = np.array([8, 8, 16])
    c = np.array([0, 3, 16])
    out = metrics.pass_at_k(n, c, [1, 2, 8])
    assert out.shape == (3, 3)
    expected = [[float(brute_force_pass_at_k(ni, ci, k)) for k in (1, 2, 8)] for ni, ci in zip(n, c)]
    np.testing.assert_allclose(out, expected, rtol=1e-13)


def test_ragged_n_gives_nan_beyond_a_problems_own_n():
    out = metrics.pass_at_k([4, 8], [1, 1], [4, 5, 8])
    assert out[0, 0] == pytest.approx(1.0)
    assert np.isnan(out[0, 1]) and np.isnan(out[0, 2])
    assert out[1, 2] == pytest.approx(1.0)
    assert out[1, 1] == pytest.approx(5 / 8)


# (n, c, ks, what the message must mention)
INVALID_INPUTS = [
    ([4], [1], [5], "exceeds"),        # k > n is not extrapolated
    ([4], [1], [0], "k must be >= 1"),
    ([4], [5], [1], "impossible"),     # c > n
    ([4], [-1], [1], "impossible"),
    ([0], [0], [1], "n >= 1"),
    ([4, 4], [1], [1], "same length"),
    ([4], [1], [], "no k"),
    ([4.5], [1], [1], "whole numbers"),
]


@pytest.mark.parametrize("n,c,ks,message", INVALID_INPUTS)
def test_invalid_inputs_raise_user_error(n, c, ks, message):
    with pytest.raises(UserError, match=message):
        metrics.pass_at_k(n, c, ks)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_monotone_in_k_and_bounded(nc):
    n, c = nc
    curve = metrics.pass_at_k([n], [c], np.arange(1, n + 1))[0]
    assert np.all(curve >= 0) and np.all(curve <= 1)
    assert np.all(np.diff(curve) >= 0)
    assert curve[0] == pytest.approx(c / n, rel=1e-13, abs=1e-300)
    assert curve[-1] == (1.0 if c > 0 else 0.0)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_monotone_in_c(nk):
    n, k = nk
    values = metrics.pass_at_k(np.full(n + 1, n), np.arange(n + 1), [k])[:, 0]
    assert np.all(np.diff(values) >= 0)
    assert values[0] == 0.0 and values[-1] == 1.0


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_matches_exact_fraction_on_small_cases(nck):
    n, c, k = nck
    assert metrics.pass_at_k([n], [c], [k])[0, 0] == pytest.approx(float(brute_force_pass_at_k(n, c, k)),
                                                                   rel=1e-13, abs=1e-300)


# ---------------------------------------------------------------------------
# Helpers and counts
# ---------------------------------------------------------------------------

METRIC_KEYS = [
    (("pass@k",), {"k": 8, "n": 64}, "pass@k:k=8&n=64"),
    (("delta_se",), {"k_max": 256, "n": 256}, "delta_se:k_max=256&n=256"),
    (("mean_accuracy",), {}, "mean_accuracy"),
]


@pytest.mark.parametrize("args,params,expected", METRIC_KEYS)
def test_metric_key(args, params, expected):
    assert metrics.metric_key(*args, **params) == expected


@pytest.mark.parametrize("n,expected", [(1, [1]), (8, [1, 2, 4, 8]), (12, [1, 2, 4, 8, 12]), (1024, [2**i for i in range(11)])])
def test_powers_of_two(n, expected):
    assert metrics.powers_of_two(n) == expected


def test_counts_from_verdicts_counts_every_non_correct_verdict_as_failure():
    verdicts = pd.DataFrame({
        "problem_id": ["a", "a", "a", "b", "b", "c"],
        "sample_idx": [0, 1, 2, 0, 1, 0],
        "extracted": ["1", None, "2", "3", "3", None],
        "verdict": ["correct", "unparseable", "incorrect", "timeout", "correct", "error"],
        "correct": [True, False, False, False, True, False],
    })
    counts = metrics.counts_from_verdicts(verdicts, model="m", benchmark="b")
    assert list(counts.columns) == metrics.COUNT_COLUMNS
    assert counts[["problem_id", "n", "c"]].values.tolist() == [["a", 3, 1], ["b", 2, 1], ["c", 1, 0]]
    assert set(counts["model"]) == {"m"} and set(counts["benchmark"]) == {"b"}


def test_counts_from_verdicts_rejects_duplicates_and_missing_columns():
    dup = pd.DataFrame({"problem_id": ["a", "a"], "sample_idx": [0, 0], "correct": [True, False]})
    with pytest.raises(UserError, match="more than one verdict"):
        metrics.counts_from_verdicts(dup, model="m", benchmark="b")
    with pytest.raises(UserError, match="lack column"):
        metrics.counts_from_verdicts(dup.drop(columns="correct"), model="m", benchmark="b")


def test_mean_accuracy_is_mean_pass_at_1():
    n, c = np.array([4, 10, 3]), np.array([1, 5, 3])
    assert metrics.mean_accuracy(n, c) == pytest.approx((0.25 + 0.5 + 1) / 3)
    assert metrics.mean_accuracy(n, c) == pytest.approx(metrics.pass_at_k(n, c, [1]).mean())


def test_curve_is_tidy_and_restricted_to_smallest_n():
    counts = counts_frame("m", [("p1", 4, 1), ("p2", 8, 2)])
    curve = metrics.pass_at_k_curve(counts, n_boot=50)
    assert list(curve["k"]) == [1, 2, 3, 4]  # ragged: only up to min n
    assert set(curve["n"]) == {4}
    assert {"model", "benchmark", "k", "n", "pass_at_k", "ci_low", "ci_high"} <= set(curve.columns)
    assert curve["metric"].iloc[1] == "pass@k:k=2&n=4"
    expected_k2 = (float(brute_force_pass_at_k(4, 1, 2)) + float(brute_force_pass_at_k(8, 2, 2))) / 2
    assert curve.loc[curve.k == 2, "pass_at_k"].item() == pytest.approx(expected_k2)
    assert np.all(curve["ci_low"] <= curve["pass_at_k"]) and np.all(curve["pass_at_k"] <= curve["ci_high"])
    with pytest.raises(UserError, match="smallest sample count"):
        metrics.pass_at_k_curve(counts, ks=[5])


# ---------------------------------------------------------------------------
# Base vs RL, hand-computed
# ---------------------------------------------------------------------------
# n = 4 for every problem. pass@k(4, c) by hand:
#   c=0: 0, 0, 0, 0        c=1: 1/4, 2/4, 3/4, 1
#   c=2: 1/2, 5/6, 1, 1    c=4: 1, 1, 1, 1
# base = {p1: c=1, p2: c=2}: mean 3/8, 2/3, 7/8, 1
# RL   = {p1: c=4, p2: c=0}: mean 1/2 at every k
BASE = counts_frame("base", [("p1", 4, 1), ("p2", 4, 2)])
RL = counts_frame("rl", [("p1", 4, 4), ("p2", 4, 0)])

# (base rows, rl rows, crossover_k (nan = none), rl_ahead_at_k1, description)
CROSSOVER_CASES = [
    ([("p1", 4, 1), ("p2", 4, 2)], [("p1", 4, 4), ("p2", 4, 0)], 2.0, True, "k=2"),
    ([("p1", 4, 0), ("p2", 4, 0)], [("p1", 4, 1), ("p2", 4, 0)], np.nan, True, "none up to n=4"),
    ([("p1", 4, 3), ("p2", 4, 0)], [("p1", 4, 1), ("p2", 4, 0)], 1.0, False, "k=1 (RL not ahead at k=1)"),
    # RL ahead until k=4, where base (c=1 on both) reaches 1 = RL's plateau.
    ([("p1", 4, 1), ("p2", 4, 1)], [("p1", 4, 4), ("p2", 4, 4)], 4.0, True, "k=4"),
]


@pytest.mark.parametrize("base_rows,rl_rows,expected_k,rl_ahead,description", CROSSOVER_CASES)
def test_crossover_cases(base_rows, rl_rows, expected_k, rl_ahead, description):
    row = metrics.crossover(counts_frame("base", base_rows), counts_frame("rl", rl_rows), n_boot=200).iloc[0]
    if np.isnan(expected_k):
        assert np.isnan(row.crossover_k)
    else:
        assert row.crossover_k == expected_k
    assert row.rl_ahead_at_k1 == rl_ahead
    assert row.description == description
    assert row.n == 4 and row.n_problems == 2


def test_crossover_bootstrap_distribution_matches_replicates():
    # base = {p1: 0, p2: 0}, RL = {p1: 1, p2: 0}: a replicate has no crossover
    # exactly when it draws p1 at least once (else both are 0 and tie at k=1).
    base = counts_frame("base", [("p1", 4, 0), ("p2", 4, 0)])
    rl = counts_frame("rl", [("p1", 4, 1), ("p2", 4, 0)])
    row = metrics.crossover(base, rl, n_boot=400, seed=7).iloc[0]
    weights = metrics.resample_weights(2, 400, seed=7)  # problems sorted by id: p1 first
    assert row.frac_no_crossover == pytest.approx((weights[:, 0] > 0).mean())
    assert 0.6 < row.frac_no_crossover < 0.9  # 3/4 in expectation
    assert row.ci_high == np.inf and row.ci_low == 1.0


def test_sampling_efficiency_gap_by_hand():
    row = metrics.sampling_efficiency_gap(BASE, RL, n_boot=200).iloc[0]
    assert row.k_max == 4 and row.metric == "delta_se:k_max=4&n=4"
    assert row.base_pass_at_kmax == pytest.approx(1.0)
    assert row.rl_pass_at_1 == pytest.approx(0.5)
    assert row.delta_se == pytest.approx(0.5)
    # per problem: p1: 1 - 1 = 0, p2: 1 - 0 = 1, so replicate means lie in {0, .5, 1}
    assert row.ci_low in (0.0, 0.5) and row.ci_high in (0.5, 1.0)
    row2 = metrics.sampling_efficiency_gap(BASE, RL, k_max=2, n_boot=0).iloc[0]
    assert row2.delta_se == pytest.approx(2 / 3 - 0.5) and np.isnan(row2.ci_low)
    with pytest.raises(UserError, match="exceeds"):
        metrics.sampling_efficiency_gap(BASE, RL, k_max=5)


def test_paired_difference_curve_by_hand():
    diff = metrics.paired_difference_curve(BASE, RL, n_boot=300)
    np.testing.assert_allclose(diff["diff"], [3 / 8 - 1 / 2, 2 / 3 - 1 / 2, 7 / 8 - 1 / 2, 1 / 2])
    np.testing.assert_allclose(diff["base_pass_at_k"], [3 / 8, 2 / 3, 7 / 8, 1])
    assert np.all(diff["ci_low"] <= diff["diff"]) and np.all(diff["diff"] <= diff["ci_high"])
    # identical runs: every replicate difference is exactly 0
    same = metrics.paired_difference_curve(BASE, BASE.assign(model="rl"), n_boot=100)
    assert np.all(same["ci_low"] == 0) and np.all(same["ci_high"] == 0)


def test_paired_comparisons_reject_mismatched_problems():
    with pytest.raises(UserError, match="different problems"):
        metrics.crossover(BASE, counts_frame("rl", [("p1", 4, 1), ("p3", 4, 0)]))
    with pytest.raises(UserError, match="same benchmark"):
        metrics.coverage_sets(BASE, counts_frame("rl", [("p1", 4, 1), ("p2", 4, 0)], benchmark="other"))


# (n, c, bin label): the paper's bins 0, (0,.1], ..., (.9,1), 1 with exact boundaries.
HISTOGRAM_CASES = [
    (10, 0, "0"),
    (10, 1, "(0,0.1]"),      # 0.1 closes the first bin
    (20, 1, "(0,0.1]"),
    (3, 1, "(0.3,0.4]"),
    (10, 5, "(0.4,0.5]"),
    (10, 9, "(0.8,0.9]"),    # 0.9 closes (0.8, 0.9]
    (20, 19, "(0.9,1)"),
    (1024, 1023, "(0.9,1)"),
    (10, 10, "1"),
    (1024, 1, "(0,0.1]"),
]


@pytest.mark.parametrize("n,c,label", HISTOGRAM_CASES)
def test_accuracy_bin_of_one_problem(n, c, label):
    assert metrics.ACCURACY_BINS[int(metrics.accuracy_bin_index([n], [c])[0])] == label


def test_accuracy_histogram_counts_and_fractions():
    rows = [(f"p{i}", n, c) for i, (n, c, _) in enumerate(HISTOGRAM_CASES)]
    hist = metrics.accuracy_histogram(counts_frame("m", rows))
    assert list(hist["bin"]) == metrics.ACCURACY_BINS and len(metrics.ACCURACY_BINS) == 12
    expected = pd.Series([label for _, _, label in HISTOGRAM_CASES]).value_counts()
    got = hist.set_index("bin")["count"]
    for label in metrics.ACCURACY_BINS:
        assert got[label] == expected.get(label, 0)
    assert hist["fraction"].sum() == pytest.approx(1.0)


def test_coverage_sets_by_hand():
    base = counts_frame("base", [("a", 8, 3), ("b", 8, 1), ("c", 8, 0), ("d", 8, 0), ("e", 8, 8)])
    rl = counts_frame("rl", [("a", 8, 8), ("b", 8, 0), ("c", 8, 2), ("d", 8, 0), ("e", 8, 1)])
    cover = metrics.coverage_sets(base, rl).set_index("set")
    assert list(cover.index) == metrics.COVERAGE_SETS
    assert cover.loc["both", "problem_ids"] == ["a", "e"]
    assert cover.loc["base_only", "problem_ids"] == ["b"]
    assert cover.loc["rl_only", "problem_ids"] == ["c"]
    assert cover.loc["neither", "problem_ids"] == ["d"]
    assert cover["n_problems"].sum() == 5 and cover.loc["both", "fraction"] == pytest.approx(0.4)
    strict = metrics.coverage_sets(base, rl, min_correct=2).set_index("set")
    assert strict.loc["both", "problem_ids"] == ["a"]
    assert strict.loc["base_only", "problem_ids"] == ["e"]
    assert strict.loc["neither", "problem_ids"] == ["b", "d"]


def test_curve_does_not_depend_on_row_order_and_checks_counts():
    counts = counts_frame("m", [(f"p{i}", 16, i) for i in range(17)])
    forward = metrics.pass_at_k_curve(counts, ks=[1, 4, 16], n_boot=100, seed=3)
    backward = metrics.pass_at_k_curve(counts.iloc[::-1], ks=[1, 4, 16], n_boot=100, seed=3)
    pd.testing.assert_frame_equal(forward, backward)
    with pytest.raises(UserError, match="c=17 correct of n=16"):
        metrics.accuracy_histogram(counts_frame("m", [("p", 16, 17)]))


def test_accuracy_summary_equals_mean_pass_at_1():
    counts = counts_frame("m", [("a", 4, 1), ("b", 10, 5), ("c", 3, 3)])
    row = metrics.accuracy_summary(counts, n_boot=200).iloc[0]
    assert row.mean_accuracy == pytest.approx(metrics.mean_accuracy([4, 10, 3], [1, 5, 3]))
    assert row.ci_low <= row.mean_accuracy <= row.ci_high and row.n_problems == 3


# ---------------------------------------------------------------------------
# Where one model is ahead: k ranges of significant paired differences
# ---------------------------------------------------------------------------

def test_k_ranges_and_sign_changes():
    ks = [1, 2, 3, 4, 5, 6]
    assert metrics.k_ranges(ks, [True, True, False, True, False, True]) == [(1, 2), (4, 4), (6, 6)]
    assert metrics.format_k_ranges([(1, 2), (4, 4)]) == "1–2, 4" and metrics.format_k_ranges([]) == "none"
    assert metrics.sign_changes(np.array([-0.2, -0.1, 0.0, 0.1, -0.05, 0.2])) == 3  # a touch at 0 is no crossing


def test_crossover_reports_significant_ranges_on_both_sides():
    # 30 problems. RL solves half of them always; the base solves every problem 2 times in 16:
    # at k=1 RL is far ahead (.5 vs .125), at k=16 the base is far ahead (1 vs .5).
    ids = [f"p{i:02d}" for i in range(30)]
    base = pd.DataFrame({"model": "base", "benchmark": "b", "problem_id": ids, "n": 16, "c": 2})
    rl = base.assign(model="rl", c=[16 if i % 2 == 0 else 0 for i in range(30)])
    row = metrics.crossover(base, rl, n_boot=300).iloc[0]
    exact = {k: 1 - math.comb(14, k) / math.comb(16, k) for k in range(1, 17)}  # base pass@k
    first = min(k for k in exact if exact[k] >= 0.5)
    assert row.crossover_k == first and row.sign_changes == 1
    assert row.rl_ahead_k.startswith("1") and row.base_ahead_k.endswith("16")
    # The significant ranges sit on either side of the first crossing and never contain it.
    rl_last = int(row.rl_ahead_k.split("–")[-1])
    base_first = int(row.base_ahead_k.split("–")[0])
    assert rl_last < first <= base_first
    none = metrics.crossover(base, base.assign(model="rl"), n_boot=100).iloc[0]
    assert (none.base_ahead_k, none.rl_ahead_k, none.sign_changes) == ("none", "none", 0)
    assert metrics.crossover(base, rl, n_boot=0).iloc[0].base_ahead_k == "no CI"


def test_delta_se_is_named_with_its_k():
    assert metrics.delta_se_label(256) == "ΔSE@256" and metrics.delta_se_label(1024) == "ΔSE@1024"
    assert metrics.delta_se_label(32) == "ΔSE@32 (k=32 < 256: not the paper's ΔSE@256)"
    assert metrics.sampling_efficiency_gap(BASE, RL, n_boot=0).iloc[0].label.startswith("ΔSE@4 (")


def test_coverage_refuses_unequal_n_and_compares_at_a_common_k():
    base = counts_frame("base", [("a", 8, 1), ("b", 8, 0)])
    rl = counts_frame("rl", [("a", 4, 0), ("b", 4, 2)])
    with pytest.raises(UserError, match="unequal n") as err:
        metrics.coverage_sets(base, rl)
    assert "k=4" in err.value.fix
    cover = metrics.coverage_sets(base, rl, k=4).set_index("set")
    # a: base pass@4 = 1 - C(7,4)/C(8,4) = 1/2, RL 0; b: base 0, RL pass@4 = 1.
    assert cover.loc["base_only", "n_problems"] == pytest.approx(0.5)
    assert cover.loc["neither", "n_problems"] == pytest.approx(0.5)
    assert cover.loc["rl_only", "n_problems"] == pytest.approx(1.0)
    assert cover.loc["both", "n_problems"] == pytest.approx(0.0)
    assert cover["fraction"].sum() == pytest.approx(1.0)
    # At k = n with equal n the expected counts are the plain counts.
    equal = counts_frame("rl", [("a", 8, 0), ("b", 8, 3)])
    plain = metrics.coverage_sets(base, equal).set_index("set")["n_problems"]
    at_n = metrics.coverage_sets(base, equal, k=8).set_index("set")["n_problems"]
    assert plain.to_dict() == pytest.approx(at_n.to_dict())
    with pytest.raises(UserError, match="min_correct"):
        metrics.coverage_sets(base, rl, k=4, min_correct=2)
