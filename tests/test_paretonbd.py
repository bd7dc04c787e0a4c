"""Pareto/NBD, the second baseline of the holdout check: published CDNOW estimates and its closed forms."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest
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
