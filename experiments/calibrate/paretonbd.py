"""Pareto/NBD (Schmittlein, Morrison and Colombo 1987): the second customer-base model a forecast is compared with.

Purchases at a gamma(r, alpha)-distributed Poisson rate while alive, lifetimes exponential at a
gamma(s, beta)-distributed rate. Fitted by maximum likelihood on the same histories (time in weeks) with the
likelihood and conditional expectation of Fader and Hardie's note "A Note on Deriving the Pareto/NBD Model and
Related Expressions" (2005), evaluated in logs so that frequent buyers neither overflow nor underflow. Checked
in the tests against the published CDNOW estimates (r = 0.553, alpha = 10.58, s = 0.606, beta = 11.67).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

BOX = np.log([(1e-4, 1e4), (1e-4, 1e7), (1e-8, 1e4), (1e-4, 1e7)])
"""Bounds of the search in log (r, alpha, s, beta). A log without dropout has its likelihood's supremum at the edge
s / beta -> 0, along which an unbounded search drifted up to its last iteration (17-32 s on some logs of 1,000-3,000
customers, over 42 minutes on 730,000) and stopped anywhere on it (in a trial at beta = 1.7e16, the forecast 1.2%
high from rounding). The corner s = 1e-8, beta = 1e7 stands for that limit (a mean dropout of 1e-15 a week), where
the likelihood is the NBD's to 1e-6 (tests/test_paretonbd.py), summed by a series where scipy's 2F1 would be slow
(:func:`_log_a0`)."""


SERIES_TERMS = 20
"""Terms of the binomial series that :func:`_log_a0` sums where the 2F1's argument is near 1."""


def _log_a0(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Log of the note's A_0: the likelihood's part from a death between the last purchase and ``T``.

    A_0 / (r + s + x) is the integral over the death's time tau in (t_x, T) of (alpha + tau)^-(r + x) (beta +
    tau)^-(s + 1). Where the larger of alpha and beta lies far beyond the other plus T (near the edge of no
    dropout, beta large), the note's 2F1 has its argument within a small share of 1, where scipy sums it slowly (30
    microseconds against 0.2); there the integral is the binomial series of the far factor, which converges fast
    (:func:`_log_integral`), and elsewhere the 2F1 as published.
    """
    r, alpha, s, beta = params
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (x, t_x, T)))
    rsx = r + s + x
    if alpha >= beta:
        big, small, near_power = alpha, beta, np.full(x.shape, s + 1.0)
    else:
        big, small, near_power = beta, alpha, r + x
    far_power = rsx + 1.0 - near_power
    gap = big - small
    out = np.empty(x.shape)
    fast = _series_converges(far_power, (small + T) / gap) if gap > 0 else np.zeros(x.shape, bool)
    with np.errstate(divide="ignore"):  # t_x = T: no time to die in, log 0
        out[fast] = np.log(rsx[fast]) + _log_integral(near_power[fast], far_power[fast], gap, small + t_x[fast],
                                                         small + T[fast])
    slow = ~fast
    a, b = rsx[slow], near_power[slow]
    at_last = np.log(hyp2f1(a, b, a + 1.0, gap / (big + t_x[slow]))) - a * np.log(big + t_x[slow])
    at_end = np.log(hyp2f1(a, b, a + 1.0, gap / (big + T[slow]))) - a * np.log(big + T[slow])
    out[slow] = at_last + np.log(-np.expm1(np.minimum(at_end - at_last, -1e-300)))
    return out


def _series_converges(far_power: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Where :func:`_log_integral`'s terms past :data:`SERIES_TERMS` add under 1e-17 of its first.

    ``ratio``: the near variable's upper end over the gap, what each term shrinks by.
    """
    n = SERIES_TERMS
    with np.errstate(divide="ignore"):
        tail = gammaln(far_power + n) - gammaln(far_power) - gammaln(n + 1.0) + n * np.log(ratio)
    return ((far_power + n) / (n + 1.0) * ratio < 0.5) & (tail < np.log(1e-17))


def _log_integral(p: np.ndarray, q: np.ndarray, gap: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Log of the integral of y^-p (gap + y)^-q over y in (lo, hi), by the binomial series of (gap + y)^-q.

    The sum over k of (-1)^k (q)_k / k! gap^(-q-k) times the integral of y^(k-p), each term in logs.
    """
    k = np.arange(SERIES_TERMS, dtype=np.float64)[:, None]
    e = k + 1.0 - p  # the power of y after integrating y^(k-p)
    span = np.log(hi / lo)
    # (hi^e - lo^e) / e = lo^e expm1(e span) / e, and span at e = 0
    grown = np.where(e == 0.0, span, np.expm1(e * span) / np.where(e == 0.0, 1.0, e))
    log_term = gammaln(q + k) - gammaln(q) - gammaln(k + 1.0) - k * np.log(gap) + e * np.log(lo) + np.log(grown)
    first = log_term[0]
    sign = np.where(k % 2 == 0, 1.0, -1.0)
    with np.errstate(invalid="ignore"):  # lo = hi: every term 0, log 0 - log 0
        total = (sign * np.exp(log_term - first)).sum(axis=0)
    return np.where(span > 0, -q * np.log(gap) + first + np.log(np.where(span > 0, total, 1.0)), -np.inf)


def _log_parts(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log-likelihood of each history, log of its alive-at-``T`` term): the latter over the former is P(alive)."""
    r, alpha, s, beta = params
    const = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = const - (r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = const + np.log(s / (r + s + x)) + _log_a0(params, x, t_x, T)
    return np.logaddexp(alive, dead), alive


def loglik(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Log-likelihood of each history under Pareto/NBD with ``params`` = (r, alpha, s, beta)."""
    return _log_parts(params, x, t_x, T)[0]


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood (r, alpha, s, beta); ``weights``: customers sharing each history (one each if None)."""
    w = 1.0 if weights is None else weights  # times one: the plain sum, to the bit

    def nll(p: np.ndarray) -> float:
        with np.errstate(all="ignore"):  # a step to extreme rates overflows the 2F1: a non-finite value, refused
            value = -float((w * loglik(np.exp(p), x, t_x, T)).sum())
        return value if np.isfinite(value) else 1e300
    # quasi-Newton from two starts (a seventh of Nelder-Mead's evaluations, each a 2F1 per customer), then
    # Nelder-Mead from the better end to settle on the likelihood's flat ridge in (s, beta)
    ends = [minimize(nll, np.array(start), method="L-BFGS-B", bounds=BOX)
            for start in ([0.0, 0.0, 0.0, 0.0], [np.log(0.5), np.log(10.0), np.log(0.6), np.log(12.0)])]
    best = minimize(nll, min(ends, key=lambda res: res.fun).x, method="Nelder-Mead", bounds=BOX,
                    options={"xatol": 1e-8, "fatol": 1e-9, "maxiter": 4000})
    return np.exp(min([best, *ends], key=lambda res: res.fun).x)


def p_alive(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's probability of being alive at ``T``, given their history."""
    ll, alive = _log_parts(params, x, t_x, T)
    return np.exp(alive - ll)


def expected(params: np.ndarray, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's expected transactions in the ``t`` periods after ``T``, given their history."""
    r, alpha, s, beta = params
    log_q = -np.log1p(t / (beta + T))  # not log of the ratio, which rounds to 0 at a large beta
    # (1 - q^(s-1)) / (s-1), and its limit -log q at s = 1
    lifetime = -np.expm1((s - 1.0) * log_q) / (s - 1.0) if s != 1.0 else -log_q
    return p_alive(params, x, t_x, T) * (r + x) * (beta + T) / (alpha + T) * lifetime
