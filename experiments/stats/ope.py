"""Off-policy estimators of a candidate policy's value from logged decisions with known propensities.

One *decision* per customer: the arm ``a_i`` the logging policy chose (with probability ``p_i``), the
arm ``t_i`` the candidate would choose (deterministic; -1 when it is none of the logged arms) and the
outcome ``r_i``. With importance weights ``w_i = 1{a_i = t_i} / p_i``:

* IPS: ``mean(w r)``, unbiased whenever ``p_i > 0`` for the candidate's arm;
* self-normalised IPS (SNIPS): ``sum(w r) / sum(w)``, slightly biased, lower variance;
* doubly robust (DR): ``mean(q(x_i, t_i) + w_i (r_i - q(x_i, a_i)))`` with an outcome model ``q``,
  unbiased if either the propensities or the model are right, and of lower variance when the model is good.

These are the estimators of Open Bandit Pipeline (``InverseProbabilityWeighting``,
``SelfNormalizedInverseProbabilityWeighting``, ``DoublyRobust``) for a deterministic evaluation policy.
Intervals are percentile bootstraps over customers (seeded resampling); the effective sample size
``(sum w)^2 / sum w^2`` says how many logged decisions the estimate really rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.stats.intervals import ALPHA

BOOTSTRAP_DRAWS = 1000
"""Resamples of the bootstrap intervals."""
MIN_ESS = 100
"""Below this effective sample size an estimate rests on too few matching decisions: a warning."""
RIDGE = 1.0
"""Ridge penalty of the outcome model (features are standardised)."""


@dataclass(frozen=True)
class Estimate:
    """One estimator's value per decision and its bootstrap interval."""

    estimator: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class OffPolicy:
    """IPS, SNIPS and DR estimates of one candidate, and how well the logs support it."""

    estimates: tuple[Estimate, ...]
    n: int
    """Logged decisions."""
    matched: int
    """Decisions where the logged arm is the candidate's."""
    ess: float
    """Effective sample size of the importance weights."""
    unsupported: int
    """Decisions where the candidate picks an arm the logs never offered that customer (probability 0)."""

    def get(self, estimator: str) -> Estimate:
        """The estimate named ``estimator`` (ips, snips, dr)."""
        return next(e for e in self.estimates if e.estimator == estimator)

    @property
    def warning(self) -> str | None:
        """Why the estimates should not be trusted, or None."""
        out = []
        if self.unsupported:
            out.append(f"{self.unsupported:,} of {self.n:,} customers get an action the logs never gave them "
                       "(no support: their outcome counts as 0)")
        if self.ess < MIN_ESS:
            out.append(f"effective sample size {self.ess:.0f} < {MIN_ESS}: too few logged decisions match")
        return "; ".join(out) or None


def evaluate(reward: np.ndarray, logged: np.ndarray, propensity: np.ndarray, target: np.ndarray,
             q: np.ndarray | None = None, target_support: np.ndarray | None = None, seed: int = 0,
             draws: int = BOOTSTRAP_DRAWS) -> OffPolicy:
    """IPS, SNIPS and (with an outcome model ``q`` of shape (n, arms)) DR estimates with bootstrap intervals.

    ``logged`` and ``target`` are arm indices (``target`` -1 outside the arms), ``propensity`` the logging
    probability of each logged arm, ``target_support`` the logging probability of the candidate's arm
    (to count unsupported decisions; default: assume support). The bootstrap resamples customers with
    a generator seeded by ``seed``.
    """
    r = np.asarray(reward, np.float64)
    p = np.asarray(propensity, np.float64)
    if r.shape != p.shape or r.shape != logged.shape or r.shape != target.shape or r.size == 0:
        raise ValueError("reward, logged, propensity and target must be arrays of the same, non-zero length")
    if not ((p > 0) & (p <= 1)).all():
        raise ValueError("propensities must be in (0, 1]")
    n = r.size
    w = (logged == target) / p
    terms = {"ips": w * r}
    if q is not None:
        rows = np.arange(n)
        model = np.where(target >= 0, q[rows, np.maximum(target, 0)], 0.0)
        terms["dr"] = model + w * (r - q[rows, logged])
    values = {k: float(v.mean()) for k, v in terms.items()}
    sw = float(w.sum())
    values["snips"] = float(terms["ips"].sum() / sw) if sw > 0 else 0.0
    boot = {k: np.empty(draws) for k in values}
    rng = np.random.default_rng(seed)
    for b in range(draws):
        idx = rng.integers(0, n, n)
        for k, v in terms.items():
            boot[k][b] = v[idx].mean()
        s = w[idx].sum()
        boot["snips"][b] = terms["ips"][idx].sum() / s if s > 0 else 0.0
    half = 100 * ALPHA / 2
    estimates = tuple(Estimate(k, values[k], *(float(x) for x in np.percentile(boot[k], [half, 100 - half])))
                      for k in ("ips", "snips", "dr") if k in values)
    ess = sw * sw / float((w * w).sum()) if sw > 0 else 0.0
    unsupported = int((target < 0).sum()) if target_support is None else int((np.asarray(target_support) <= 0).sum())
    return OffPolicy(estimates, n, int((logged == target).sum()), ess, unsupported)


def outcome_model(features: np.ndarray, logged: np.ndarray, reward: np.ndarray, arms: int,
                  folds: int = 2) -> np.ndarray:
    """Cross-fitted ridge regression of the outcome on ``features``, one per arm: predictions (n, arms).

    Customer ``i`` is predicted by the models fitted on the other folds (``i % folds``), so its own
    outcome never enters its prediction; an arm with too few logged decisions in a fold predicts the
    fold's mean outcome of that arm (or of all arms).
    """
    x = np.asarray(features, np.float64)
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-9)
    x = np.column_stack([np.ones(x.shape[0]), x])
    fold = np.arange(x.shape[0]) % folds
    out = np.zeros((x.shape[0], arms))
    penalty = RIDGE * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    for f in range(folds):
        train, test = fold != f, fold == f
        for k in range(arms):
            m = train & (logged == k)
            if m.sum() <= x.shape[1]:
                out[test, k] = reward[m].mean() if m.any() else reward[train].mean()
                continue
            beta = np.linalg.solve(x[m].T @ x[m] + penalty, x[m].T @ reward[m])
            out[test, k] = x[test] @ beta
    return out
