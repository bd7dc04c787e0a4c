"""The estimate refined on a regression of the simulated statistics over independent simulations around it.

With common random numbers the engine's simulated statistics are not smooth in the parameters: a change of the
cycle moves need dates, and the customers whose dates cross a day draw other random numbers from there on, so two
simulations 0.2 apart in a log parameter are nearly independent. A search that keeps the best point it evaluates
therefore ends where one simulation's noise happened to favour the data (a winner's curse), and slopes taken there
by differences are noisy. On 60 fresh 1,000-customer engine logs the search's estimates of the cycle median and
its spread scattered 0.123 and 0.171 on the log scale where the linearised estimator at the truth, with precise
slopes, scatters 0.086 and 0.117; one log fitted with ten simulation seeds moved 0.066 and 0.078 with the seed
alone, up to twice what the simulation's share of the noise (1 + n/n_sim) allows (docs/calibration.md, "The estimate
refined on a regression").

The refinement simulates a design of points around the search's end, each with its own simulation seed, fits the
statistics by least squares as a linear function of the log parameters, and takes Gauss-Newton steps on that
fit: every simulation's noise is averaged instead of the least one picked, and the regression's slopes are the
sandwich's. The statistics at the estimate then carry the noise of ``leverage`` simulations' worth of one, which
the sandwich's simulation factor counts (:func:`~experiments.calibrate.fit.simulation_factor`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from sim.rng import purpose

P_REFINE = purpose("calibration_refine", 32)
"""Stream purpose of the refinement's simulation seeds (:func:`point_seed`)."""
HALF_WIDTH = 0.2
"""Half-width of the design in each log parameter. With 0.3 the regression bent with the statistics: in a prototype
refining one log's ten simulation seeds' search ends, the estimates scattered 0.026 and 0.047 (cycle, spread) against
0.011 and 0.023 at 0.2."""
POINTS = 4
"""Scrambled Sobol points per matched parameter in each round, besides the centre and the two ends of each axis."""
ROUNDS = 2
"""Rounds of the design at least, each centred where the one before led; each regression uses its round's points and
the round's before. Each round's step is at most :data:`HALF_WIDTH` in each log parameter: the linear fit is not
trusted beyond its points."""
MAX_ROUNDS = 4
"""Rounds at most: after :data:`ROUNDS`, another round while the last step still wanted to leave the design. Where the
log pins a direction only loosely (the dropout rate against its spread) the search's end can lie further than two
steps from the regression's least point: on six engine logs with dropout every refinement was still stepping after
two rounds, on one by 0.01 beyond the design (docs/calibration.md, "Refined along a loose direction")."""
TRUST_P = 0.001
"""p-value under which a simulation at the refined estimate disowns the regression there (:func:`trusted`)."""


@dataclass(frozen=True)
class Refined:
    """The refined estimate: log values, the regression's slopes there, and its statistics' share of noise."""

    theta: np.ndarray
    jac: np.ndarray
    """Slopes of the statistics in the log parameters (the regression's)."""
    leverage: float
    """Variance of the regression's statistics at ``theta`` in units of one simulation's (about 1 / points)."""
    simulations: int
    statistics: np.ndarray
    """The regression's statistics at ``theta``: a simulation there should differ from them by its noise alone
    (:func:`trusted`)."""
    converged: bool
    """Whether the last round's Gauss-Newton step stayed within the design (:data:`HALF_WIDTH`) in every parameter.
    Where the log barely pins a direction (the dropout rate against its spread) the linear fit's least point can lie
    further along it than :data:`MAX_ROUNDS` steps reach: the search's end is then kept."""


def gauss_newton(jac: np.ndarray, weight: np.ndarray, resid: np.ndarray) -> np.ndarray:
    """The weighted Gauss-Newton step, at most 1 in each log parameter.

    A parameter pushed past its limit moves nothing, so its column of slopes is zero and the system singular: the
    least-squares step then leaves it where it is (on CDNOW with ``dropout_salience`` 0 the search crashed there).
    """
    a = jac.T @ weight @ jac
    a = a + 1e-6 * np.diag(np.diag(a))
    g = jac.T @ weight @ resid
    try:
        step = np.linalg.solve(a, g)
    except np.linalg.LinAlgError:
        step = np.linalg.lstsq(a, g, rcond=None)[0]
    return np.clip(step, -1.0, 1.0)


def point_seed(seed: int, round_: int, point: int) -> int:
    """The simulation seed of one design point: independent of the fit's and of every other point's."""
    return int(np.random.SeedSequence([seed, P_REFINE, round_, point]).generate_state(1)[0])


def design(k: int, seed: int, round_: int, points: int = POINTS) -> np.ndarray:
    """(1 + 2k + points k, k) unit offsets: the centre, both ends of each axis, and scrambled Sobol points."""
    from scipy.stats import qmc

    axes = [s * e for e in np.eye(k) for s in (1.0, -1.0)]
    rng = np.random.default_rng(np.random.SeedSequence([seed, P_REFINE, round_]))
    with warnings.catch_warnings():  # 4k points are a spread design, not a quadrature: balance is not needed
        warnings.filterwarnings("ignore", "The balance properties of Sobol", UserWarning)
        sobol = qmc.Sobol(k, scramble=True, seed=rng).random(points * k) * 2.0 - 1.0
    return np.vstack([np.zeros((1, k)), *axes, sobol])


def refine(statistics_at: Callable[[np.ndarray, int], np.ndarray], theta: np.ndarray, target: np.ndarray,
           weight: np.ndarray, seed: int, box: np.ndarray, half_width: float = HALF_WIDTH, points: int = POINTS,
           rounds: int = ROUNDS, max_rounds: int = MAX_ROUNDS) -> Refined:
    """Refine the log values ``theta`` (see module docstring).

    ``statistics_at(theta, simulation_seed)``: the simulated statistics; ``box``: (2, k) log bounds the points and
    the estimate keep to.
    """
    k = theta.size
    centre = np.clip(np.asarray(theta, np.float64), box[0], box[1])
    at: list[np.ndarray] = []
    stats: list[np.ndarray] = []
    size = 1 + (2 + points) * k  # points a round
    for r in range(max(max_rounds, rounds)):
        for i, u in enumerate(design(k, seed, r, points)):
            t = np.clip(centre + half_width * u, box[0], box[1])
            at.append(t)
            stats.append(np.asarray(statistics_at(t, point_seed(seed, r, i)), np.float64))
        near = slice(max(len(at) - 2 * size, 0), None)  # this round's points and the round's before
        x = np.hstack([np.ones((len(at[near]), 1)), np.array(at[near]) - centre])
        coef = np.linalg.lstsq(x, np.array(stats[near]), rcond=None)[0]
        b0, jac = coef[0], coef[1:].T
        full = gauss_newton(jac, weight, target - b0)
        step = np.clip(full, -half_width, half_width)  # where the fit holds
        estimate = np.clip(centre + step, box[0], box[1])
        settled = bool(np.all(np.abs(full) <= half_width))
        if r + 1 >= rounds and (settled or r + 1 >= max_rounds):
            break
        centre = estimate
    offset = np.concatenate([[1.0], estimate - centre])
    leverage = float(offset @ np.linalg.pinv(x.T @ x) @ offset)
    return Refined(estimate, jac, leverage, len(at), b0 + jac @ (estimate - centre), settled)


def trusted(refined: Refined, simulated: np.ndarray, weight: np.ndarray, share: float, p: float = TRUST_P) -> bool:
    """Whether the refined estimate replaces the search's end: it settled and a simulation there agrees.

    It settled: :attr:`Refined.converged`. It agrees: ``simulated`` (one simulation's statistics at ``refined.theta``,
    with another seed than the design's) lies from the regression's statistics within their noise, ``share`` being one
    simulation's noise against the data's (n / n_sim). The weighted squared gap over (1 + leverage) share is
    chi-square on the statistics' number when the linear fit holds; a p-value under ``p`` says it does not (on an
    engine log with dropout the refined estimate ran to the box's corner, 20 a year, where the engine's statistics
    were 133 on 3 degrees of freedom from the data's).
    """
    from scipy.stats import chi2

    if not refined.converged:
        return False
    gap = simulated - refined.statistics
    d = float(gap @ weight @ gap) / ((1.0 + refined.leverage) * share)
    return bool(chi2.sf(d, np.linalg.matrix_rank(weight)) >= p)
