"""BG/NBD (Fader, Hardie and Lee 2005): the customer-base model a forecast is compared with.

Fitted by maximum likelihood on the same histories (time in weeks, as published); the holdout forecast
is each customer's conditional expectation E[Y(t) | x, t_x, T] summed over the cohort. Checked in the
tests against the published CDNOW estimates (r = 0.243, alpha = 4.414, a = 0.793, b = 2.426).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


def loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Log-likelihood of each history under BG/NBD with ``params`` = (r, alpha, a, b)."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Maximum-likelihood (r, alpha, a, b)."""
    def nll(p: np.ndarray) -> float:
        return -float(loglik(np.exp(p), x, t_x, T).sum())
    best = None
    for start in ([0.0, 0.0, 0.0, 0.0], [np.log(0.25), np.log(4.0), np.log(0.8), np.log(2.5)]):
        res = minimize(nll, np.array(start), method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-9,
                                                                             "maxiter": 4000})
        if best is None or res.fun < best.fun:
            best = res
    return np.exp(best.x)


def expected(params: np.ndarray, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's expected transactions in the ``t`` periods after ``T``, given their history."""
    r, alpha, a, b = params
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    den = 1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return num / den
