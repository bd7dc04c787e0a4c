"""Paired statistics under common random numbers: every policy ran on the same seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# two-sided 95% Student t quantiles by degrees of freedom (1..30); beyond, the normal's 1.96
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(df: int) -> float:
    """Two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.inf
    return _T95[df - 1] if df <= len(_T95) else 1.96 + 2.4 / df


@dataclass(frozen=True)
class PairedDiff:
    """Mean of ``b - a`` over paired draws with its 95% confidence interval."""

    mean: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def significant(self) -> bool:
        """The interval excludes zero."""
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
