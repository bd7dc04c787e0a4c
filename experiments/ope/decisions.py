"""The off-policy unit: one decision per customer on a campaign day, its logged arm, propensity and outcome.

Arms are "no contact" and (channel, content) pairs (:func:`policies.randomized.parse_arms`); the slot is
not part of an arm. The outcome is the customer's revenue (yuan, the CRM's orders) from the campaign day
through ``horizon - 1`` days after it. A candidate policy is valued by the arm it would pick for each
customer from the CRM record of the campaign day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.crm.plan import decide
from experiments.crm.snapshot import BASE_DATE, CrmView
from experiments.logs.export import day_date
from experiments.logs.rows import LogError
from experiments.stats.ope import OffPolicy, evaluate, outcome_model
from policies.randomized import arm_index, arm_name
from sim.config import Scenario
from sim.observation import Observation
from sim.protocol import Policy

DEFAULT_HORIZON = 14
"""Days of revenue counted as a decision's outcome (the campaign day included)."""


@dataclass
class Decisions:
    """Logged decisions of one campaign: row i is customer ``view.ids[rows[i]]``."""

    view: CrmView
    """CRM record of every known customer as of the campaign day."""
    day: int
    rows: np.ndarray
    """Row in ``view`` of each decision's customer."""
    arms: list[tuple[int, int]]
    logged: np.ndarray
    """Arm index of each logged decision."""
    propensity: np.ndarray
    reward: np.ndarray
    """Revenue of each decision's customer over the horizon (yuan)."""

    @property
    def arm_names(self) -> list[str]:
        """Names of the arms (``none``, ``wecom:coupon``, ...)."""
        return [arm_name(a) for a in self.arms]


def features(obs: Observation) -> np.ndarray:
    """CRM features of the outcome model: log recency, frequency, spend, days since contact, interval; tier."""
    lg = np.log1p
    return np.column_stack([lg(np.minimum(obs.recency, 3650)), lg(obs.frequency.astype(np.float64)),
                            lg(obs.monetary.astype(np.float64)), lg(np.minimum(obs.days_since_contact, 3650)),
                            lg(obs.interval.astype(np.float64)), obs.tier == 1, obs.tier == 2, obs.tier == 3,
                            obs.reach != 0])


def candidate_arms(policy: Policy, d: Decisions, scenario: Scenario, seed: int = 0) -> np.ndarray:
    """Arm the candidate picks for each decision's customer (-1 where it is none of the arms)."""
    plan = decide(policy, d.view, scenario, d.day, seed)
    return arm_index(d.arms, plan.action.channel, plan.action.content)[d.rows]


def value(policy: Policy, d: Decisions, scenario: Scenario, support: np.ndarray | None = None,
          seed: int = 0) -> OffPolicy:
    """IPS, SNIPS and DR value per customer of ``policy`` on the logged decisions ``d``.

    ``support`` (decisions, arms) is the logging probability of every arm, when known (a logging policy
    that says it); without it, an arm is taken as supported where the candidate picks a logged arm.
    """
    target = candidate_arms(policy, d, scenario, seed)
    obs = d.view.observation(scenario, d.day)
    q = outcome_model(features(obs)[d.rows], d.logged, d.reward, len(d.arms))
    held = None if support is None else np.where(target >= 0, support[np.arange(target.size),
                                                                       np.maximum(target, 0)], 0.0)
    return evaluate(d.reward, d.logged, d.propensity, target, q, held, seed=seed)


def revenue(tx: object, ids: np.ndarray, day: int, horizon: int) -> np.ndarray:
    """Each of ``ids``' revenue in transactions ``tx`` on days ``day .. day + horizon - 1`` (day numbers)."""
    lo = day + BASE_DATE.toordinal()
    keep = (tx.day >= lo) & (tx.day < lo + horizon)  # type: ignore[attr-defined]
    where = {str(x): i for i, x in enumerate(ids)}
    rows = np.array([where.get(str(x), -1) for x in tx.ids], np.int64)[tx.customer[keep]]  # type: ignore[attr-defined]
    return np.bincount(rows[rows >= 0], weights=tx.amount[keep][rows >= 0], minlength=ids.size)  # type: ignore


def from_logs(view: CrmView, tx: object, contacts: object, ids: np.ndarray, propensity: np.ndarray,
              arms: list[tuple[int, int]], day: int, horizon: int, source: str) -> Decisions:
    """The decisions of campaign day ``day`` in ``contacts`` (rows of that day, one per customer).

    ``contacts.customer`` indexes ``ids``; ``propensity`` is the logging probability of each contact row.
    A ``none`` (control) row is the no-contact arm. A row whose arm is not in ``arms``, or a customer with
    two rows that day, is a :class:`LogError` naming ``source``: a campaign must log one decision each.
    """
    c = contacts
    on = np.flatnonzero(c.day - BASE_DATE.toordinal() == day)  # type: ignore[attr-defined]
    if on.size == 0:
        raise LogError(f"{source}: no rows on the campaign date {day_date(day)}")
    ch = np.where(c.content[on] < 0, -1, c.channel[on])  # type: ignore[attr-defined]
    logged = arm_index(arms, ch, np.maximum(c.content[on], 0))  # type: ignore[attr-defined]
    if (logged < 0).any():
        i = int(np.argmax(logged < 0))
        raise LogError(f"{source}: line {int(c.line[on[i]])}: an arm not in --arms "  # type: ignore[attr-defined]
                       f"({', '.join(arm_name(a) for a in arms)})")
    cust = c.customer[on]  # type: ignore[attr-defined]
    if np.unique(cust).size != cust.size:
        _, first = np.unique(cust, return_index=True)
        i = int(np.setdiff1d(np.arange(cust.size), first)[0])
        raise LogError(f"{source}: line {int(c.line[on[i]])}: a second row of customer {ids[cust[i]]} on the "  # type: ignore[attr-defined]
                       "campaign day; log one decision per customer")
    rows = _rows_of(view.ids, ids[cust])
    reward = revenue(tx, view.ids, day, horizon)[rows]
    return Decisions(view, day, rows, arms, logged, np.asarray(propensity, np.float64)[on], reward)


def _rows_of(ids: np.ndarray, want: np.ndarray) -> np.ndarray:
    where = {str(x): i for i, x in enumerate(ids)}
    return np.array([where[str(x)] for x in want], np.int64)
