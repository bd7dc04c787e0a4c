"""Searches with several simulation seeds, scored on common simulations and mixed (``siyu calibrate --seeds K``).

The binding function is simulated with one seed for a whole search (common random numbers), so its noise is a
fixed, slightly tilted surface: along a ridge that the log barely pins, each seed's search lands somewhere else.
On CDNOW's master file five seeds put the dropout rate between 0.07 and 15 a year and the 39-week forecast 15
points apart (docs/calibration.md). One search is then a draw, not an estimate. Here each of K searches has its
own seed; every estimate is scored on simulations none of them used, the best becomes the estimate and all are
mixed into the forecast by their weight (:func:`seed_weights`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from experiments.calibrate.fit import (Basin, Calibration, Design, Matching, SeedFit, _distance, matched_binding,
                                      basin_weights, simulation_factor)
from sim.config import Scenario

COMMON_STREAM = 0xC033
"""Seed-sequence tag of the common simulations (:func:`common_seed`)."""
COMMON_SIMS = 4
"""Simulations each estimate is scored on; their mean criterion is its common J. On CDNOW's master file one fit's J
on two common simulations was 55.2 with one seed and 64.9 with another: four halve that noise for the price of
four simulations, next to a search's hundreds."""
KEEP = 1e-3
"""Weight under which a search's estimate is listed in fit.md but left out of the forecast's mixture."""


def common_seed(seed: int, k: int) -> int:
    """The seed of common simulation ``k`` of a calibration run with ``seed``: none of the searches' seeds."""
    return int(np.random.SeedSequence([seed, COMMON_STREAM, k]).generate_state(1)[0])


def common_misfit(base: Scenario, m: Matching, design: Design, target: np.ndarray, n: int, theta: np.ndarray,
                  seed: int, sims: int = COMMON_SIMS) -> float:
    """J at ``theta`` (log values of ``m.names``) on ``sims`` common simulations: the mean, net of their noise."""
    total = 0.0
    for k in range(sims):
        b, log = matched_binding(base, m, design, common_seed(seed, k), theta)
        total += _distance(target - b, m.weight) / simulation_factor(n, log.histories.n)
    return total / sims


def dispersion(best_j: float, df: int) -> float:
    """How many times its chi-square mean the best fit's J is (at least 1): the quasi-likelihood's dispersion.

    When the engine reproduces the log, differences of J weigh fits as the quasi-likelihood exp(-J/2) does; when
    it does not, the data's statistics sit about this many times further from any fit than their noise says, and
    a difference of J counts that much less (McCullagh and Nelder's dispersion, for a criterion in place of a
    deviance). Without it a misfit of J 56 on 3 df would give one seed's estimate all the weight on a
    difference of a few units, which the common simulations' own noise makes.
    """
    return max(1.0, best_j / df) if df > 0 else 1.0


def seed_weights(js: list[float] | np.ndarray, df: int) -> np.ndarray:
    """The mixture's weights of estimates with common criteria ``js``: exp(-(J - Jmin) / 2 phi), normalised."""
    js = np.asarray(js, np.float64)
    return basin_weights(js, dispersion(float(js.min()), df))


def across_seeds(fits: list[Calibration], seed: int, sims: int = COMMON_SIMS,
                 tick: Callable[[int], None] | None = None) -> Calibration:
    """The best of ``fits`` (one search each, own seeds) on common simulations, the others mixed into its forecast.

    Each estimate is scored by :func:`common_misfit`; the best is the estimate, with its own covariance and
    simulated log; the others whose weight reaches :data:`KEEP` become its :attr:`Calibration.basins`, and
    :attr:`Calibration.seed_fits` lists every search for fit.md. Fits with basins of their own (``--basins``) are
    refused: the two mixtures would weigh by criteria of different simulations. Interrupted (Ctrl-C) after one or
    more estimates are scored, it mixes those (fewer :attr:`~Calibration.seed_fits` than ``fits``).
    """
    if any(f.matched is None for f in fits):
        raise ValueError("across_seeds needs Calibrations from calibrate()")
    if any(f.basins for f in fits):
        raise ValueError("fits with basins of their own (--basins) cannot be mixed across seeds")
    df = len(fits[0].stat_names) - len(fits[0].matched.names)
    js: list[float] = []
    try:
        for k, f in enumerate(fits):
            js.append(common_misfit(f.base, f.matched, f.design, f.stat_data, f.data.n, f.matched.theta, seed, sims))
            if tick is not None:
                tick(k + 1)
    except KeyboardInterrupt:
        if not js:
            raise
        fits = fits[: len(js)]  # the searches cost minutes each: keep those scored (seed_fits lists them)
    w = seed_weights(js, df)
    order = [int(k) for k in np.argsort(-w, kind="stable")]
    best = fits[order[0]]
    others = tuple(Basin(fits[k].matched.theta, np.asarray(fits[k].covariance), js[k]) for k in order[1:]
                   if w[k] >= KEEP)
    rows = tuple(SeedFit(f.matched.seed, dict(f.values), f.j, js[k], float(w[k])) for k, f in enumerate(fits))
    return replace(best, j=js[order[0]], basins=others, dispersion=dispersion(min(js), df), seed_fits=rows)
