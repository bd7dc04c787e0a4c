"""90% intervals of positive fitted values on the log scale: each alone, and the joint region projected.

The estimator's errors run along a ridge between the cycle median and its spread, so +-1.645 SE of one log
parameter misses truths that lie up the ridge. The region {t : (t - t_hat)' V^-1 (t - t_hat) <= chi2_k(0.90)}
holds all k log parameters jointly; its shadow on parameter i is t_hat_i +- sqrt(chi2_k(0.90) V_ii), wider than
the marginal interval (2.146 SE for k = 2) and conservative for one parameter alone.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

LEVEL = 0.90
Z90 = 1.6449
"""Normal quantile of a two-sided 90% interval."""
LOG_HUGE = 700.0
"""Log-scale half-widths above this have no finite bound (exp overflows near 709)."""


def log_interval(value: float, half: float) -> tuple[float, float]:
    """``value`` times exp(+- ``half``), or 0 to infinity when ``half`` is too wide for a finite bound."""
    if half > LOG_HUGE:  # the log does not tell this parameter: no bound at all
        return 0.0, math.inf
    f = math.exp(half)
    return value / f, value * f


def interval(value: float, se: float, z: float = Z90) -> tuple[float, float]:
    """The 90% interval of a positive fitted value on the log scale: exp(log value +- z SE/value).

    The forecast draws the fitted values lognormally with the same log-scale spread (the covariance at the end of
    ``scenario.toml``), so the interval and the draws agree; on engine logs the estimates' spread is skewed up.
    """
    if not (value > 0 and math.isfinite(se)):
        return value - z * se, value + z * se
    return log_interval(value, z * se / value)


def projected_interval(value: float, log_var: float, k: int, level: float = LEVEL) -> tuple[float, float]:
    """``value`` times exp(+- sqrt(chi2_k(level) ``log_var``)): the joint region's shadow on one positive parameter."""
    return log_interval(value, math.sqrt(chi2.ppf(level, k) * max(log_var, 0.0)))


def projected_intervals(values: dict[str, float], names: tuple[str, ...] | list[str], covariance: np.ndarray,
                        level: float = LEVEL) -> dict[str, tuple[float, float]]:
    """The projected interval of each of ``names`` (jointly fitted; ``covariance`` that of their logs)."""
    cov = np.atleast_2d(np.asarray(covariance, dtype=float))
    return {n: projected_interval(values[n], float(cov[i, i]), len(names), level) for i, n in enumerate(names)}
