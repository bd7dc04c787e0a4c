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


@pytest.mark.parametrize("params", [(3.0, 80.0, 0.6, 2000.0), (0.5, 10.0, 5.0, 400.0), (3.0, 5000.0, 0.6, 12.0),
                                    (0.553, 10.578, 0.606, 11.669)])
def test_series_and_2f1_give_the_same_likelihood_where_both_hold(params, monkeypatch):
    """Where the 2F1's argument is not too near 1 both ways to A_0 are accurate: the series (beta or alpha far
    beyond the other) and the note's 2F1 agree history by history; at CDNOW's estimates only the 2F1 applies."""
    x, t_x, T = poisson_buyers(300, 2)
    x, t_x, T = np.append(x, [30.0, 60.0]), np.append(t_x, [29.0, 50.0]), np.append(T, [30.0, 52.0])
    p = np.array(params)
    both = paretonbd.loglik(p, x, t_x, T)
    monkeypatch.setattr(paretonbd, "_series_converges", lambda far, ratio: np.zeros(np.shape(ratio), bool))
    np.testing.assert_allclose(both, paretonbd.loglik(p, x, t_x, T), rtol=0, atol=1e-9)


@pytest.mark.parametrize("params", [(3.0, 80.0, 1e-8, 1e5), (3.0, 80.0, 0.01, 1e7), (1e4, 1e7, 0.6, 12.0)])
def test_series_near_the_edges_matches_the_2f1_in_high_precision(params):
    """At the edges a search ends on (no dropout: beta large; a Poisson rate: r and alpha large) scipy's 2F1 is slow
    or off; the series agrees with mpmath's 2F1 at 30 digits."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    r, alpha, s, beta = (mp.mpf(v) for v in params)
    got = paretonbd.loglik(np.array(params), *(np.array(v) for v in zip(*HISTORIES)))
    for (x, t_x, T), value in zip(HISTORIES, got):
        x, t_x, T = mp.mpf(x), mp.mpf(t_x), mp.mpf(T)
        rsx = r + s + x
        big, b = (alpha, s + 1) if alpha >= beta else (beta, r + x)

        def f(t):
            return mp.hyp2f1(rsx, b, rsx + 1, abs(alpha - beta) / (big + t)) / (big + t) ** rsx
        const = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
        alive = mp.exp(const - (r + x) * mp.log(alpha + T) - s * mp.log(beta + T))
        dead = mp.exp(const) * s / rsx * (f(t_x) - f(T))
        assert value == pytest.approx(float(mp.log(alive + dead)), abs=1e-9)


HISTORIES = [(0.0, 0.0, 30.0), (1.0, 5.0, 30.0), (5.0, 20.0, 30.0), (30.0, 29.0, 30.0), (2.0, 30.43, 38.86),
             (60.0, 50.0, 52.0)]
"""(x, t_x, T) in weeks: no repeat, early and late repeats, a frequent buyer."""
