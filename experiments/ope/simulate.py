"""A randomised campaign played in the engine: logs with known propensities, and every policy's true value.

The pool is warmed up under a rule policy (so the CRM record has history), then on the campaign day the
logging policy draws each customer's arm and nobody is contacted for the rest of the horizon. Each
candidate's true value is the same pool, the same day and the same luck (common random numbers) with the
candidate's actions instead: the value the off-policy estimates must cover.
"""

from __future__ import annotations

import copy
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.crm.snapshot import view_of_simulation
from experiments.logs.contacts import CONTROL
from experiments.logs.export import TRANSACTION_COLUMNS, OrderTracker, day_date, write_transactions
from experiments.ope.decisions import Decisions
from policies.randomized import RandomizedCampaign, arm_index, arm_probabilities
from policies.registry import load_policy
from sim.config import Scenario
from sim.defaults import CHANNELS, CONTENTS
from sim.engine import Simulation
from sim.observation import Action
from sim.protocol import Policy

WARMUP_POLICY = "fatigue_capped"
"""Policy that runs the pool before the campaign day."""


@dataclass
class Campaign:
    """The engine's randomised campaign: the decisions as logged, and what else the engine knows."""

    decisions: Decisions
    support: np.ndarray
    """(customers, arms) logging probability of every arm."""
    sim: Simulation
    """The pool on the campaign day, before the campaign (copy it before stepping)."""
    action: Action
    """The logged action of every customer."""
    revenue_days: np.ndarray
    """(customers, horizon) revenue per day (for the transactions log)."""


def warmed_pool(scenario: Scenario, customers: int, seed: int, warmup: int) -> Simulation:
    """A pool of ``scenario`` (nobody joins) after ``warmup`` days under :data:`WARMUP_POLICY`."""
    sim = Simulation(scenario, customers=customers, seed=seed, inflow=False)
    if warmup:
        policy = load_policy(WARMUP_POLICY)
        policy.reset(sim.n, sim.seed)
        for _ in range(warmup):
            sim.step(policy.act(sim.observe()))
    return sim


def play(sim: Simulation, action: Action, horizon: int) -> np.ndarray:
    """Revenue per customer and day over ``horizon`` days of a copy of ``sim``: ``action`` today, then nobody."""
    fork = copy.deepcopy(sim)
    tracker = OrderTracker(fork)
    out = np.zeros((fork.customers, horizon))
    for t in range(horizon):
        fork.step(action if t == 0 else None)
        rows, amount = tracker.orders()
        out[rows, t] = amount
    return out


def campaign(sim: Simulation, logging: RandomizedCampaign, horizon: int) -> Campaign:
    """Play ``logging``'s campaign today on a copy of ``sim``; the decisions as the brand would log them."""
    obs = sim.observe()
    logging.reset(sim.n, sim.seed)
    action = sim.validate(logging.act(obs))
    support = arm_probabilities(logging.arms, logging.weights, obs.usable)[:, :-1]
    prop = logging.propensity(obs, action)
    days = play(sim, action, horizon)
    view = view_of_simulation(sim)
    n = view.n
    logged = arm_index(logging.arms, action.channel, action.content)[:n]
    d = Decisions(view, sim.day, np.arange(n), logging.arms, logged, prop[:n], days.sum(axis=1))
    return Campaign(d, support[:n], sim, action, days)


def true_value(sim: Simulation, policy: Policy, horizon: int, rows: np.ndarray | None = None) -> float:
    """Mean revenue per customer over ``horizon`` days had ``policy`` decided today in ``sim`` (a copy is run).

    ``rows`` are the customers averaged over (default: all).
    """
    policy.reset(sim.n, sim.seed)
    action = sim.validate(policy.act(sim.observe()))
    revenue = play(sim, action, horizon).sum(axis=1)
    return float((revenue if rows is None else revenue[rows]).mean())


def write_logs(c: Campaign, out: Path) -> tuple[Path, Path]:
    """The campaign as a brand logs it: ``transactions.csv`` (orders of the horizon) and ``contacts.csv``.

    ``contacts.csv`` has one row per customer on the campaign day, ``content = none`` and an empty channel
    for no contact (as :func:`experiments.logs.export.export_logs` writes a no-contact draw), with the
    ``propensity`` of what the customer got.
    """
    out.mkdir(parents=True, exist_ok=True)
    d, a = c.decisions, c.action
    tx, contacts = out / "transactions.csv", out / "contacts.csv"
    with tx.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TRANSACTION_COLUMNS)
        for t in range(c.revenue_days.shape[1]):
            rows = np.flatnonzero(c.revenue_days[:, t])
            write_transactions(w, d.day + t, rows, c.revenue_days[rows, t])
    with contacts.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "date", "channel", "content", "propensity"])
        for i in range(d.view.n):
            ch = int(a.channel[i])
            w.writerow([d.view.ids[i], day_date(d.day), CHANNELS[ch] if ch >= 0 else "",
                        CONTENTS[a.content[i]] if ch >= 0 else CONTROL, repr(float(d.propensity[i]))])
    return tx, contacts
