"""The estimate refined on a regression over independent simulations (experiments.calibrate.refine)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from experiments.calibrate.refine import HALF_WIDTH, MAX_ROUNDS, design, point_seed, refine, trusted

SLOPES = np.array([[1.0, 0.5], [-0.4, 1.2], [0.8, 0.8], [0.3, -1.0]])
"""A linear binding function's slopes: four statistics of two log parameters."""
TRUTH = np.array([0.3, -0.2])
BOX = np.array([[-3.0, -3.0], [3.0, 3.0]])


def noisy(sd: float):
    """Statistics linear in theta plus noise drawn from the simulation seed alone (each point its own draw)."""

    def statistics_at(theta: np.ndarray, seed: int) -> np.ndarray:
        return SLOPES @ theta + np.random.default_rng(seed).normal(0.0, sd, SLOPES.shape[0])

    return statistics_at


def test_the_design_and_its_seeds_are_fixed_by_the_fit_seed_and_differ_between_points():
    u = design(2, seed=7, round_=0)
    assert u.shape == (1 + 4 + 8, 2) and np.array_equal(u[0], [0.0, 0.0])
    assert np.all(np.abs(u) <= 1.0)
    assert np.array_equal(u, design(2, seed=7, round_=0)) and not np.array_equal(u, design(2, seed=7, round_=1))
    seeds = {point_seed(7, r, i) for r in range(2) for i in range(len(u))}
    assert len(seeds) == 2 * len(u) and point_seed(7, 0, 0) != point_seed(8, 0, 0)


def test_designs_of_three_or_five_parameters_warn_nothing():
    """Their 4k Sobol points are not a power of 2; scipy's balance warning would reach the user's console."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in (3, 5):
            assert design(k, 0, 0).shape == (1 + 2 * k + 4 * k, k)
    assert [str(w.message) for w in caught] == []


def test_without_noise_it_lands_on_the_solution_with_the_true_slopes():
    target = SLOPES @ TRUTH
    r = refine(noisy(0.0), np.array([0.1, 0.1]), target, np.eye(4), seed=3, box=BOX)
    assert r.theta == pytest.approx(TRUTH, abs=1e-6) and r.jac == pytest.approx(SLOPES, abs=1e-9)  # 1e-6: GN's ridge
    assert r.simulations == 2 * 13 and 0.0 < r.leverage < 0.5
    assert r.statistics == pytest.approx(target, abs=1e-6) and r.converged
    far = refine(noisy(0.0), TRUTH - 1.0, target, np.eye(4), seed=3, box=BOX)
    assert not far.converged and far.simulations == MAX_ROUNDS * 13  # five half-widths away: still moving
    assert far.theta == pytest.approx(TRUTH - 1.0 + MAX_ROUNDS * HALF_WIDTH)


def test_it_goes_on_stepping_while_the_answer_lies_beyond_the_design():
    """Two steps of a half-width do not reach an answer 2.5 half-widths away; a third round does, with the
    regression on the last two rounds' points."""
    target = SLOPES @ TRUTH
    r = refine(noisy(0.0), TRUTH + 2.5 * HALF_WIDTH, target, np.eye(4), seed=3, box=BOX)
    assert r.converged and r.simulations == 3 * 13
    assert r.theta == pytest.approx(TRUTH, abs=1e-6)
    two = refine(noisy(0.0), TRUTH + 2.5 * HALF_WIDTH, target, np.eye(4), seed=3, box=BOX, max_rounds=2)
    assert not two.converged and two.simulations == 2 * 13


def test_a_simulation_far_from_the_regression_at_the_estimate_disowns_it():
    sd = 0.05
    linear = noisy(sd)
    target = SLOPES @ TRUTH
    r = refine(linear, TRUTH + 0.05, target, np.eye(4) / sd**2, seed=3, box=BOX)
    assert trusted(r, linear(r.theta, 99), np.eye(4) / sd**2, share=1.0)  # its own noise only

    assert not trusted(r, linear(r.theta, 99) + 5 * sd, np.eye(4) / sd**2, share=1.0)  # off it by 5 SDs


def test_it_keeps_to_the_box():
    target = SLOPES @ np.array([5.0, 5.0])  # outside the box
    r = refine(noisy(0.0), np.array([2.5, 2.5]), target, np.eye(4), seed=3, box=BOX)
    assert np.all(r.theta <= BOX[1]) and np.all(r.theta >= BOX[0])


def test_its_noise_is_the_leverage_s_share_of_one_simulation_s():
    """Over 300 fits the refined estimates scatter as ``leverage`` times one simulation's noise says.

    One simulation's noise (sd 0.1 in each statistic, identity weight) gives the Gauss-Newton solution the
    covariance (J'J)^-1 0.01; the refined estimate's is that times its leverage (about 1/26). The test compares the
    scatter's quadratic form with its chi-square bounds over the fits (0.1% each side).
    """
    sd, fits = 0.1, 300
    target = SLOPES @ TRUTH
    one = np.linalg.inv(SLOPES.T @ SLOPES) * sd**2
    z2, leverages = [], []
    for k in range(fits):
        r = refine(noisy(sd), TRUTH + 0.05, target, np.eye(4), seed=1000 + k, box=BOX)
        d = r.theta - TRUTH
        z2.append(d @ np.linalg.inv(one * r.leverage) @ d)
        leverages.append(r.leverage)
    total = float(np.sum(z2))  # chi-square on 2 fits degrees of freedom if the leverage is right
    assert chi2.ppf(0.001, 2 * fits) < total < chi2.ppf(0.999, 2 * fits)
    assert 1 / 40 < np.mean(leverages) < 1 / 15  # far less than one simulation's noise
