"""Intervals of the matched parameters by inverting the misfit criterion (profile), and central-difference slopes.

The sandwich covariance of :mod:`~experiments.calibrate.fit` linearises the binding function at the estimate.
On engine logs it is too narrow (docs/calibration.md, How well it works): the forward-difference slopes are
noisy, and along the ridge between the cycle and its spread the binding function bends. The profile interval
of one parameter is the set of its values at which the misfit criterion, re-minimised over the other matched
parameters, stays within ``chi2_1(level) (1 + n/n_sim)`` of its minimum: the test-inversion interval of indirect
inference (the distance-metric statistic of Newey and West 1987, with the simulation's own noise in the same
factor as the sandwich). It follows the criterion where it bends instead of its curvature at the estimate.

Each profile point re-minimises with a few Gauss-Newton steps on the central-difference slopes at the estimate
(common random numbers: the fit's own simulation seed), starting on the linear conditional path; the points lie
on a grid scaled by the sandwich's predicted half-width, and the ends are interpolated (:func:`profile`).

Measured on 19 engine logs of 1,000 customers (docs/calibration.md, "Honest intervals"): no wider than the
sandwich and short of 90% (15 and 11 of 19 for the cycle and its spread): the simulated criterion is rough, so
points away from its minimum pay the roughness and the interval closes in. ``siyu calibrate --intervals
profile`` offers it for inspection; the quick bootstrap (:func:`~experiments.calibrate.bootstrap.newton_refit`)
is the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import chi2

from experiments.calibrate.fit import (Calibration, _distance, _gauss_newton, limited, log_box, matched_binding,
                                      matched_sigma, sandwich_covariance, simulation_factor)

STEP = 0.3
"""Step of the central differences in each log parameter: over 6 simulation seeds it cut the slopes' sd 3-6x
against the fit's forward step of 0.2."""
LEVEL = 0.90
"""Coverage the intervals aim at."""
REFITS = 3
"""Gauss-Newton evaluations of the other parameters at each profile point (the best point is kept)."""
GRID = (0.5, 1.0, 1.5, 2.0, 3.0)
"""Profile points on each side, in multiples of the sandwich's predicted half-width (at the central slopes)."""
EXTEND = 1.5
"""Factor by which the grid is widened while its outermost point is still inside the interval."""
WIDEST = 3.0
"""Most distance from the estimate in a log parameter: beyond it the bound is reported as open (this value)."""


@dataclass(frozen=True)
class Profile:
    """Profile intervals of the matched parameters (values, not logs) and what they rest on."""

    names: tuple[str, ...]
    low: dict[str, float]
    high: dict[str, float]
    jac: np.ndarray
    """Central-difference slopes at the estimate (statistics x matched parameters, log scale)."""
    sandwich: np.ndarray
    """The sandwich covariance of the log values at those slopes."""
    threshold: float
    """The rise of the criterion that bounds the interval: chi2_1(level) (1 + n/n_sim)."""
    points: dict[str, list[tuple[float, float]]]
    """Per parameter, the (log value, re-minimised criterion) of every profile point."""
    evaluations: int
    """Simulations the profile took (the central slopes' included)."""
    fit_distance: float
    """The criterion at the fit's estimate."""
    least: float
    """The least criterion seen (a profile point below the fit's says the search stopped short)."""


def binding_of(cal: Calibration):
    """s(theta) of the fit: its base, design, matched rows and simulation seed (the fit's random numbers)."""
    m = cal.matched
    assert m is not None, "a Calibration from calibrate()"

    def binding(t: np.ndarray) -> np.ndarray:
        return matched_binding(cal.base, m, cal.design, m.seed, t)[0]
    return binding


def central_jacobian(binding, theta: np.ndarray, step: float = STEP) -> np.ndarray:
    """Central differences of the binding function in log parameters, with the same random numbers."""
    cols = []
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = step
        cols.append((binding(theta + e) - binding(theta - e)) / (2 * step))
    return np.stack(cols, axis=1)


def sandwich(cal: Calibration, jac: np.ndarray) -> np.ndarray:
    """(J'WJ)^-1 J'W Sigma W J (J'WJ)^-1 (1 + n/n_sim) at slopes ``jac``: the fit's covariance formula."""
    m = cal.matched
    sigma = matched_sigma(cal.data, cal.aux_data, m)
    return sandwich_covariance(jac, m.weight, sigma, simulation_factor(cal.data.n, cal.sim.histories.n), m.prior)


def profile(cal: Calibration, names: tuple[str, ...] | None = None, level: float = LEVEL,
            step: float = STEP) -> Profile:
    """Profile intervals of ``names`` (default: every matched parameter) at ``level`` (see module docstring).

    Each parameter's criterion is re-minimised on a grid of :data:`GRID` multiples of the sandwich's predicted
    half-width (at the central slopes), extended outwards by :data:`EXTEND` while the criterion stays under the
    bound; the bound is relative to the least criterion seen anywhere (the fit's own or a profile point's: with
    a simulated criterion the search can stop above its minimum), and each end is the first crossing outwards
    from the least point, interpolated linearly.
    """
    m = cal.matched
    assert m is not None, "a Calibration from calibrate()"
    binding = binding_of(cal)
    counter = [0]

    def b(t: np.ndarray) -> np.ndarray:
        counter[0] += 1
        return binding(t)

    theta = np.asarray(m.theta, np.float64)
    target, w = cal.stat_data, m.weight
    jac = central_jacobian(b, theta, step)
    cov = sandwich(cal, jac)
    d0 = _distance(cal.stat_sim - target, w)
    threshold = float(chi2.ppf(level, 1) * simulation_factor(cal.data.n, cal.sim.histories.n))
    box = log_box(m.names)
    a = jac.T @ w @ jac
    todo = tuple(names or m.names)
    curves: dict[str, dict[float, float]] = {}
    for name in todo:
        k = m.names.index(name)
        others = [j for j in range(theta.size) if j != k]
        path = -np.linalg.lstsq(a[np.ix_(others, others)], a[others, k], rcond=None)[0]
        jo = jac[:, others]

        def criterion(delta: float) -> float:
            t = theta.copy()
            t[k] += delta
            t[others] += path * delta
            t = np.clip(t, box[0], box[1])
            best = math.inf
            for _ in range(REFITS):
                resid = target - b(t)
                d = _distance(resid, w)
                if d >= best:
                    break
                best, here = d, t.copy()
                t = here.copy()
                t[others] += _gauss_newton(jo, w, resid)
                t = np.clip(t, box[0], box[1])
            return best

        unit = math.sqrt(threshold * max(cov[k, k], 1e-8))
        curve = {0.0: d0}
        for g in GRID:
            for sign in (-1.0, 1.0):
                curve[sign * min(g * unit, WIDEST)] = criterion(sign * min(g * unit, WIDEST))
        for sign in (-1.0, 1.0):  # widen while the outermost point is still inside
            x = sign * min(GRID[-1] * unit, WIDEST)
            while abs(x) < WIDEST and curve[x] - min(curve.values()) < threshold:
                x = sign * min(abs(x) * EXTEND, WIDEST)
                curve[x] = criterion(x)
        curves[name] = curve
    least = min(min(c.values()) for c in curves.values()) if curves else d0
    low, high, points = {}, {}, {}
    for name, curve in curves.items():
        k = m.names.index(name)
        xs = np.array(sorted(curve))
        ds = np.array([curve[x] for x in xs])
        lo, hi = _crossings(xs, ds, least + threshold)
        low[name], high[name] = limited(name, theta[k] + lo), limited(name, theta[k] + hi)
        points[name] = [(float(theta[k] + x), float(d)) for x, d in zip(xs, ds)]
    return Profile(todo, low, high, jac, cov, threshold, points, counter[0], d0, least)


def _crossings(xs: np.ndarray, ds: np.ndarray, bound: float) -> tuple[float, float]:
    """Where the criterion ``ds`` (at sorted ``xs``) first rises over ``bound`` on each side of its least point.

    Linear interpolation between the last point inside and the first outside; the outermost point when none
    is outside on that side.
    """
    i = int(np.argmin(ds))
    ends = []
    for step in (-1, 1):
        j = i
        while 0 <= j + step < xs.size and ds[j + step] <= bound:
            j += step
        if not 0 <= j + step < xs.size:
            ends.append(float(xs[j]))
            continue
        x0, d0, x1, d1 = xs[j], ds[j], xs[j + step], ds[j + step]
        ends.append(float(x0 + (x1 - x0) * (bound - d0) / max(d1 - d0, 1e-12)))
    return ends[0], ends[1]


def with_profile(cal: Calibration, prof: Profile) -> Calibration:
    """``cal`` whose matched covariance has the profile's log half-widths, keeping the sandwich's correlations.

    Each parameter's log-scale SE becomes the mean profile half-width over the normal quantile, so the
    forecast (which draws the matched parameters jointly from the covariance) spreads as the intervals do.
    """
    m = cal.matched
    z = float(np.sqrt(chi2.ppf(LEVEL, 1)))
    sd = np.sqrt(np.maximum(np.diag(prof.sandwich), 1e-16))
    corr = prof.sandwich / np.outer(sd, sd)
    new_sd = sd.copy()
    ses = dict(cal.ses)
    for k, name in enumerate(m.names):
        if name in prof.low:
            half = 0.5 * (math.log(prof.high[name]) - math.log(prof.low[name]))
            new_sd[k] = half / z
            ses[name] = cal.values[name] * new_sd[k]
    bounds = {n: (prof.low[n], prof.high[n]) for n in prof.names}
    return replace(cal, ses=ses, covariance=corr * np.outer(new_sd, new_sd), bounds=bounds, method="profile")
