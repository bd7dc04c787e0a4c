"""BG/NBD (Fader, Hardie and Lee 2005): the customer-base model a forecast is compared with.

Fitted by maximum likelihood on the same histories (time in weeks, as published); the holdout forecast
is each customer's conditional expectation E[Y(t) | x, t_x, T] summed over the cohort. Checked in the
tests against the published CDNOW estimates (r = 0.243, alpha = 4.414, a = 0.793, b = 2.426).

A log with little heterogeneity or no dropout (an engine log of regular buyers) has its likelihood's supremum
at the edge of the parameter space (r and alpha without bound at a fixed rate r / alpha: a Poisson rate; a / b
towards 0: nobody drops out). The likelihood is therefore summed exactly rather than as differences of
log-gammas, which at r ~ 1e12 cancel to rounding noise a search can settle in (a log-likelihood of +25,536
once), and the search keeps to :data:`BOX`, where the conditional expectation's 2F1 is still accurate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.special import hyp2f1

BOX = np.log([(1e-4, 1e4), (1e-4, 1e7), (1e-8, 1e4), (1e-8, 1e6)])
"""Bounds of the search in log (r, alpha, a, b): where :func:`expected`'s 2F1 holds to about 1e-7 (checked against
mpmath at rates r / alpha from 0.001 to 10 a week). Their edges stand for the limits a log may want (r = 1e4: a
Poisson rate within a variance of 1e-4 of its square; a = 1e-8: nobody drops out)."""
STARTS = ([0.0, 0.0, 0.0, 0.0], [np.log(0.25), np.log(4.0), np.log(0.8), np.log(2.5)])
"""Log-parameter starts of the search: all ones, and near the published CDNOW estimates."""


def _rising_sum(term: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``sum(term(j) for j in range(x))`` for each whole count ``x`` (``term`` vectorised over j)."""
    top = int(x.max()) if x.size else 0
    return np.concatenate(([0.0], np.cumsum(term(np.arange(top, dtype=np.float64)))))[x]


def loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Log-likelihood of each history under BG/NBD with ``params`` = (r, alpha, a, b).

    ``x`` holds whole counts of repeat transactions, so that log Gamma(r + x) / Gamma(r) - x log r and
    log B(a, b + x) / B(a, b) are the sums over j < x of log1p(j / r) and -log1p(a / (b + j)): no cancellation
    at any scale.
    """
    r, alpha, a, b = params
    n = np.rint(x).astype(np.int64)
    if not np.array_equal(n, x):
        raise ValueError("BG/NBD needs whole transaction counts")
    rising = _rising_sum(lambda j: np.log1p(j / r), n)  # log Gamma(r + x) / Gamma(r) - x log r

    def nbd(t: np.ndarray) -> np.ndarray:  # log of Gamma(r + x) alpha^r / (Gamma(r) (alpha + t)^(r + x))
        return rising + n * (np.log(r) - np.log(alpha + t)) - r * np.log1p(t / alpha)

    beta = -_rising_sum(lambda j: np.log1p(a / (b + j)), n)  # log B(a, b + x) / B(a, b)
    # a death after the last purchase (none without one); b + x - 1 is 0 only at x = 0, which np.where drops
    dead = np.where(n > 0, nbd(t_x) + np.log(a) - np.log(np.maximum(b + n - 1, 1e-300)), -np.inf)
    return beta + np.logaddexp(nbd(T), dead)


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood (r, alpha, a, b) within :data:`BOX`; ``weights``: customers sharing each history.

    Quasi-Newton from each of :data:`STARTS`, then Nelder-Mead from the best end: the likelihood is flat along
    the no-dropout edge, where either method alone may stop short.
    """
    w = 1.0 if weights is None else weights  # times one: the plain sum, to the bit

    def nll(p: np.ndarray) -> float:
        return -float((w * loglik(np.exp(p), x, t_x, T)).sum())
    ends = [minimize(nll, np.array(start), method="L-BFGS-B", bounds=BOX) for start in STARTS]
    best = minimize(nll, min(ends, key=lambda res: res.fun).x, method="Nelder-Mead", bounds=BOX,
                    options={"xatol": 1e-8, "fatol": 1e-9, "maxiter": 4000})
    return np.exp(min([best, *ends], key=lambda res: res.fun).x)


A_GAP = 1e-4
"""Half-width of the interval around a = 1 where :func:`expected` interpolates between its values at 1 -+ A_GAP."""


def expected(params: np.ndarray, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's expected transactions in the ``t`` periods after ``T``, given their history.

    c / (a - 1) times 1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; c; t / (alpha + T + t)) with
    c = a + b + x - 1, as published, while t > alpha + T; otherwise its Euler transform 1 - 2F1(r + x, a - 1; c;
    -t / (alpha + T)), which stays accurate at a large b (nobody drops out) where the published form drifts: scipy's
    2F1 fails in a different corner for each.

    At a = 1 both are 0 / 0, and near it the difference from 1 loses digits (about 1e-16 / |a - 1| of the value).
    The expectation is smooth in a (a mean over the dropout probability p ~ beta(a, b + x) of a smooth function of
    p), so within :data:`A_GAP` of 1 it is interpolated linearly between a = 1 - A_GAP and 1 + A_GAP: an error of
    about A_GAP^2 = 1e-8 relative times the curvature in a (itself of order 1), against 1e-12 from lost digits there.
    """
    r, alpha, a, b = params
    if abs(a - 1.0) < A_GAP:
        lo = _expected(np.array([r, alpha, 1.0 - A_GAP, b]), t, x, t_x, T)
        hi = _expected(np.array([r, alpha, 1.0 + A_GAP, b]), t, x, t_x, T)
        return lo + (a - 1.0 + A_GAP) / (2.0 * A_GAP) * (hi - lo)
    return _expected(params, t, x, t_x, T)


def _expected(params: np.ndarray, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params
    x, T = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(T, np.float64))
    c = a + b + x - 1
    euler = t <= alpha + T
    part = np.empty(x.shape)  # the expression above; c / (a - 1) times it is E[Y(t)] of a customer still alive
    part[euler] = 1 - hyp2f1(r + x[euler], a - 1, c[euler], -t / (alpha + T[euler]))
    far = ~euler
    part[far] = 1 - ((alpha + T[far]) / (alpha + T[far] + t)) ** (r + x[far]) * hyp2f1(
        r + x[far], b + x[far], c[far], t / (alpha + T[far] + t))
    den = 1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return c / (a - 1) * part / den
