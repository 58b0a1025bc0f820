"""Eval statistics against hand-computed values (and scipy, when it happens to be installed)."""

from __future__ import annotations

import math

import pytest

from llm_magics.evaluation import stats


def test_wilson_known_values() -> None:
    lo, hi = stats.wilson_ci(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    lo, hi = stats.wilson_ci(0, 10)
    assert lo == 0.0 and round(hi, 4) == 0.2775
    lo, hi = stats.wilson_ci(10, 10)
    assert round(lo, 4) == 0.7225 and hi == 1.0
    with pytest.raises(ValueError):
        stats.wilson_ci(11, 10)


def test_mean_ci_picks_wilson_for_pass_fail_and_bootstrap_otherwise() -> None:
    iv = stats.mean_ci([1.0] * 8 + [0.0] * 2)
    assert iv.method == "wilson" and iv.value == 0.8 and round(iv.low, 4) == 0.4902
    graded = [0.5, 0.25, 1.0, 0.75, 0.0, 0.5]
    iv = stats.mean_ci(graded, seed=3)
    assert iv.method == "bootstrap" and iv.value == pytest.approx(0.5)
    assert iv.low < 0.5 < iv.high
    assert stats.mean_ci(graded, seed=3) == iv  # seeded: the same interval every run
    assert stats.mean_ci([0.4]).method == "exact"


def test_pass_at_k_hand_computed() -> None:
    assert stats.pass_at_k(3, 1, 1) == pytest.approx(1 / 3)
    assert stats.pass_at_k(3, 1, 2) == pytest.approx(2 / 3)  # 1 - C(2,2)/C(3,2)
    assert stats.pass_at_k(3, 1, 3) == 1.0
    assert stats.pass_at_k(3, 0, 3) == 0.0
    assert stats.pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)  # 1 - C(7,5)/C(10,5)
    # the product form agrees with the binomial formula where both are exact
    for n, c, k in [(20, 4, 7), (50, 10, 1), (200, 1, 100)]:
        assert stats.pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))
    with pytest.raises(ValueError):
        stats.pass_at_k(3, 1, 4)


def test_majority_and_consistency() -> None:
    assert stats.majority_vote(["42", "41", "42"], [1.0, 0.0, 1.0]) == 1.0
    assert stats.majority_vote(["41", "42", "41"], [0.0, 1.0, 0.0]) == 0.0
    assert stats.majority_vote(["b", "a"], [0.0, 1.0]) == 0.0  # tie: the answer seen first
    assert stats.consistency(["42", "41", "42"]) == pytest.approx(2 / 3)
    assert stats.consistency(["x", "x", "x"]) == 1.0


def test_percentiles_match_linear_interpolation() -> None:
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert stats.percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
    assert stats.percentile([7.0], 95) == 7.0


def test_mcnemar_exact_known_values() -> None:
    assert stats.mcnemar_exact(1, 9) == pytest.approx(0.021484375)  # 2 * (1 + 10) / 1024
    assert round(stats.mcnemar_exact(1, 9), 5) == 0.02148
    assert stats.mcnemar_exact(0, 5) == pytest.approx(0.0625)
    assert stats.mcnemar_exact(5, 5) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0


def test_paired_compare_pass_fail_uses_mcnemar() -> None:
    # 20 items: both pass 6, a only 9, b only 1, both fail 4
    a = [1.0] * 6 + [1.0] * 9 + [0.0] * 1 + [0.0] * 4
    b = [1.0] * 6 + [0.0] * 9 + [1.0] * 1 + [0.0] * 4
    r = stats.paired_compare(a, b, seed=0)
    assert r.test == "mcnemar-exact" and (r.a_only, r.b_only) == (9, 1)
    assert r.n == 20 and r.diff == pytest.approx(0.4)
    assert r.p_value == pytest.approx(0.021484375)
    assert r.low < 0.4 < r.high


def test_paired_bootstrap_graded() -> None:
    a = [0.9, 0.8, 0.7, 1.0, 0.6, 0.9, 0.8, 0.7]
    b = [x - 0.2 for x in a]
    d, lo, hi, p = stats.paired_bootstrap(a, b)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.2) and hi == pytest.approx(0.2) and p == 0.0
    b2 = [0.5, 0.9, 0.6, 0.7, 0.7, 0.6, 0.9, 0.5]
    r = stats.paired_compare(a, b2, seed=1)
    assert r.test == "paired-bootstrap" and r.diff == pytest.approx(stats.mean(a) - stats.mean(b2))
    assert r.low <= r.diff <= r.high and 0 < r.p_value <= 1


def test_cross_check_with_scipy_when_installed() -> None:
    sp = pytest.importorskip("scipy.stats")
    # exact McNemar is the two-sided binomial test on the discordant pairs
    for b, c in [(1, 9), (3, 12), (7, 8), (0, 4)]:
        assert stats.mcnemar_exact(b, c) == pytest.approx(sp.binomtest(b, b + c, 0.5).pvalue)
    # Wilson interval
    for k, n in [(8, 10), (37, 50), (1, 200)]:
        ci = sp.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert stats.wilson_ci(k, n) == pytest.approx((ci.low, ci.high), abs=1e-9)
    # percentile bootstrap: same method, different random streams → close, not equal
    import random

    rng = random.Random(5)
    xs = [rng.random() for _ in range(60)]
    ours = stats.bootstrap_ci(xs, resamples=4000)
    import numpy as np

    theirs = sp.bootstrap((xs,), np.mean, method="percentile", n_resamples=4000, random_state=5).confidence_interval
    assert ours == pytest.approx((theirs.low, theirs.high), abs=0.02)
