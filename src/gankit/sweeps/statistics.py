"""Statistics for comparing techniques over seeds: mean and standard error, and Welch's interval for a difference.

Welch (1947): for samples a (n_a values) and b (n_b values) with sample variances s_a^2 and s_b^2, the difference of
means mean(a) - mean(b) has standard error se = sqrt(s_a^2/n_a + s_b^2/n_b) and, approximately, a t distribution with
the Welch-Satterthwaite degrees of freedom df = se^4 / ((s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1)).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from scipy.stats import t as student_t  # scipy comes with scikit-learn

LEVEL = 0.95


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and standard error of the mean of n values (nan where undefined)."""

    mean: float
    std: float
    sem: float
    n: int


@dataclass(frozen=True)
class Difference:
    """mean(a) - mean(b) with its `level` interval [low, high]; nan bounds where it is undefined."""

    estimate: float
    low: float
    high: float
    df: float
    level: float = LEVEL

    @property
    def excludes_zero(self) -> bool:
        """True when the interval is defined and lies entirely above or below 0."""
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)


def summarise(values: list[float]) -> Summary:
    n = len(values)
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, 0)
    mean = statistics.fmean(values)
    if n == 1:
        return Summary(mean, math.nan, math.nan, 1)
    std = statistics.stdev(values)
    return Summary(mean, std, std / math.sqrt(n), n)


def welch_difference(a: list[float], b: list[float], level: float = LEVEL) -> Difference:
    """mean(a) - mean(b) with Welch's t interval; the bounds are nan unless both have 2+ values and some spread."""
    sa, sb = summarise(a), summarise(b)
    estimate = sa.mean - sb.mean
    if sa.n < 2 or sb.n < 2:
        return Difference(estimate, math.nan, math.nan, math.nan, level)
    va, vb = sa.std**2 / sa.n, sb.std**2 / sb.n  # squared standard errors
    se = math.sqrt(va + vb)
    if se == 0:  # every run of both rows gave the same value: no spread to build an interval from
        return Difference(estimate, math.nan, math.nan, math.nan, level)
    df = (va + vb) ** 2 / (va**2 / (sa.n - 1) + vb**2 / (sb.n - 1))
    half = float(student_t.ppf((1 + level) / 2, df)) * se
    return Difference(estimate, estimate - half, estimate + half, df, level)
