"""Paired statistics under common random numbers: every policy ran on the same seeds.

The unit of replication is the seed: one seed is one population with its own luck, shared by all
policies. A comparison takes the per-seed differences ``b - a`` of one metric and reports their mean
with a seeded percentile bootstrap 95% interval and a bootstrap p-value; several policies compared
with one reference are corrected with Holm's step-down method (family-wise error 5%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# two-sided 95% Student t quantiles by degrees of freedom (1..30); beyond, the normal's 1.96
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

ALPHA = 0.05
"""Family-wise error rate of the significance flags."""
N_BOOT = 10_000
"""Bootstrap resamples per interval."""
BOOT_SEED = 20_240_601
"""Seed of the bootstrap resampling: the same data always give the same interval."""
MIN_BOOT_SEEDS = 3
"""Fewer seeds than this give no interval: a bootstrap of two values is degenerate."""


def t95(df: int) -> float:
    """Two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.inf
    return _T95[df - 1] if df <= len(_T95) else 1.96 + 2.4 / df


@dataclass(frozen=True)
class PairedDiff:
    """Mean of ``b - a`` over paired seeds with its 95% interval and two-sided p-value."""

    mean: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float = math.nan

    @property
    def significant(self) -> bool:
        """The interval excludes zero (uncorrected; see :func:`holm` for several policies)."""
        return self.ci_low > 0 or self.ci_high < 0


def paired_diff(a: np.ndarray, b: np.ndarray) -> PairedDiff:
    """Paired t interval of the mean difference ``b - a`` (NaN bounds with a single pair)."""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    n = d.size
    m = float(d.mean()) if n else math.nan
    if n < 2:
        return PairedDiff(m, math.nan, math.nan, n)
    half = t95(n - 1) * float(d.std(ddof=1)) / math.sqrt(n)
    return PairedDiff(m, m - half, m + half, n)


def bootstrap_indices(n: int, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """Resampling plan, shape (n_boot, n): the same plan for every policy keeps comparisons paired."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def bootstrap_diff(a: np.ndarray, b: np.ndarray, plan: np.ndarray | None = None) -> PairedDiff:
    """Percentile-bootstrap 95% interval and p-value of the mean paired difference ``b - a``.

    The p-value is the share of centred bootstrap means at least as far from zero as the observed
    mean (plus one, so it is never exactly zero). Below :data:`MIN_BOOT_SEEDS` pairs the interval and
    p-value are NaN. ``plan`` (from :func:`bootstrap_indices`) defaults to the seeded plan.
    """
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    n = d.size
    m = float(d.mean()) if n else math.nan
    if n < MIN_BOOT_SEEDS:
        return PairedDiff(m, math.nan, math.nan, n)
    idx = bootstrap_indices(n) if plan is None else plan
    means = d[idx].mean(axis=1)
    lo, hi = np.quantile(means, [ALPHA / 2, 1 - ALPHA / 2])
    extreme = np.abs(means - m) >= abs(m) - 1e-12 * max(abs(m), 1.0)
    p = (1.0 + float(extreme.sum())) / (idx.shape[0] + 1.0)
    return PairedDiff(m, float(lo), float(hi), n, min(p, 1.0))


def bootstrap_mean(x: np.ndarray, plan: np.ndarray | None = None) -> tuple[float, float, float]:
    """Mean of ``x`` with its percentile-bootstrap 95% interval (NaN bounds below 3 values)."""
    zero = np.zeros_like(np.asarray(x, np.float64))
    d = bootstrap_diff(zero, x, plan)
    return d.mean, d.ci_low, d.ci_high


def holm(p_values: np.ndarray | list[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN); reject where adjusted < :data:`ALPHA`."""
    p = np.asarray(p_values, np.float64)
    out = np.full(p.shape, math.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    running = 0.0
    for rank, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def seeds_needed(sd: float, half_width: float, max_seeds: int = 100_000) -> int:
    """Seeds for a paired 95% t interval of half-width ``half_width`` given the per-seed sd of the difference.

    Why: under common random numbers the per-seed differences vary much less than the metrics
    themselves, so a few seeds often suffice; this says how many for a target precision.
    """
    if half_width <= 0:
        raise ValueError(f"half_width must be > 0, got {half_width}")
    if not sd > 0:
        return 2
    n = max(2, math.ceil((1.96 * sd / half_width) ** 2))
    while n < max_seeds and t95(n - 1) * sd / math.sqrt(n) > half_width:
        n += 1
    return n


def seeds_for(diffs: np.ndarray, half_width: float) -> int:
    """:func:`seeds_needed` from observed per-seed paired differences (their sample sd)."""
    d = np.asarray(diffs, np.float64)
    if d.size < 2:
        raise ValueError("need at least 2 paired differences to estimate their spread")
    return seeds_needed(float(d.std(ddof=1)), half_width)
