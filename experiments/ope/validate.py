"""The simulator checked against the logs: its predicted value of each arm and policy next to the off-policy estimate.

For each logged arm (given to everyone it can reach) and each candidate policy, the scenario predicts
the mean revenue per customer over the horizon: ``replicates`` pools of the scenario, each warmed up
like the logged pool and then decided by the policy on the campaign day (the replicates' mean and
Student-t interval). The logs say the same thing through the doubly robust estimate and its bootstrap
interval. A row *agrees* when the difference of the two lies within the Bonferroni-corrected critical
value of its standard error (all rows of the table hold together at 95%), and *disagrees* otherwise.

Two kinds of simulated pool (``pool``):

* ``scenario`` (the default): the scenario's own population, warmed up like the brand's pool. The check
  asks whether the calibrated scenario, warmed up like the brand's pool, values the arms and policies as
  the brand's own campaign does.
* ``brand``: the brand's own customers (:class:`experiments.ope.brand.BrandPool`), each customer of the
  CRM record of the campaign day conditioned on their own history as ``siyu forecast`` conditions a log's
  customers. On the engine's own logs it is biased low (docs/ope.md): the auxiliary model finds no spread
  of purchase rates in the engine's regular purchase records, so a customer's cycle is not conditioned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from experiments.ope.decisions import Decisions, value
from experiments.ope.brand import BrandPool
from experiments.ope.simulate import true_value, warmed_pool
from experiments.stats.intervals import ALPHA, interval
from policies.randomized import ArmPolicy
from sim.config import Scenario
from sim.protocol import Policy

ESTIMATOR = "dr"
"""The off-policy estimate the simulator is checked against (the lowest error of the three)."""
COLUMNS = ("policy", "simulated", "sim_low", "sim_high", "logged", "log_low", "log_high", "z", "verdict")
"""Header of ``validate.csv``: values are revenue per customer over the horizon (yuan)."""


@dataclass(frozen=True)
class Row:
    """One arm or policy: the simulator's prediction, the logs' estimate, and whether they agree."""

    policy: str
    simulated: float
    sim_low: float
    sim_high: float
    logged: float
    log_low: float
    log_high: float
    z: float
    """Difference over its standard error."""
    verdict: str
    """``agrees`` or ``disagrees``."""

    def cells(self) -> list[object]:
        """The row as ``validate.csv`` cells."""
        return [self.policy, *(round(v, 4) for v in (self.simulated, self.sim_low, self.sim_high, self.logged,
                                                      self.log_low, self.log_high, self.z)), self.verdict]


def critical(rows: int) -> float:
    """Two-sided normal critical value holding ``rows`` comparisons together at 95% (Bonferroni)."""
    from scipy import stats
    return float(stats.norm.ppf(1.0 - ALPHA / (2.0 * max(rows, 1))))


POOLS = ("scenario", "brand")
"""Kinds of simulated pool (see the module docstring)."""


def validate(scenario: Scenario, d: Decisions, policies: list[Policy], replicates: int = 10, warmup: int = 30,
             horizon: int = 14, customers: int | None = None, seed: int = 0,
             progress: Callable[[int], None] | None = None, pool: str = "scenario") -> list[Row]:
    """One row per logged arm, then per policy in ``policies`` (see the module docstring).

    Replicate ``r`` simulates a pool from seed ``seed + r``: with ``pool="scenario"`` ``customers`` (default:
    as many as the logged decisions) of the scenario warmed up ``warmup`` days, valued over all of them;
    with ``pool="brand"`` the record's customers, valued over the logged decisions' customers.
    ``progress`` gets the number of simulated pools done.
    """
    if pool not in POOLS:
        raise ValueError(f"pool: one of {', '.join(POOLS)}, got '{pool}'")
    every = [ArmPolicy(a) for a in d.arms] + list(policies)
    n = customers or int(d.reward.size)
    brand = BrandPool(scenario, d.view, d.day, warmup, seed) if pool == "brand" else None
    sims = np.zeros((len(every), replicates))
    for r in range(replicates):
        sim = brand.draw(seed + r) if brand is not None else warmed_pool(scenario, n, seed + r, warmup)
        for k, policy in enumerate(every):
            sims[k, r] = true_value(sim, policy, horizon, None if brand is None else d.rows)
        if progress is not None:
            progress(r + 1)
    z_crit = critical(len(every))
    z95 = critical(1)
    rows = []
    for k, policy in enumerate(every):
        s = interval(sims[k])
        est = value(policy, d, scenario, seed=seed).get(ESTIMATOR)
        se = math.hypot((s.ci_high - s.ci_low) / (2 * z95) if s.n > 1 else 0.0, (est.high - est.low) / (2 * z95))
        z = (s.mean - est.value) / se if se > 0 else math.inf * np.sign(s.mean - est.value)
        rows.append(Row(policy.name, s.mean, s.ci_low, s.ci_high, est.value, est.low, est.high, float(z),
                        "agrees" if abs(z) <= z_crit else "disagrees"))
    return rows

