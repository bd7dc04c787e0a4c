"""The forecast's replicates draw the fitted parameters from a Latin hypercube: each replicate's draw is still the
fit's lognormal, but the replicates' mean loses the noise of the forecast's near-linear response to the draws."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

import experiments.calibrate.forecast as fc_module
from experiments.calibrate.fit import Design, simulate_design
from experiments.calibrate.forecast import (STRATA_STREAM, Component, Uncertainty, band, draw_scenario, forecast,
                                            stratified_normals)
from experiments.calibrate.posterior import rng_of
from sim.config import apply_overrides, load_scenario

NAMES = ("population.cycle_median_days", "population.dropout_per_year")
LOG_COV = np.array([[0.04, -0.03], [-0.03, 0.16]])
"""A fit's covariance of the two log values: correlated, the dropout's loose (log SD 0.4)."""


def strata(z: np.ndarray) -> np.ndarray:
    """Which of ``len(z)`` equal-probability slices of the normal each value of each column falls in."""
    return np.floor(norm.cdf(z) * z.shape[0]).astype(int)


def test_each_coordinate_takes_one_value_in_each_slice_in_random_order():
    z = stratified_normals(40, 3, np.random.default_rng(1))
    assert z.shape == (40, 3)
    for column in strata(z).T:
        assert sorted(column) == list(range(40))
    assert not np.array_equal(strata(z)[:, 0], strata(z)[:, 1])  # the columns are permuted independently
    assert np.array_equal(z, stratified_normals(40, 3, np.random.default_rng(1)))  # seeded
    assert stratified_normals(0, 3, np.random.default_rng(1)).shape == (0, 3)
    assert stratified_normals(5, 0, np.random.default_rng(1)).shape == (5, 0)


def test_draws_from_stratified_normals_have_the_fit_s_covariance_and_a_mean_without_the_draws_noise():
    """Each draw is the fit's lognormal (medians at the estimates, the covariance of the logs the fit's), and the
    mean of n draws' logs is far closer to the estimate than independent draws' (SD sqrt(var / n))."""
    base = load_scenario("beauty")
    errors = Uncertainty({}, NAMES, LOG_COV)
    n = 4000
    z = stratified_normals(n, 2, np.random.default_rng(2))
    rng = np.random.default_rng(3)
    est = np.array([base.population.cycle_median_days, base.population.dropout_per_year])
    logs = np.array([np.log([s.population.cycle_median_days, s.population.dropout_per_year]) - np.log(est)
                     for s in (draw_scenario(base, errors, rng, None, row) for row in z)])
    cov = np.cov(logs.T)
    # a sample covariance's SE: sqrt((s_ii s_jj + s_ij^2) / n)
    se = np.sqrt((np.outer(np.diag(LOG_COV), np.diag(LOG_COV)) + LOG_COV ** 2) / n)
    assert np.all(np.abs(cov - LOG_COV) < 4 * se), (cov, se)
    iid_sd = np.sqrt(np.diag(LOG_COV) / n)
    assert np.all(np.abs(logs.mean(axis=0)) < 0.1 * iid_sd), (logs.mean(axis=0), iid_sd)


def test_the_forecast_draws_each_mixture_part_s_replicates_from_a_latin_hypercube_of_its_own(monkeypatch):
    scenario = apply_overrides(load_scenario("beauty"), {"population.cycle_median_days": 60.0}, "test")
    n, days = 300, 273
    spans = np.random.default_rng(0).integers(days - 85, days, n)
    h = simulate_design(scenario, Design(days, 84, n, True, spans), seed=5).histories
    seen: list[np.ndarray | None] = []

    def recording(base, errors, rng, drawn=None, z=None):
        seen.append(None if z is None else np.array(z))
        return draw_scenario(base, errors, rng, drawn, z)

    monkeypatch.setattr(fc_module, "draw_scenario", recording)
    parts = (Component(0.75, {}, LOG_COV), Component(0.25, {"population.cycle_median_days": 80.0}, LOG_COV))
    errors = Uncertainty({}, NAMES, LOG_COV, parts)
    forecast(scenario, h, 7, replicates=12, seed=4, errors=errors, pool=False)
    assert all(z is not None for z in seen)
    z = np.array(seen)
    # the replicates of a part are consecutive (allocate: 9 and 3), each part a hypercube of its size
    first, second = z[:9], z[9:]
    assert all(sorted(c) == list(range(9)) for c in strata(first).T)
    assert all(sorted(c) == list(range(3)) for c in strata(second).T)
    expected = stratified_normals(9, 2, rng_of(4, STRATA_STREAM))
    assert np.array_equal(first, expected)  # from its named stream


def test_a_band_of_stratified_replicates_holds_one_more_realisation_at_least_90_percent_of_the_time():
    """Where the parameters' draws alone spread the replicates, a stratified sample's order statistics sit nearer the
    middle of their slices than independent draws', so the band (numpy's Weibull rule) is a little wider: with 40
    replicates about 1 - 2 (2.05 - 0.5) / 40 = 92% instead of 90%. Conservative, never narrower."""
    rng = np.random.default_rng(6)
    trials, replicates = 4000, 40
    inside = np.zeros(trials, bool)
    for t in range(trials):
        reps = stratified_normals(replicates, 1, rng)[:, 0]
        lo, hi = band(reps[:, None])
        actual = rng.normal()
        inside[t] = lo[0] <= actual <= hi[0]
    tol = 4 * np.sqrt(0.09 / trials)  # 4 binomial SEs
    assert abs(inside.mean() - (1 - 2 * (0.05 * (replicates + 1) - 0.5) / replicates)) < tol, inside.mean()

