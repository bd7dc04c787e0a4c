"""Pareto/NBD, the second baseline of the holdout check: published CDNOW estimates and its closed forms."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy.special import gammaln
from scipy.stats import gamma

from experiments.calibrate import paretonbd
from experiments.calibrate.history import histories
from experiments.logs.transactions import read_transactions

CDNOW = Path(__file__).parent / "data" / "cdnow_sample.csv"
PUBLISHED = np.array([0.553, 10.578, 0.606, 11.669])
"""Fader, Hardie and Lee (2005), the CDNOW sample in weeks; log-likelihood -9595.0."""


def test_fit_reproduces_published_cdnow_estimates():
    end = date(1997, 9, 30).toordinal()
    h = histories(read_transactions(CDNOW, calibration_end=end), end)
    x, t_x, T = h.x.astype(float), h.t_x / 7.0, h.T / 7.0
    params = paretonbd.fit(x, t_x, T)
    np.testing.assert_allclose(params, PUBLISHED, rtol=0.01)
    assert paretonbd.loglik(params, x, t_x, T).sum() == pytest.approx(-9595.0, abs=0.05)


@pytest.mark.parametrize(("x", "t_x"), [(0, 0.0), (2, 30.43), (10, 20.0), (30, 38.0)])
def test_closed_forms_match_integration_over_the_rates(x, t_x):
    """P(alive) and E[Y(39)] against a quadrature of the posterior over (purchase rate, death rate): frequent
    buyers exercise the log-scale evaluation, a buyer whose purchases stopped early the A_0 term."""
    T, t = 38.86, 39.0
    lam, mu = np.meshgrid(np.exp(np.linspace(-14, 3, 1500)), np.exp(np.linspace(-16, 3, 1500)), indexing="ij")
    r, alpha, s, beta = PUBLISHED
    weight = gamma.pdf(lam, r, scale=1 / alpha) * gamma.pdf(mu, s, scale=1 / beta) * lam * mu  # log grid
    alive = lam ** x * np.exp(-(lam + mu) * T)
    lik = alive + lam ** x * mu / (lam + mu) * (np.exp(-(lam + mu) * t_x) - np.exp(-(lam + mu) * T))
    den = (lik * weight).sum()
    hist = (np.array([float(x)]), np.array([t_x]), np.array([T]))
    assert paretonbd.p_alive(PUBLISHED, *hist)[0] == pytest.approx((alive * weight).sum() / den, rel=2e-3)
    quad = (alive * lam / mu * -np.expm1(-mu * t) * weight).sum() / den
    assert paretonbd.expected(PUBLISHED, t, *hist)[0] == pytest.approx(quad, rel=5e-3)


def poisson_buyers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) in weeks of ``n`` customers buying at gamma(3, 80)-distributed Poisson rates, none dropping out,
    observed for 4-34 whole weeks after their first purchase (the last repeat at T times a beta(x, 1) draw, to the
    day)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(4, 35, n).astype(float)
    x = rng.poisson(rng.gamma(3.0, 1.0 / 80.0, n) * T).astype(float)
    t_x = np.where(x > 0, np.ceil(7.0 * T * rng.beta(np.maximum(x, 1.0), 1.0)) / 7.0, 0.0)
    return x, t_x, T


def nbd_loglik(r: float, alpha: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The likelihood with nobody dropping out: a gamma(r, alpha) mixture of Poisson processes."""
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)


def test_loglik_at_the_no_dropout_corner_of_the_box_is_the_nbd_one():
    """Where a log without dropout ends its fit (s = 1e-8, beta = 1e7), each history's likelihood is the NBD's:
    the 2F1 of the death term, its argument within 1e-5 of 1 there, neither blows up nor cancels to noise."""
    x, t_x, T = poisson_buyers(500, 0)
    s, beta = np.exp(paretonbd.BOX[2, 0]), np.exp(paretonbd.BOX[3, 1])
    got = paretonbd.loglik(np.array([3.0, 80.0, s, beta]), x, t_x, T)
    np.testing.assert_allclose(got, nbd_loglik(3.0, 80.0, x, T), rtol=0, atol=1e-6)


def test_fit_without_dropout_stops_at_the_box_with_the_no_dropout_forecast():
    """Unbounded, the search drifted along the ridge s / beta -> 0 to its last iteration and stopped anywhere on it,
    in a trial at beta = 1.7e16, where the forecast came out 1.2% high from rounding (an engine log with joiners)."""
    x, t_x, T = poisson_buyers(1500, 1)
    rows, counts = np.unique(np.stack([x, t_x, T], axis=1), axis=0, return_counts=True)
    params = paretonbd.fit(*rows.T, counts.astype(float))  # the distinct histories, as the holdout check fits them
    logs = np.log(params)
    assert np.all((logs >= paretonbd.BOX[:, 0] - 1e-9) & (logs <= paretonbd.BOX[:, 1] + 1e-9)), params
    r, alpha, s, beta = params
    assert s / beta < 1e-6  # a dropout under one in a million a week: none
    # nobody leaving, each customer's 26 weeks are (r + x) / (alpha + T) a week
    assert paretonbd.expected(params, 26.0, x, t_x, T).sum() == pytest.approx(
        ((r + x) / (alpha + T) * 26.0).sum(), rel=1e-6)
    assert r / alpha == pytest.approx(3.0 / 80.0, rel=0.1)  # the mean rate: an SE of 3.4% from 1,500 customers
