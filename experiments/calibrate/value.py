"""Order values by maximum likelihood: a lognormal across customers, with noise within a customer.

The engine gives each customer one list price (``population.order_value_median`` and
``order_value_sigma`` set its lognormal) and, without discounts, every order costs exactly that. Real
orders vary around a customer's usual amount, so the log amount of order j of customer i is
``m_i + e_ij`` with ``m_i ~ N(log median, sigma^2)`` and ``e_ij ~ N(0, w^2)``: the customer means are
``N(log median, sigma^2 + w^2 / n_i)``, with ``w^2`` pooled from the within-customer spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from experiments.calibrate.history import Histories


SIGMA_FLOOR = 1e-3
"""Smallest spread of order values across customers (log-sd) the fit reports.

A brand selling one product at one price has every customer pay alike: the likelihood then grows without bound as
the spread goes to 0 (and with iid amounts its maximum is at 0). The spread is held at this floor there, with no
standard error.
"""


@dataclass(frozen=True)
class ValueFit:
    """Fitted median (yuan) and log-sd of customers' usual order value, with standard errors."""

    median: float
    median_se: float
    sigma: float
    sigma_se: float
    within_sigma: float


def fit_values(h: Histories) -> ValueFit:
    """Maximum-likelihood fit over customers with at least one positive order."""
    ok = h.orders > 0
    m, k = h.log_value[ok], h.orders[ok].astype(np.float64)
    within = h.log_sq[ok] - k * m * m
    dof = float((k - 1).sum())
    w2 = max(float(within.sum()) / dof, 0.0) if dof > 0 else 0.0

    floor = np.log(SIGMA_FLOOR)

    def nll(p: np.ndarray) -> float:
        var = np.exp(2 * max(p[1], floor)) + w2 / k
        return 0.5 * float(np.sum(np.log(var) + (m - p[0]) ** 2 / var))

    p0 = np.array([float(np.median(m)), np.log(max(float(m.std()), SIGMA_FLOOR))])
    res = minimize(nll, p0, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10})
    mu, log_sigma = res.x
    hessian = _hessian(nll, res.x)
    if log_sigma - 1e-3 <= floor:  # at the floor: no spread to measure, and the median's error alone
        sigma, cov = SIGMA_FLOOR, np.diag([1.0 / hessian[0, 0], 0.0])
    else:
        sigma, cov = float(np.exp(log_sigma)), np.linalg.inv(hessian)
    return ValueFit(float(np.exp(mu)), float(np.exp(mu) * np.sqrt(cov[0, 0])), sigma,
                    float(sigma * np.sqrt(cov[1, 1])), float(np.sqrt(w2)))


def _hessian(f, x: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    k = x.size
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            di, dj = np.eye(k)[i] * eps, np.eye(k)[j] * eps
            out[i, j] = (f(x + di + dj) - f(x + di - dj) - f(x - di + dj) + f(x - di - dj)) / (4 * eps * eps)
    return out
