"""Coverage of the seed-level intervals, measured by simulation from known distributions of differences.

Each case draws REPS independent experiments of n seeds (one row each, vectorised, fixed seed) from a
distribution with a known mean and checks how often :func:`t_intervals` covers it. Tolerances come
from the number of repetitions: SE = sqrt(p (1 - p) / REPS).

Skewed cases: gamma(4) has skewness 1.0, more than any seed-level difference measured in siyu (at
most 0.92 over 60 policy pairs and KPIs, 30 seeds, beauty and high_ticket presets; docs/statistics.md);
its mirror image checks negative skew.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.stats.intervals import level, t_intervals

REPS = 40_000
SE = math.sqrt(0.93 * 0.07 / REPS)  # 0.0013
"""Monte Carlo standard error of a coverage near the 93% floor."""

DISTRIBUTIONS = {
    "normal": (lambda rng, shape: rng.normal(3.0, 2.0, shape), 3.0),
    "gamma4": (lambda rng, shape: rng.gamma(4.0, 1.0, shape), 4.0),  # skewness 2 / sqrt(4) = 1
    "mirrored_gamma4": (lambda rng, shape: -rng.gamma(4.0, 1.0, shape), -4.0),
}


def coverage(name: str, n: int, comparisons: int = 1, seed: int = 0,
             true_mean: float | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """Share of REPS intervals covering the true mean, with the intervals' significance flags two ways.

    ``true_mean`` shifts the distribution to that mean (default: its own).
    """
    draw, mu = DISTRIBUTIONS[name]
    d = draw(np.random.default_rng([seed, n, comparisons, list(DISTRIBUTIONS).index(name)]), (REPS, n))
    if true_mean is not None:
        d, mu = d - mu + true_mean, true_mean
    _, low, high, p = t_intervals(d, comparisons)
    covered = float(np.mean((low <= mu) & (mu <= high)))
    return covered, (low > 0) | (high < 0), np.minimum(1.0, comparisons * p) < 0.05


@pytest.mark.parametrize("n", [3, 5, 10])
@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_coverage_is_at_least_93_percent_for_nominal_95(name, n):
    covered, _, _ = coverage(name, n)
    assert covered >= 0.93 - 2 * SE, f"{name} at {n} seeds covers {covered:.4f}"
    assert covered <= 0.95 + 4 * SE  # not bought with needlessly wide intervals
    if name == "normal":  # exact under normality
        assert abs(covered - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / REPS)


@pytest.mark.parametrize("n", [2, 4, 7, 15, 20, 30])
def test_coverage_holds_from_2_to_30_seeds_under_skewness_one(n):
    covered, _, _ = coverage("gamma4", n)
    assert 0.93 - 2 * SE <= covered <= 0.95 + 4 * SE, f"{n} seeds: {covered:.4f}"


@pytest.mark.parametrize("n", [3, 5, 10])
@pytest.mark.parametrize("comparisons", [1, 4])
def test_the_significance_flag_never_disagrees_with_the_interval(n, comparisons):
    """No difference and a small one (a third of the sd): flag from the p-value == interval excludes zero."""
    for name in ("normal", "gamma4"):
        for true_mean in (0.0, 0.7):
            _, from_interval, from_p = coverage(name, n, comparisons, seed=1, true_mean=true_mean)
            assert from_interval.any() and not from_interval.all()  # both outcomes occur
            assert np.array_equal(from_interval, from_p)


def test_a_bonferroni_family_covers_jointly_under_normality():
    """Four intervals at 1 - 5%/4 all cover together at least 95% of the time (normal differences, 5 seeds)."""
    rng = np.random.default_rng(11)
    d = rng.normal(0.0, 1.0, (REPS, 4, 5))
    _, low, high, _ = t_intervals(d, 4)
    joint = float(np.mean(np.all((low <= 0) & (0 <= high), axis=1)))
    assert level(4) == pytest.approx(0.9875)
    assert joint >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / REPS)


def test_the_harness_catches_intervals_that_are_too_narrow():
    """The percentile bootstrap siyu used before covers far less than 93% at 3 seeds: the test above would fail it."""
    rng = np.random.default_rng(3)
    reps, boot, n = 4000, 1000, 3
    d = rng.normal(3.0, 2.0, (reps, n))
    idx = rng.integers(0, n, (boot, n))
    means = d[:, idx].mean(axis=2)  # (reps, boot)
    low, high = np.quantile(means, [0.025, 0.975], axis=1)
    covered = float(np.mean((low <= 3.0) & (3.0 <= high)))
    assert covered < 0.93 - 4 * math.sqrt(0.93 * 0.07 / reps), covered


def test_plain_t_falls_short_when_differences_are_very_skewed():
    """The documented limit: at skewness 2 (exponential) t covers under 90% at 5 seeds, so such KPIs need more seeds."""
    rng = np.random.default_rng(4)
    _, low, high, _ = t_intervals(rng.exponential(1.0, (REPS, 5)))
    covered = float(np.mean((low <= 1.0) & (1.0 <= high)))
    assert covered < 0.90, covered
