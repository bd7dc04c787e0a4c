"""Another log's fit as a prior: a small log borrows what a larger log of like customers pins (``--prior``).

On CDNOW's panels of 2,357 customers, forecasting with the fit of the whole master file (ten times the customers)
instead of each panel's own fit took 3.1 points off the 39-week forecast's error: most of a small log's shortfall
was its fit's own noise (docs/calibration.md, "The fit's own noise on small logs"). A prior keeps the small log's
own data and adds the larger fit's information where the small log has little: each anchored parameter's log value
is matched, as one more statistic, to the other fit's estimate, weighted by the inverse of that fit's covariance
(its sandwich or bootstrap, as its scenario file keeps it). That is a normal prior on the log values, so the
criterion is the posterior's (up to a constant) and the fit's covariance the posterior's; the misfit test gains a
degree of freedom for each anchored parameter and so tests the prior against the data too.

``weight`` a discounts the other log: its covariance is divided by a, as if it had a times its customers (a power
prior, Ibrahim and Chen 2000). a = 1 pools the two logs' information, right when their customers are alike
(CDNOW's panels are dealt from one file); a smaller a lets a log of different customers move further from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.stats import chi2


class Prior(NamedTuple):
    """Another fit's estimate and covariance of log values (``siyu calibrate --prior``), plain numbers.

    A tuple of numbers and names, so it goes into a saved search's key and to a worker process as it is.
    """

    names: tuple[str, ...]
    mean: tuple[float, ...]
    """Log values of ``names`` at the other fit's estimate."""
    covariance: tuple[tuple[float, ...], ...]
    """The other fit's covariance of those log values."""
    weight: float = 1.0
    """How many of the other log's customers each counts as (0 < a <= 1): the covariance is divided by it."""
    source: str = ""
    """The scenario file it was read from (for fit.md)."""


@dataclass(frozen=True)
class Anchor:
    """A :class:`Prior` on the parameters a fit searches: which of them it anchors, where and how firmly.

    ``sigma`` is the block the anchored log values add to the matched statistics' covariance: the prior's
    covariance over ``factor``, the simulation's (:func:`~experiments.calibrate.fit.simulation_factor`), because
    the fit's criterion and sandwich carry that factor for the simulated statistics and the log values have no
    simulation noise. The criterion over the factor (the misfit's J) is then the data's J plus the prior's term,
    and the sandwich the posterior's covariance.
    """

    index: tuple[int, ...]
    """Positions of the anchored parameters among the fitted names."""
    names: tuple[str, ...]
    mean: np.ndarray
    covariance: np.ndarray
    """The prior's covariance of the anchored log values (the other fit's over the weight)."""
    factor: float
    weight: float
    source: str

    @property
    def stat_names(self) -> tuple[str, ...]:
        """The anchored values' names among the matched statistics."""
        return tuple(f"prior {n}" for n in self.names)

    @property
    def sigma(self) -> np.ndarray:
        """Their block of the matched statistics' covariance."""
        return self.covariance / self.factor

    def values(self, theta: np.ndarray) -> np.ndarray:
        """The anchored log values at ``theta`` (the statistics they add)."""
        return np.asarray(theta, np.float64)[list(self.index)]

    def conflict(self, p: float) -> float:
        """How far the J of a fit with this prior may exceed the same log's J without it, at level ``p``.

        The prior adds a statistic for each anchored parameter and no parameter, so where it suits the log the
        difference of the two J's is chi-squared on that many degrees of freedom (the difference test of
        over-identifying restrictions, Eichenbaum, Hansen and Singleton 1988). Above it, the prior and the log disagree.
        """
        return float(chi2.isf(p, len(self.names)))


def anchor(prior: Prior | None, names: tuple[str, ...], factor: float) -> Anchor | None:
    """``prior`` on the fitted ``names``: the marginal over those of its names that are fitted (None: no prior).

    ValueError when it anchors none of them (a prior that could not act would be a silent no-op).
    """
    if prior is None:
        return None
    index = tuple(k for k, n in enumerate(names) if n in prior.names)
    if not index:
        where = f" ({prior.source})" if prior.source else ""
        raise ValueError(f"the prior{where} has none of the fitted parameters ({', '.join(names)}) among its own "
                         f"({', '.join(prior.names)})")
    at = [prior.names.index(names[k]) for k in index]
    cov = np.asarray(prior.covariance, np.float64)[np.ix_(at, at)] / prior.weight
    return Anchor(index, tuple(names[k] for k in index), np.asarray(prior.mean, np.float64)[at], cov, float(factor),
                  float(prior.weight), prior.source)


def block(sigma: np.ndarray, a: Anchor | None) -> np.ndarray:
    """The matched statistics' covariance ``sigma`` with the anchored values' block after it (as it is: no anchor)."""
    if a is None:
        return sigma
    m, k = sigma.shape[0], len(a.index)
    out = np.zeros((m + k, m + k))
    out[:m, :m] = sigma
    out[m:, m:] = a.sigma
    return out
