"""The auxiliary customer-base model fitted by maximum likelihood: what the calibration matches.

A Pareto/NBD-type model with lognormal heterogeneity, in days: while alive, customer ``i`` buys as a
Poisson process of rate ``lambda_i = exp(mu + sigma z1)`` and leaves at rate
``delta_i = delta exp(0.5 z2 - 0.125)`` (the engine's own dropout spread, mean ``delta``), with z1, z2
independent standard normals. Conditioned on the first transaction, a history (x repeats, the last at
t_x, observed for T days) has the likelihood

    L(lambda, delta) = lambda^x [exp(-(lambda+delta) T) + delta/(lambda+delta) (exp(-(lambda+delta) t_x)
                                 - exp(-(lambda+delta) T))]

(Schmittlein, Morrison and Colombo 1987), integrated over z1, z2 by Gauss-Hermite quadrature. It is not
the engine's purchase process (need occasions come on a personal cycle, won with a salience-dependent
share; dropout rises as salience fades), so its parameters are not the engine's: indirect inference
(:mod:`~experiments.calibrate.fit`) maps them back. The model only has to be identified and to move
with the engine's parameters, which it does: mu with the cycle, sigma with the cycle spread, delta with dropout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy.optimize import minimize

from experiments.calibrate.history import Histories, distinct

BOUNDS = [(-12.0, 3.0), (-4.0, 1.5), (-12.0, -2.0)]
"""Search box of the auxiliary parameters (a dropout rate from one per 400 years to one per week)."""
NAMES = ("mu", "log_sigma", "log_delta")
"""Auxiliary parameters: log median purchase rate (1/day), log of its log-sd, log mean dropout rate (1/day)."""
DROPOUT_SPREAD = 0.5
"""Log-sd of the personal dropout rate, as the engine draws it (:func:`sim.state.generate`)."""
_Z1, _W1 = np.polynomial.hermite_e.hermegauss(16)
_Z2, _W2 = np.polynomial.hermite_e.hermegauss(5)
LOG_W = (np.log(_W1 / _W1.sum())[:, None] + np.log(_W2 / _W2.sum())[None, :]).ravel()
"""Log quadrature weights over the (z1, z2) grid, flattened."""
Z1 = np.repeat(_Z1, _Z2.size)
Z2 = np.tile(_Z2, _Z1.size)


@dataclass(frozen=True)
class AuxFit:
    """Maximum-likelihood fit of the auxiliary model: estimates, robust covariance, log-likelihood."""

    beta: np.ndarray
    cov: np.ndarray
    loglik: float
    n: int
    influence: np.ndarray
    """Each customer's influence on the estimates (n x 3; their sum of outer products is ``cov``)."""


def rates(beta: np.ndarray, z1: np.ndarray = Z1, z2: np.ndarray = Z2) -> tuple[np.ndarray, np.ndarray]:
    """Purchase and dropout rates (1/day) at standard-normal points ``z1``, ``z2``."""
    mu, log_sigma, log_delta = beta
    return np.exp(mu + np.exp(log_sigma) * z1), np.exp(log_delta + DROPOUT_SPREAD * z2 - 0.125)


def log_parts(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, lam: np.ndarray, delta: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood of each history at each rate pair, split: (alive at T, left before T).

    Arrays broadcast: histories as columns (n, 1), rate pairs as rows (k,). The two parts sum (in
    probability) to the likelihood; their ratio is the chance the customer is still alive.
    """
    s = lam + delta
    base = x * np.log(lam) - s * t_x
    gap = s * (T - t_x)
    alive = base - gap
    left = base + np.log(delta / s) + np.log(-np.expm1(-np.maximum(gap, 1e-300)))
    return alive, left


def loglik_rows(beta: np.ndarray, h: Histories | dict[str, np.ndarray]) -> np.ndarray:
    """Log-likelihood of each customer's history, integrated over the heterogeneity."""
    return loglik_and_scores(beta, h, scores=False)[0]


def loglik_and_scores(beta: np.ndarray, h: Histories | dict[str, np.ndarray], scores: bool = True
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Each history's log-likelihood and its gradient in ``beta`` (n x 3; n x 0 without ``scores``).

    The gradient is exact (differentiated through the quadrature), so the search needs one pass per
    step where finite differences needed four.
    """
    x, t_x, T = (_col(h, k)[:, 0] for k in ("x", "t_x", "T"))
    beta = np.asarray(beta, np.float64)
    lam, delta = rates(beta)
    p = beta.size if scores else 0
    d_lam, d_delta = np.zeros((lam.size, p)), np.zeros((lam.size, p))
    if scores:  # d rate / d (mu, log_sigma, log_delta) at each quadrature point
        d_lam[:, 0] = lam
        d_lam[:, 1] = lam * np.exp(beta[1]) * Z1
        d_delta[:, 2] = delta
    out, grad = np.empty(x.size), np.empty((x.size, p))
    _loglik_grad(x, t_x, T, lam, delta, LOG_W, d_lam, d_delta, out, grad)
    return out, grad


def _loglik(x, t_x, T, lam, delta, log_w, out):
    """:func:`log_parts` summed over the quadrature grid at rate pairs ``lam``, ``delta`` (no gradient)."""
    none = np.zeros((lam.size, 0))
    _loglik_grad(x, t_x, T, lam, delta, log_w, none, none, out, np.empty((x.size, 0)))


_CHUNK = 256
"""Histories a thread takes at a time in :func:`_loglik_grad`."""


@njit(cache=True, parallel=True)
def _loglik_grad(x, t_x, T, lam, delta, log_w, d_lam, d_delta, out, grad):  # pragma: no cover - jitted
    """:func:`log_parts` summed over the quadrature grid, one history at a time (the same formulas), with its gradient.

    The gradient goes through the rates' derivatives ``d_lam``, ``d_delta`` (k x p; p = 0: none).
    """
    k = lam.size
    p = d_lam.shape[1]
    log_lam = np.log(lam)
    log_share = np.log(delta / (lam + delta))  # each point's, once: the same values as inside the loop
    chunks = (x.size + _CHUNK - 1) // _CHUNK
    for c in prange(chunks):  # buffers once a chunk, not once a history
        terms = np.empty(k)
        g_lam = np.empty(k)
        g_delta = np.empty(k)
        for i in range(c * _CHUNK, min((c + 1) * _CHUNK, x.size)):
            top = -np.inf
            for j in range(k):
                s = lam[j] + delta[j]
                base = x[i] * log_lam[j] - s * t_x[i]
                gap = max(s * (T[i] - t_x[i]), 1e-300)
                alive = base - gap
                left = base + log_share[j] + np.log(-np.expm1(-gap))
                hi = max(alive, left)
                v = hi + np.log1p(np.exp(min(alive, left) - hi)) + log_w[j]
                terms[j] = v
                top = max(top, v)
                if p:
                    p_alive = np.exp(alive - (v - log_w[j]))
                    tail = (T[i] - t_x[i]) / np.expm1(gap)  # d log(1 - exp(-gap)) / d s
                    g_alive = x[i] / lam[j] - T[i]
                    g_left = x[i] / lam[j] - t_x[i] - 1.0 / s + tail
                    g_lam[j] = p_alive * g_alive + (1.0 - p_alive) * g_left
                    g_delta[j] = p_alive * -T[i] + (1.0 - p_alive) * (-t_x[i] + 1.0 / delta[j] - 1.0 / s + tail)
            acc = 0.0
            for j in range(k):
                acc += np.exp(terms[j] - top)
            out[i] = top + np.log(acc)
            for q in range(p):
                grad[i, q] = 0.0
            if p:
                for j in range(k):  # each point's posterior weight once, whatever p
                    weight = np.exp(terms[j] - out[i])
                    for q in range(p):
                        grad[i, q] += weight * (g_lam[j] * d_lam[j, q] + g_delta[j] * d_delta[j, q])


def _col(h: Histories | dict[str, np.ndarray], key: str) -> np.ndarray:
    v = h[key] if isinstance(h, dict) else getattr(h, key)
    return np.asarray(v, np.float64)[:, None]


def start(h: Histories) -> np.ndarray:
    """A starting point: the mean repeat rate, a unit spread, a dropout of one per ten mean spans."""
    rate = max(h.x.sum(), 1.0) / max(h.T.sum(), 1.0)
    return np.array([np.log(rate), 0.0, np.log(0.1 / max(h.T.mean(), 1.0))])


def fit(h: Histories, beta0: np.ndarray | None = None, covariance: bool = True) -> AuxFit:
    """Maximum likelihood, with the robust (sandwich) covariance of the estimates (NaN without ``covariance``)."""
    data, w, inverse = distinct(h)
    n = float(w.sum())

    def nll(b: np.ndarray) -> tuple[float, np.ndarray]:
        rows, grad = loglik_and_scores(b, data)
        return -float(w @ rows) / n, -(w @ grad) / n

    b0 = start(h) if beta0 is None else beta0
    res = minimize(nll, b0, jac=True, method="L-BFGS-B", bounds=BOUNDS, options={"ftol": 1e-12, "gtol": 1e-8})
    beta = res.x
    if not covariance:
        return AuxFit(beta, np.full((3, 3), np.nan), -n * float(res.fun), int(n), np.zeros((0, 3)))
    scores = loglik_and_scores(beta, data)[1]
    meat = (scores * w[:, None]).T @ scores
    bread = _jacobian(lambda b: n * nll(b)[1], beta)
    try:
        inv = np.linalg.inv(bread)
    except np.linalg.LinAlgError:
        inv = np.full((3, 3), np.nan)
    return AuxFit(beta, inv @ meat @ inv, -n * float(res.fun), int(n), (scores @ inv.T)[inverse])


def _scores(beta: np.ndarray, data: dict[str, np.ndarray], eps: float = 1e-5, rows=None) -> np.ndarray:
    """Per-history gradient of the log-likelihood ``rows`` (default :func:`loglik_rows`; central differences)."""
    rows = rows or loglik_rows
    out = np.empty((data["x"].size, beta.size))
    for k in range(beta.size):
        d = np.zeros_like(beta)
        d[k] = eps
        out[:, k] = (rows(beta + d, data) - rows(beta - d, data)) / (2 * eps)
    return out


def _hessian(f, beta: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Numerical Hessian of ``f`` at ``beta``."""
    k = beta.size
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            di = np.zeros(k)
            dj = np.zeros(k)
            di[i] = eps
            dj[j] = eps
            out[i, j] = out[j, i] = (f(beta + di + dj) - f(beta + di - dj) - f(beta - di + dj)
                                     + f(beta - di - dj)) / (4 * eps * eps)
    return out


def _jacobian(grad, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Symmetrised central-difference Jacobian of the gradient ``grad`` at ``beta``: the Hessian."""
    k = beta.size
    out = np.empty((k, k))
    for i in range(k):
        d = np.zeros(k)
        d[i] = eps
        out[:, i] = (grad(beta + d) - grad(beta - d)) / (2 * eps)
    return 0.5 * (out + out.T)
