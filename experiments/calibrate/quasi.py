"""Draws from the quasi-posterior by importance sampling (``siyu calibrate --draws N``).

The fit's covariance describes the criterion J near the estimate; where the log pins a curved ridge (CDNOW's
dropout rate against the need lapse) the normal it implies leaves the ridge, and a forecast drawing from it
forecasts customers that do not look like the log's. Here each of N draws is scored by its own J on one common
simulation (the same random numbers for all, so differences of J are the parameters'), and weighed by the
quasi-likelihood exp(-J / 2 phi) (Chernozhukov and Hong 2003, with McCullagh and Nelder's dispersion phi for a fit
the engine does not reproduce) times a prior, over the density it was drawn from. The draws come from the fit's
normals (the estimate's and each basin's or other seed's, widened by phi and kept inside the search box) and a tenth
spread evenly over the box (a defensive mixture). The prior is the same normals made :data:`PRIOR_WIDTH` times
wider: the fit's own normal as the prior counts the log twice, and a flat prior over the box, tried first, handed
most of the weight on the CDNOW sample, whose log leaves the dropout rate loose, to a few draws in the box's empty
corner (a dropout of 0.002 a year; effective sample size 9 of 200; docs/calibration.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from experiments.calibrate.draws import Draws
from experiments.calibrate.fit import Calibration, Design, Matching, limited, log_box
from experiments.calibrate.seeds import common_misfit, dispersion
from sim.config import Scenario

DRAWS = 200
"""Draws by default: each costs a simulation of the calibration period (CDNOW's master file: 2-3 s)."""
DEFENSIVE = 0.1
"""Share of the draws spread evenly over the search box (a defensive mixture, Hesterberg 1995)."""
PROBE = 20_000
"""Normal draws per mixture part that measure the share of it inside the box (the truncated density's scale)."""
CONDITION = 1e-8
"""Smallest eigenvalue of a proposal's covariance relative to its largest (one master fit's spans 0 to 2,000)."""
PRIOR_WIDTH = 4.0
"""How many times the fit's (phi-widened) variances the prior's normals have. The fit's normal comes from the log the
quasi-likelihood weighs, so as the prior it would count that log twice and leave the draws half the fit's variance;
four times as wide leaves four fifths, and still weighs down the box's empty corners that a flat prior let in. On
twenty engine logs the draws' 90% ranges held the true cycle and its spread in 13 and 16 (11 and 13 with the fit's
own normal, 15 and 17 flat, at a third of the effective sample size; docs/calibration.md)."""
WEIGHING = (f"a prior (the fit's normals, widened by phi and {PRIOR_WIDTH:g} times their variance) times "
            "exp(-(J - Jmin) / 2 phi) over the density it came from")
"""What each draw is weighed by, in words (fit.md and scenario.toml say it)."""
QUASI_STREAM = 0x9A51
"""Seed-sequence tag of the draws' random numbers."""
RIDGE = 1e-6
"""The covariances' smallest eigenvalue: a degenerate direction (a parameter the bootstrap never moved) still has a
density."""


def positive(cov: np.ndarray) -> np.ndarray:
    """``cov`` made symmetric, with eigenvalues at least :data:`RIDGE` and :data:`CONDITION` times the largest.

    A covariance read back from a file's rounded comments, or a sandwich along a ridge, can be slightly indefinite.
    """
    sym = 0.5 * (cov + cov.T)
    vals, vecs = np.linalg.eigh(sym)
    floor = max(RIDGE, CONDITION * float(vals.max()))  # scipy takes relative to the largest as zero
    return (vecs * np.maximum(vals, floor)) @ vecs.T


class Normals:
    """A mixture of normals in equal parts, each truncated to the box: the fit's (the proposal) or wider (the prior)."""

    def __init__(self, centres: list[np.ndarray], covs: list[np.ndarray], box: np.ndarray,
                 rng: np.random.Generator) -> None:
        self.box = box
        self.parts = [multivariate_normal(c, positive(cv)) for c, cv in zip(centres, covs)]
        inside = [self.inside(p.rvs(PROBE, random_state=rng).reshape(PROBE, -1)).mean() for p in self.parts]
        self.log_inside = np.log(np.maximum(inside, 1.0 / PROBE))

    def inside(self, x: np.ndarray) -> np.ndarray:
        """Which rows of ``x`` lie in the box."""
        return np.all((x >= self.box[0]) & (x <= self.box[1]), axis=1)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One draw: a part at random, truncated by rejection (at least 1/PROBE of its draws are inside)."""
        part = self.parts[int(rng.integers(len(self.parts)))]
        while True:
            x = part.rvs(random_state=rng).reshape(1, -1)
            if self.inside(x)[0]:
                return x[0]

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at rows ``x`` inside the box."""
        normal = np.stack([p.logpdf(x).reshape(-1) - li for p, li in zip(self.parts, self.log_inside)])
        return logsumexp(normal, axis=0) - np.log(len(self.parts))


class Proposal:
    """The density the draws come from: the fit's normals (:class:`Normals`) and the uniform share."""

    def __init__(self, centres: list[np.ndarray], covs: list[np.ndarray], box: np.ndarray,
                 rng: np.random.Generator) -> None:
        self.box = box
        self.normals = Normals(centres, covs, box, rng)
        self.log_volume = float(np.sum(np.log(box[1] - box[0])))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` log-value draws: a :data:`DEFENSIVE` share uniform on the box, the rest from the normals."""
        out = np.empty((n, self.box.shape[1]))
        for i in range(n):
            out[i] = rng.uniform(self.box[0], self.box[1]) if rng.random() < DEFENSIVE else self.normals.draw(rng)
        return out

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """Log density of the whole proposal at ``x`` (rows of log values inside the box), the uniform share with it."""
        uniform = np.full(x.shape[0], np.log(DEFENSIVE) - self.log_volume)
        return np.logaddexp(self.normals.log_pdf(x) + np.log(1 - DEFENSIVE), uniform)


def importance_weights(js: np.ndarray, log_q: np.ndarray, phi: float, log_prior: np.ndarray | None = None
                       ) -> np.ndarray:
    """Weights prior x exp(-(J - Jmin) / 2 phi) / q, normalised: the quasi-posterior over the proposal's density.

    ``log_prior`` None: a flat prior.
    """
    logw = -0.5 * (js - js.min()) / phi - log_q + (0.0 if log_prior is None else log_prior)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def quasi_posterior(cal: Calibration, n: int = DRAWS, seed: int = 0,
                    tick: Callable[[int], None] | None = None, jobs: int = 1) -> Draws:
    """``n`` draws of a calibration's matched parameters, weighed to the quasi-posterior (the module's docstring)."""
    return calibration_scores(cal, n, seed, tick, jobs).weigh()


def calibration_scores(cal: Calibration, n: int = DRAWS, seed: int = 0,
                       tick: Callable[[int], None] | None = None, jobs: int = 1) -> Scored:
    """``n`` draws of a calibration's matched parameters, scored (:func:`score_quasi`).

    The proposal's normals are the estimate's and each basin's (or other seed's, ``--seeds``) with their
    covariances.
    """
    m = cal.matched
    if m is None or cal.covariance is None:
        raise ValueError("quasi_posterior needs a Calibration from calibrate() with its covariance")
    same = [b for b in cal.basins if not b.sets]  # a fit from another base is not scored on this one's
    centres = [m.theta] + [b.theta for b in same]
    covs = [np.asarray(cal.covariance)] + [b.covariance for b in same]
    return score_quasi(cal.base, m, cal.design, cal.stat_data, cal.data.n, centres, covs, n, seed, tick, jobs)


@dataclass(frozen=True)
class Scored:
    """Draws scored by their J and not yet weighed: one set of draws, weighed with any prior (:meth:`weigh`)."""

    names: tuple[str, ...]
    theta: np.ndarray
    """(draws, parameters) log values."""
    j: np.ndarray
    log_q: np.ndarray
    """Log density of the proposal at each draw."""
    dispersion: float
    centres: list[np.ndarray]
    covs: list[np.ndarray]
    """The fit's covariances, before phi: the prior is these times phi times its width."""
    box: np.ndarray
    seed: int

    def weigh(self, width: float | None = PRIOR_WIDTH) -> Draws:
        """The draws weighed to the quasi-posterior with the fit's normals ``width`` times wider as the prior.

        ``width`` None: a flat prior over the box.
        """
        log_prior = None
        if width is not None:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, QUASI_STREAM, 1]))
            prior = Normals(self.centres, [width * self.dispersion * c for c in self.covs], self.box, rng)
            log_prior = prior.log_pdf(self.theta)
        w = importance_weights(self.j, self.log_q, self.dispersion, log_prior)
        values = np.array([[limited(name, t) for name, t in zip(self.names, row)] for row in self.theta])
        return Draws(self.names, values, self.j, w, self.dispersion)


def score_quasi(base: Scenario, m: Matching, design: Design, target: np.ndarray, n_data: int,
                centres: list[np.ndarray], covs: list[np.ndarray], n: int = DRAWS, seed: int = 0,
                tick: Callable[[int], None] | None = None, jobs: int = 1) -> Scored:
    """``n`` draws of ``m.names`` from the proposal around ``centres``, each scored by its J on a common simulation.

    ``jobs`` worker processes score at once (the same draws and scores whatever ``jobs``). Interrupted (Ctrl-C)
    after two or more draws are scored, it keeps those: the draws are independent, so fewer of them are the
    same estimate, only noisier.
    """
    from experiments.running.backends import map_kept

    df = len(target) - len(m.names)
    score = partial(common_misfit, base, m, design, target, n_data, seed=seed, sims=1)
    j_centres = np.array([score(t) for t in centres])
    phi = dispersion(float(j_centres.min()), df)
    rng = np.random.default_rng(np.random.SeedSequence([seed, QUASI_STREAM]))
    box = log_box(m.names)
    proposal = Proposal(centres, [phi * c for c in covs], box, rng)
    theta = proposal.sample(n, rng)
    kept, js = map_kept(score, list(theta), jobs, tick, least=2)
    theta = theta[kept]
    j = np.array(js)
    phi = dispersion(float(min(j.min(), j_centres.min())), df)
    return Scored(m.names, theta, j, proposal.log_density(theta), phi, centres, covs, box, seed)
