"""BG/NBD, the holdout check's first baseline, at the edge of its parameter space: a log of regular buyers
without dropout, whose likelihood's supremum lies at a Poisson rate (r without bound) and no dropout, once fitted
at r ~ 1e12-1e19 on log-gamma rounding noise with a nan forecast (calibrate_recovery.py seeds 108 and 118)."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.stats import beta as beta_dist

from experiments.calibrate import bgnbd


def regular_buyers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in weeks of ``n`` customers buying every 9 weeks or so (gamma gaps of shape 4: more regular
    than Poisson), none dropping out, observed for 0-26 weeks after their first purchase."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.0, 26.0, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = rng.gamma(4.0, 9.0 / 4.0)
        while t <= T[i]:
            x[i], t_x[i] = x[i] + 1, t
            t += rng.gamma(4.0, 9.0 / 4.0)
    return x, t_x, T


def test_loglik_reaches_the_poisson_limit_without_rounding_noise():
    """At r = 1e12 and 1e13 (the rate r / alpha kept) the likelihood is the Poisson one, lambda^x exp(-lambda T);
    differences of log-gammas were off by 0.02 nats at 1e12 on 562 customers and worse beyond."""
    x, t_x, T = regular_buyers(600, 0)
    lam = x.sum() / T.sum()
    poisson = float((x * np.log(lam) - lam * T).sum())
    for r in (1e12, 1e13):
        got = bgnbd.loglik(np.array([r, r / lam, 1e-12, 1.0]), x, t_x, T).sum()
        assert got == pytest.approx(poisson, abs=1e-6)


def test_fits_regular_buyers_at_the_edge_with_a_finite_forecast():
    x, t_x, T = regular_buyers(600, 0)
    params = bgnbd.fit(x, t_x, T)
    logs = np.log(params)
    assert np.all((logs >= bgnbd.BOX[:, 0] - 1e-9) & (logs <= bgnbd.BOX[:, 1] + 1e-9)), params
    best = bgnbd.loglik(params, x, t_x, T).sum()

    def nll(p: np.ndarray) -> float:
        return -float(bgnbd.loglik(np.exp(p), x, t_x, T).sum())
    rng = np.random.default_rng(1)
    for _ in range(4):  # no start in the box does better
        other = minimize(nll, rng.uniform(bgnbd.BOX[:, 0], bgnbd.BOX[:, 1]), method="Nelder-Mead", bounds=bgnbd.BOX,
                         options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-9})
        assert best >= -other.fun - 1e-6, (params, np.exp(other.x), best, -other.fun)
    got = bgnbd.expected(params, 12.0, x, t_x, T)
    no_dropout = (params[0] + x) / (params[1] + T) * 12.0  # dropout only takes away
    assert np.all(np.isfinite(got)) and np.all(got > 0) and np.all(got <= no_dropout * (1 + 1e-9))
    # at the edge (a Poisson rate, nobody drops out) the cohort's 12 weeks are the Poisson fit's: the rate seen
    assert got.sum() == pytest.approx(x.sum() / T.sum() * 12.0 * x.size, rel=1e-3)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (15.4, 467.0, 0.5, 1e6), (3.0, 85.0, 1e-8, 1e6),
                                    (0.243, 4.414, 1.0, 2.426), (0.243, 4.414, 1.0 - 1e-6, 2.426),
                                    (0.243, 4.414, 1.0 + 1e-6, 2.426), (3.0, 85.0, 1.0, 1e6)])
@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (5, 10.0, 20.0), (20, 25.0, 25.5)])
def test_expected_matches_integration_over_the_dropout(params, x, t_x, T):
    """E[Y(t)] against P(alive) times a quadrature over p ~ beta(a, b + x) of (1 - ((alpha + T) / (alpha + T +
    p t))^(r + x)) / p (the rate integrated out): the published 2F1 (CDNOW) and its Euler transform (large b,
    where the published one drifted), and both at a = 1 and 1e-6 from it (c / (a - 1) times 1 - 2F1: 0 / 0 at 1)."""
    r, alpha, a, b = params
    t = 39.0
    post = beta_dist(a, b + x)

    def alive_mean(u: float) -> float:
        p = max(float(post.ppf(u)), 1e-300)
        return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p
    mean = quad(alive_mean, 0.0, 1.0, limit=200, epsabs=0.0, epsrel=1e-9)[0]
    alive = 1.0 / (1.0 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    got = bgnbd.expected(np.array(params), t, np.array([float(x)]), np.array([t_x]), np.array([T]))[0]
    assert got == pytest.approx(alive * mean, rel=1e-6)


def test_expected_is_continuous_through_a_equal_one():
    """Within bgnbd.A_GAP of a = 1 the expectation is interpolated; it meets the direct formula at the gap's ends
    (where 1 - 2F1 keeps about 12 digits) and moves smoothly in a across it."""
    x, t_x, T = np.array([0.0, 1.0, 4.0, 12.0]), np.array([0.0, 10.0, 30.0, 38.0]), np.array([38.0, 38.0, 38.0, 39.0])
    at = [bgnbd.expected(np.array([0.243, 4.414, a, 2.426]), 39.0, x, t_x, T) for a in
          (1.0 - 2e-4, 1.0 - 1e-6, 1.0, 1.0 + 1e-6, 1.0 + 2e-4)]
    assert np.all(np.isfinite(at))
    slope = (at[4] - at[0]) / 4e-4
    for k, a in ((1, -1e-6), (2, 0.0), (3, 1e-6)):
        assert at[k] == pytest.approx(at[0] + slope * (a + 2e-4), rel=1e-7)
