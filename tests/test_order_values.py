"""Order values fitted by maximum likelihood (experiments/calibrate/value.py): recovery, and a brand whose customers
all pay alike."""

from __future__ import annotations

import numpy as np

from experiments.calibrate.history import summarize
from experiments.calibrate.value import SIGMA_FLOOR, fit_values


def _log(median: float, sigma: float, within: float, customers: int, seed: int):
    """Histories of ``customers`` with 1-5 orders each: log amounts N(log median, sigma^2) per customer, +- within."""
    rng = np.random.default_rng(seed)
    orders = rng.integers(1, 6, customers)
    cust = np.repeat(np.arange(customers), orders)
    usual = np.log(median) + sigma * rng.standard_normal(customers)
    amount = np.exp(usual[cust] + within * rng.standard_normal(cust.size))
    day = np.concatenate([np.sort(rng.choice(200, k, replace=False)) for k in orders])
    return summarize(np.arange(customers), cust, day, amount, 250)


def test_the_spread_across_customers_is_recovered_within_its_standard_error():
    for seed in range(3):
        fit = fit_values(_log(120.0, 0.5, 0.3, 3000, seed))
        # the SE of a normal sd from n draws is about sigma / sqrt(2 n); the fit's own must say so
        assert 0.5 * fit.sigma_se < 0.5 / np.sqrt(2 * 3000) < 2.0 * fit.sigma_se
        assert abs(fit.sigma - 0.5) < 4 * fit.sigma_se
        assert abs(np.log(fit.median) - np.log(120.0)) < 4 * fit.median_se / fit.median
        assert abs(fit.within_sigma - 0.3) < 0.02  # pooled over about 6,000 within-customer degrees of freedom


def test_a_brand_whose_customers_all_pay_alike_gets_the_floor_not_a_singular_matrix():
    one_price = _log(49.0, 0.0, 0.0, 500, 1)
    fit = fit_values(one_price)
    assert np.isclose(fit.median, 49.0) and fit.sigma == SIGMA_FLOOR and fit.sigma_se == 0.0
    assert np.isfinite(fit.median_se)
    iid = fit_values(_log(49.0, 0.0, 0.4, 2000, 2))  # every order drawn alike: no spread between customers
    assert iid.sigma < 0.05 and np.isfinite(iid.sigma_se) and abs(iid.within_sigma - 0.4) < 0.02
