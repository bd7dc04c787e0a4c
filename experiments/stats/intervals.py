"""Intervals over seeds: Student t, Bonferroni-adjusted families, and the seeds a comparison needs.

The unit of replication is the seed (one population with its own luck, shared by every policy under
common random numbers), so a comparison rests on the per-seed differences ``b - a``: typically 3 to 30
numbers. With so few, a percentile bootstrap is too narrow (it covers the true mean about 75% of the
time at 3 seeds); the Student-t interval (quantiles from ``scipy.stats``) is exact for normal
differences and covers at least 93% at 2-30 seeds for differences as skewed as a gamma(4) (skewness
1), more than any seed-level difference measured in siyu runs (at most 0.92). ``docs/statistics.md``
gives the coverage measured by simulation, the skewness measured on real runs, and where t falls short.

Several policies compared at once are corrected by Bonferroni: with ``comparisons = k`` every interval
is a ``1 - 0.05 / k`` interval, so that all ``k`` hold together with probability at least 95%, and a
difference is *significant* exactly when its interval excludes zero. The p-value is the one that
inverts the same interval (significant iff ``p_adjusted = min(1, k p) < 0.05``), so flag, interval and
p-value can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
"""Family-wise error rate: the intervals of one family jointly cover with probability at least 95%."""
UNDERPOWERED_BELOW = 5
"""Fewer seeds than this make a comparison underpowered (see :func:`underpowered`)."""
MAX_SEEDS = 1000
"""Cap of :func:`seeds_to_resolve`: beyond it a difference is too small to resolve by adding seeds."""


def level(comparisons: int = 1) -> float:
    """Confidence level of each interval in a family of ``comparisons`` (Bonferroni): 0.95, 0.975, ..."""
    return 1.0 - ALPHA / max(int(comparisons), 1)


def t_quantile(df: int, comparisons: int = 1) -> float:
    """Two-sided Student-t quantile for :func:`level` with ``df`` degrees of freedom (inf when df < 1)."""
    if df < 1:
        return math.inf
    from scipy import stats  # imported on first use: keeps scipy.stats out of every CLI start
    return float(stats.t.ppf(1.0 - ALPHA / (2.0 * max(int(comparisons), 1)), df))


def t95(df: int) -> float:
    """Two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    return t_quantile(df, 1)


@dataclass(frozen=True)
class PairedDiff:
    """Mean of the per-seed differences with its interval, p-values and Bonferroni family size.

    ``ci_low``/``ci_high`` are a :func:`level` ``(comparisons)`` interval; ``p_value`` is unadjusted
    and ``p_adjusted = min(1, comparisons * p_value)``. Bounds and p-values are NaN below two seeds.
    """

    mean: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float = math.nan
    sd: float = math.nan
    comparisons: int = 1

    @property
    def level(self) -> float:
        """Confidence level of the interval (0.95 for a single comparison)."""
        return level(self.comparisons)

    @property
    def p_adjusted(self) -> float:
        """Bonferroni-adjusted p-value: below 0.05 exactly when the interval excludes zero."""
        return min(1.0, self.comparisons * self.p_value) if not math.isnan(self.p_value) else math.nan

    @property
    def significant(self) -> bool:
        """The interval excludes zero (with NaN bounds: no)."""
        return self.ci_low > 0 or self.ci_high < 0


def t_intervals(d: np.ndarray, comparisons: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`interval` over rows: ``d`` has shape (..., n seeds); returns mean, low, high, p.

    The interval is ``mean +- q sd / sqrt(n)``, q the t quantile with ``n - 1`` degrees of freedom; ``p``
    is the two-sided one-sample t-test of mean zero (what ``scipy.stats.ttest_1samp`` gives), so
    ``min(1, comparisons * p) < 0.05`` exactly when the interval excludes zero. Rows with no spread get
    a point interval and p = 0 (or 1 when the mean is 0); below two seeds everything but the mean is NaN.
    """
    d = np.asarray(d, np.float64)
    n = d.shape[-1]
    mean = d.mean(axis=-1) if n else np.full(d.shape[:-1], math.nan)
    if n < 2:
        nan = np.full(mean.shape, math.nan)
        return mean, nan, nan.copy(), nan.copy()
    from scipy import stats
    se = d.std(axis=-1, ddof=1) / math.sqrt(n)
    half = t_quantile(n - 1, comparisons) * se
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2.0 * stats.t.sf(np.abs(mean) / se, n - 1), np.where(mean == 0, 1.0, 0.0))
    return mean, mean - half, mean + half, np.minimum(p, 1.0)


def interval(d: np.ndarray, comparisons: int = 1) -> PairedDiff:
    """Mean of ``d`` with its Student-t interval at :func:`level` ``(comparisons)`` and the matching p-value.

    See :func:`t_intervals`; ``scipy.stats.ttest_1samp(d, 0)`` gives the same p-value and (at 95%) interval.
    """
    d = np.asarray(d, np.float64).ravel()
    mean, low, high, p = t_intervals(d, comparisons)
    sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
    return PairedDiff(float(mean), float(low), float(high), d.size, float(p), sd, comparisons)


def paired_diff(a: np.ndarray, b: np.ndarray, comparisons: int = 1) -> PairedDiff:
    """Interval of the mean paired difference ``b - a`` (seed ``i`` of ``a`` with seed ``i`` of ``b``)."""
    return interval(np.asarray(b, np.float64) - np.asarray(a, np.float64), comparisons)


def underpowered(n: int) -> bool:
    """Fewer than :data:`UNDERPOWERED_BELOW` seeds.

    Why five: below it the t quantile is at least 3.18 (at 4 seeds; 4.30 at 3, 12.7 at 2) against 1.96
    for a known spread, so an interval is over 1.6 times as wide as the data could support, the sample
    spread itself is off by a factor of two one time in ten, and skewness cannot be estimated at all.
    """
    return n < UNDERPOWERED_BELOW


def seeds_needed(sd: float, half_width: float, comparisons: int = 1, max_seeds: int = 100_000) -> int:
    """Smallest number of seeds whose t interval (at :func:`level`) has half-width at most ``half_width``.

    Why: under common random numbers the per-seed differences vary much less than the metrics
    themselves, so a few seeds often suffice; this says how many for a target precision. Returns
    ``max_seeds`` when even that many are not enough.
    """
    if not half_width > 0:
        raise ValueError(f"half_width must be > 0, got {half_width}")
    if not sd > 0:
        return 2
    from scipy import stats
    z = float(stats.norm.ppf(1.0 - ALPHA / (2.0 * max(int(comparisons), 1))))
    n = max(2, math.ceil((z * sd / half_width) ** 2))
    while n < max_seeds and t_quantile(n - 1, comparisons) * sd / math.sqrt(n) > half_width:
        n += 1
    return min(n, max_seeds)


def seeds_for(diffs: np.ndarray, half_width: float, comparisons: int = 1) -> int:
    """:func:`seeds_needed` from observed per-seed paired differences (their sample sd)."""
    d = np.asarray(diffs, np.float64)
    if d.size < 2:
        raise ValueError(f"diffs: need at least 2 paired differences to estimate their spread, got {d.size}")
    return seeds_needed(float(d.std(ddof=1)), half_width, comparisons)


def seeds_to_resolve(diffs: np.ndarray, comparisons: int = 1) -> int | None:
    """Seeds at which the interval's half-width would fall below the observed ``|mean difference|``.

    Taken from the observed sd and mean of the per-seed differences (so it is itself an estimate).
    None when that is more than :data:`MAX_SEEDS` (a difference of about zero) or cannot be estimated
    (fewer than 2 differences).
    """
    d = np.asarray(diffs, np.float64)
    if d.size < 2:
        return None
    gap = abs(float(d.mean()))
    if not gap > 0:
        return None
    n = seeds_needed(float(d.std(ddof=1)), gap, comparisons, max_seeds=MAX_SEEDS + 1)
    return None if n > MAX_SEEDS else n


def seeds_text(n: int | None) -> str:
    """How :func:`seeds_to_resolve` reads in a sentence: '12 seeds' or 'more than 1,000 seeds'."""
    return f"more than {MAX_SEEDS:,} seeds" if n is None else f"{n:,} seed" + ("s" if n != 1 else "")
