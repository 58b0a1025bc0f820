"""Edges of the eval statistics that mutation testing found unpinned (input checks, exact endpoints,
boundaries). Every expected number is worked out in the comment next to it.

Bootstrap results are stated only where the resampling distribution is known by hand: resampling
two values {0, 10} with k = 2 gives a mean of 0, 5 or 10 with probabilities 1/4, 1/2, 1/4, so with
2,000 resamples the 2.5th percentile is 0, the median 5 and the 97.5th percentile 10.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import pytest

from llm_magics.evaluation.stats import (
    Interval,
    bootstrap_ci,
    consistency,
    is_binary,
    majority_vote,
    mcnemar_exact,
    mean,
    mean_ci,
    paired_bootstrap,
    paired_compare,
    pass_at_k,
    percentile,
    wilson_ci,
)


def test_mean_and_is_binary() -> None:
    assert mean([1.0, 2.0, 4.0]) == pytest.approx(7 / 3)
    with pytest.raises(ValueError, match="mean of no values"):
        mean([])
    assert is_binary([0, 1, 1.0, 0.0]) and is_binary([])
    assert not is_binary([0, 0.5]) and not is_binary([2.0])


def test_wilson_endpoints_and_input_checks() -> None:
    # 8/10: p = 0.8, z² = 3.8415, denominator 1.38415, centre 0.71674, half-width 0.22657
    assert wilson_ci(8, 10) == pytest.approx((0.49016, 0.94332), abs=1e-5)
    # 0/10: the low end is exactly 0, the high end centre + half = 2 × 0.13877
    assert wilson_ci(0, 10) == (0.0, pytest.approx(0.27753, abs=1e-5))
    # 10/10: the high end is exactly 1 (the formula alone gives 0.9999999999999999)
    assert wilson_ci(10, 10) == (pytest.approx(0.72247, abs=1e-5), 1.0)
    assert wilson_ci(1, 1) == (pytest.approx(0.20655, abs=1e-5), 1.0)
    for successes, n in [(1, 0), (0, 0), (0, -1)]:
        with pytest.raises(ValueError, match="n must be positive"):
            wilson_ci(successes, n)
    for successes, n in [(-1, 10), (11, 10)]:
        with pytest.raises(ValueError, match=r"successes must be in \[0, 10\]"):
            wilson_ci(successes, n)


def test_percentile_linear_interpolation_and_checks() -> None:
    xs = [4.0, 1.0, 3.0, 2.0]
    assert percentile(xs, 0) == 1.0 and percentile(xs, 100) == 4.0
    assert percentile(xs, 50) == 2.5  # between the 2nd and 3rd order statistics
    assert percentile(xs, 25) == 1.75  # position 3 × 0.25 = 0.75: 1 + 0.75 × (2 − 1)
    assert percentile([5.0], 50) == 5.0
    for bad in (-1, 101):
        with pytest.raises(ValueError):
            percentile(xs, bad)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_bootstrap_known_distribution() -> None:
    assert bootstrap_ci([0.0, 10.0]) == (0.0, 10.0)
    assert bootstrap_ci([0.0, 10.0], confidence=0.0) == (5.0, 5.0)  # the median of the resampled means
    # min of two draws is 0 three times in four, max is 10 three times in four
    assert bootstrap_ci([0.0, 10.0], statistic=min, confidence=0.0) == (0.0, 0.0)
    assert bootstrap_ci([0.0, 10.0], statistic=max, confidence=0.0) == (10.0, 10.0)
    lo, hi = bootstrap_ci([0.0, 10.0], resamples=1)
    assert lo == hi and lo in (0.0, 5.0, 10.0)
    assert bootstrap_ci([0.0, 10.0, 3.0], seed=4) == bootstrap_ci([0.0, 10.0, 3.0], seed=4)
    assert bootstrap_ci([7.0]) == (7.0, 7.0) and bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    with pytest.raises(ValueError, match="bootstrap of no values"):
        bootstrap_ci([])


def test_bootstrap_percentiles_of_a_known_sequence() -> None:
    # a statistic that ignores the resample and counts 0, 1, 2, …: the sorted statistics are
    # exactly 0..1999, so the 2.5th percentile sits at position 1999 × 0.025 = 49.975 and the
    # 97.5th at 1999 × 0.975 = 1949.025 (linear interpolation between neighbours)
    def counter() -> Callable[[Sequence[float]], float]:
        it = itertools.count()
        return lambda _resample: float(next(it))

    assert bootstrap_ci([1.0, 2.0], statistic=counter()) == (pytest.approx(49.975), pytest.approx(1949.025))
    # 90%: the 5th and 95th percentiles, 1999 × 0.05 = 99.95 and 1999 × 0.95 = 1899.05
    assert bootstrap_ci([1.0, 2.0], statistic=counter(), confidence=0.9) == (
        pytest.approx(99.95), pytest.approx(1899.05))
    assert bootstrap_ci([1.0, 2.0], statistic=counter(), resamples=11) == (pytest.approx(0.25), pytest.approx(9.75))


def test_mean_ci_chooses_its_method() -> None:
    assert mean_ci([1.0] * 8 + [0.0] * 2) == Interval(0.8, pytest.approx(0.49016, abs=1e-5),
                                                      pytest.approx(0.94332, abs=1e-5), "wilson")
    assert mean_ci([0.5]) == Interval(0.5, 0.5, 0.5, "exact")
    assert mean_ci([0.0, 10.0]) == Interval(5.0, 0.0, 10.0, "bootstrap")
    assert Interval(0.8, 0.5, 0.9, "wilson").half_width == pytest.approx(0.3)  # max(0.3, 0.1)
    assert Interval(0.5, 0.45, 0.7, "bootstrap").half_width == pytest.approx(0.2)  # max(0.05, 0.2)


def test_pass_at_k_values_and_checks() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is c / n
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 − C(3,2)/C(5,2) = 1 − 3/10
    assert pass_at_k(5, 3, 2) == pytest.approx(0.9)  # n − c = k: 1 − C(2,2)/C(5,2) = 1 − 1/10
    assert pass_at_k(5, 4, 2) == 1.0  # fewer failures than k: some draw always passes
    assert pass_at_k(4, 0, 2) == 0.0
    assert pass_at_k(3, 3, 2) == 1.0 and pass_at_k(3, 3, 3) == 1.0  # every sample correct (c = n)
    for n, c, k in [(5, -1, 1), (5, 6, 1), (5, 2, 0), (5, 2, 6)]:
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def test_majority_vote_and_consistency() -> None:
    assert majority_vote(["a", "b", "a"], [1.0, 0.0, 1.0]) == 1.0
    assert majority_vote(["x", "y", "y"], [1.0, 0.0, 0.0]) == 0.0
    assert majority_vote(["b", "a"], [0.0, 1.0]) == 0.0  # a tie goes to the answer seen first
    assert majority_vote(["b", "a", "a", "b"], [0.25, 1.0, 1.0, 0.25]) == 0.25
    for keys, scores in [([], []), (["a"], []), (["a", "b"], [1.0])]:
        with pytest.raises(ValueError):
            majority_vote(keys, scores)
    assert consistency(["a", "a", "b", "a"]) == 0.75 and consistency(["a"]) == 1.0
    with pytest.raises(ValueError, match="consistency of no samples"):
        consistency([])


def test_mcnemar_exact_values() -> None:
    assert mcnemar_exact(1, 9) == 2 * 11 / 1024  # 2 × (C(10,0) + C(10,1)) / 2¹⁰ = 0.021484375
    assert mcnemar_exact(9, 1) == 2 * 11 / 1024
    assert mcnemar_exact(0, 3) == 0.25  # 2 × 1/8
    assert mcnemar_exact(5, 5) == 1.0  # 2 × 638/1024 > 1, capped
    assert mcnemar_exact(0, 0) == 1.0
    for b, c in [(-1, 2), (2, -1)]:
        with pytest.raises(ValueError):
            mcnemar_exact(b, c)


def test_paired_bootstrap_certain_and_known_differences() -> None:
    assert paired_bootstrap([1.0, 1.0], [0.0, 0.0]) == (1.0, 1.0, 1.0, 0.0)  # no spread: certain
    assert paired_bootstrap([0.3, 0.3], [0.3, 0.3]) == (0.0, 0.0, 0.0, 1.0)
    # diffs {1, 0}: resampled means 0, 0.5, 1 (1/4, 1/2, 1/4); half of them are 0.5 away from d = 0.5
    d, lo, hi, p = paired_bootstrap([1.0, 0.0], [0.0, 0.0])
    assert (d, lo, hi) == (0.5, 0.0, 1.0)
    assert 0.4 < p < 0.6
    # diffs {1, 2}, d = 1.5: resampled means are 1, 1.5 or 2, never 1.5 away from d, so no
    # resample is as extreme as the observed difference and p = (0 + 1) / (resamples + 1)
    assert paired_bootstrap([1.0, 2.0], [0.0, 0.0]) == (1.5, 1.0, 2.0, 1 / 2001)
    assert paired_bootstrap([1.0, 2.0], [0.0, 0.0], resamples=9)[3] == 1 / 10
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap([1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="paired bootstrap of no items"):
        paired_bootstrap([], [])


def test_paired_compare_picks_the_test() -> None:
    a = [1.0] * 9 + [0.0]
    b = [0.0] * 9 + [1.0]
    r = paired_compare(a, b)
    assert (r.n, r.mean_a, r.mean_b, r.diff, r.test, r.a_only, r.b_only) == (
        10, 0.9, 0.1, pytest.approx(0.8), "mcnemar-exact", 9, 1)
    assert r.p_value == 2 * 11 / 1024
    g = paired_compare([1.0, 0.5], [0.0, 0.5])
    assert (g.test, g.a_only, g.b_only, g.diff) == ("paired-bootstrap", None, None, 0.5)
    # McNemar only when both are pass/fail
    assert paired_compare([1.0, 0.0], [0.5, 0.5]).test == "paired-bootstrap"
    assert paired_compare([0.5, 0.5], [1.0, 0.0]).test == "paired-bootstrap"
    with pytest.raises(ValueError, match="same length"):
        paired_compare([1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="no items that both answered"):
        paired_compare([], [])
