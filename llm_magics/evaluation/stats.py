"""Statistics for `%%eval`, in pure Python (no numpy/scipy): small, exact and seeded.

Why each method:

- **Wilson score interval** for a pass rate: unlike the normal (Wald) interval it stays inside
  [0, 1] and keeps its coverage at 0/n, n/n and small n (Brown, Cai & DasGupta 2001).
- **Percentile bootstrap** for any other mean (graded scores, per-item means with repeats):
  no distributional assumption; seeded so a saved notebook shows the same interval every run.
- **pass@k**, the unbiased estimator of Chen et al. 2021 (HumanEval): with n samples of which c
  pass, ``1 - C(n-c, k) / C(n, k)``, computed as a product so large n cannot overflow.
- **Exact McNemar** for two models graded pass/fail on the same items: only discordant items
  carry information; under H0 each is a fair coin, so the two-sided p-value is a binomial tail.
- **Paired bootstrap** for two models' graded scores on the same items: resample items, keep
  the pairing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

__all__ = [
    "Z95",
    "Interval",
    "Paired",
    "wilson_ci",
    "bootstrap_ci",
    "mean",
    "mean_ci",
    "is_binary",
    "pass_at_k",
    "majority_vote",
    "consistency",
    "percentile",
    "mcnemar_exact",
    "paired_bootstrap",
    "paired_compare",
]

#: The two-sided 95% normal quantile, Φ⁻¹(0.975).
Z95 = 1.959963984540054
#: Bootstrap resamples: enough for a stable 95% percentile interval (±0.005 on a 0–1 score).
RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95% interval; `method` says how it was computed."""

    value: float
    low: float
    high: float
    method: str  # "wilson" | "bootstrap" | "exact" (n = 1, no spread)

    @property
    def half_width(self) -> float:
        return max(self.value - self.low, self.high - self.value)


@dataclass(frozen=True)
class Paired:
    """`a − b` on the items both answered, its 95% interval and a two-sided p-value."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    p_value: float
    test: str  # "mcnemar-exact" | "paired-bootstrap"
    #: Discordant counts for pass/fail: a passed & b failed, a failed & b passed.
    a_only: int | None = None
    b_only: int | None = None


def mean(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def is_binary(values: Sequence[float]) -> bool:
    """Every value is 0 or 1 (a pass/fail score, whatever scorer produced it)."""
    return all(v == 0.0 or v == 1.0 for v in values)


def wilson_ci(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for `successes` out of `n` (8/10 → (0.4902, 0.9433))."""
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return low, high


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between order statistics.

    The same definition as numpy's default (`method="linear"`), so p50 is the median.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def bootstrap_ci(
    values: Sequence[float],
    *,
    statistic: Callable[[Sequence[float]], float] = mean,
    confidence: float = 0.95,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Seeded percentile bootstrap interval of `statistic` over `values`."""
    if not values:
        raise ValueError("bootstrap of no values")
    n = len(values)
    if n == 1 or min(values) == max(values):
        v = statistic(values)
        return v, v
    rng = random.Random(seed)
    pool = list(values)
    stats = sorted(statistic(rng.choices(pool, k=n)) for _ in range(resamples))
    alpha = (1 - confidence) / 2
    return percentile(stats, 100 * alpha), percentile(stats, 100 * (1 - alpha))


def mean_ci(values: Sequence[float], *, seed: int = 0) -> Interval:
    """Mean with a 95% interval: Wilson when every value is pass/fail, else bootstrap."""
    m = mean(values)
    if is_binary(values):
        lo, hi = wilson_ci(int(round(math.fsum(values))), len(values))
        return Interval(m, lo, hi, "wilson")
    if len(values) == 1:
        return Interval(m, m, m, "exact")
    lo, hi = bootstrap_ci(values, seed=seed)
    return Interval(m, lo, hi, "bootstrap")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct: 1 − C(n−c, k) / C(n, k).

    Written as 1 − ∏_{i=n−c+1}^{n} (1 − k/i) (Chen et al. 2021, fig. 3) for numerical stability.
    """
    if not 0 <= c <= n:
        raise ValueError(f"c must be in [0, {n}], got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n={n}], got {k}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def majority_vote(keys: Sequence[Hashable], scores: Sequence[float]) -> float:
    """maj@k for one item: the score of the most frequent answer among the k samples.

    `keys[i]` is sample i's extracted answer (e.g. the number or option letter), `scores[i]` its
    score. Ties go to the answer seen first, so the result is deterministic.
    """
    if len(keys) != len(scores) or not keys:
        raise ValueError("majority_vote needs one score per key, at least one")
    counts: dict[Hashable, int] = {}
    first: dict[Hashable, int] = {}
    for i, key in enumerate(keys):
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, i)
    best = max(counts, key=lambda key: (counts[key], -first[key]))
    return float(scores[first[best]])


def consistency(keys: Sequence[Hashable]) -> float:
    """Share of an item's samples that give its most frequent answer (1.0 = always the same)."""
    if not keys:
        raise ValueError("consistency of no samples")
    counts: dict[Hashable, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values()) / len(keys)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b and c.

    Under H0 each of the n = b + c discordant items is a fair coin:
    p = min(1, 2 · P[X ≤ min(b, c)]) with X ~ Binomial(n, ½) (b=1, c=9 → 0.02148).
    """
    if b < 0 or c < 0:
        raise ValueError("counts must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / (1 << n)  # exact ints, one rounding
    return min(1.0, 2 * tail)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float, float, float]:
    """(mean difference a − b, CI low, CI high, two-sided p-value), resampling items as pairs.

    The p-value is the share of resampled differences at least as far from the observed one as
    the observed one is from zero (the bootstrap distribution shifted to H0: no difference),
    with the usual +1 so it is never exactly 0.
    """
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    if not a:
        raise ValueError("paired bootstrap of no items")
    diffs = [x - y for x, y in zip(a, b)]
    d = mean(diffs)
    n = len(diffs)
    if max(diffs) - min(diffs) <= 1e-12 * max(1.0, abs(d)):  # no spread: the difference is certain
        return d, d, d, 1.0 if abs(d) <= 1e-12 else 0.0
    rng = random.Random(seed)
    boots = sorted(mean(rng.choices(diffs, k=n)) for _ in range(resamples))
    extreme = sum(1 for x in boots if abs(x - d) >= abs(d))
    p = (extreme + 1) / (resamples + 1)
    return d, percentile(boots, 2.5), percentile(boots, 97.5), min(1.0, p)


def paired_compare(a: Sequence[float], b: Sequence[float], *, seed: int = 0) -> Paired:
    """Compare two models on the same items: exact McNemar when both are pass/fail, else bootstrap.

    The interval of the difference is the paired bootstrap percentile interval in both cases.
    """
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    if not a:
        raise ValueError("no items that both answered")
    d, lo, hi, p = paired_bootstrap(a, b, seed=seed)
    ma, mb = mean(a), mean(b)
    if is_binary(a) and is_binary(b):
        a_only = sum(1 for x, y in zip(a, b) if x == 1.0 and y == 0.0)
        b_only = sum(1 for x, y in zip(a, b) if x == 0.0 and y == 1.0)
        return Paired(len(a), ma, mb, d, lo, hi, mcnemar_exact(a_only, b_only), "mcnemar-exact", a_only, b_only)
    return Paired(len(a), ma, mb, d, lo, hi, p, "paired-bootstrap")
