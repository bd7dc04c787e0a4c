"""The brand's own customers as a simulated pool: each conditioned on their CRM record as of the campaign day.

What :mod:`experiments.calibrate.forecast` does for a transaction log, done for a CRM record
(:class:`~experiments.crm.snapshot.CrmView`, a snapshot or the record built from the logs). A buyer's
record (first and last purchase, purchases, spend, and whether some channel reaches them) is their
history. The posterior of their hidden state given it is the scenario's own: a reference pool of the
scenario is warmed up as the brand's was, and each customer takes the whole hidden state (cycle, dropout
hazard, need clock, salience, trust, fatigue, deal-proneness, ...) of one of the simulated customers with
the nearest records and the same status (:class:`experiments.calibrate.posterior.Nearest`): buyers on their
history (x, t_x, T), customers who never bought on the days since their last contact. A buyer's usual
order is their own mean order, divided by the share of their usual order the simulated customer paid
(discounts). Then every customer gets their own CRM record back (reach, contacts, cap window, last
outcome, tier), so a policy sees in the pool exactly what it sees in the record, and the pool starts on
the campaign day.

Reach is the evidence of who is still there: in the engine a customer who leaves is reachable nowhere,
so a customer the record reaches on some channel is alive, and one it reaches nowhere has left. A record
built from logs without reach information (``--reachable``) therefore counts nobody as gone.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from experiments.calibrate.posterior import Nearest, features, rng_of, seed_of
from experiments.calibrate.history import Histories
from experiments.crm.snapshot import CrmView, view_of_simulation
from experiments.ope.simulate import warmed_pool
from sim.config import Scenario
from sim.defaults import ACTIVE, DROPPED, NEVER
from sim.engine import Simulation
from sim.state import State

RECORD = ("reach", "last_purchase", "first_purchase", "frequency", "monetary", "last_contact", "last_flags",
          "active_slot", "month_count", "tier")
"""Fields of the engine's state that are the CRM record, set from the brand's record."""
REFERENCE_MIN, REFERENCE_MAX = 20_000, 200_000
"""Bounds on the customers of the reference pool (twice the record's customers within them)."""


def buyers_of(view: CrmView) -> np.ndarray:
    """Rows of ``view`` with at least one purchase."""
    return np.flatnonzero((view.frequency > 0) & (view.last_purchase != NEVER))


def histories_of(view: CrmView, day: int, rows: np.ndarray | None = None) -> Histories:
    """The buyers' histories as of ``day`` (exclusive) from the record: what the posterior conditions on.

    ``rows``: the buyers (default :func:`buyers_of`). Day numbers are the record's; the mean order is
    spend / purchases (a record holds no single orders, so the repeats in the late and middle thirds are zeros).
    """
    rows = buyers_of(view) if rows is None else rows
    first = np.minimum(view.first_purchase[rows], view.last_purchase[rows]).astype(np.int64)
    last = view.last_purchase[rows].astype(np.int64)
    orders = view.frequency[rows].astype(np.int64)
    spend = view.monetary[rows].astype(np.float64)
    log_value = np.log(np.maximum(spend / np.maximum(orders, 1), 1e-6))
    end = day - 1
    return Histories(view.ids[rows], first, last, orders - 1, (last - first).astype(np.float64),
                     (end - first).astype(np.float64), log_value, log_value ** 2 * orders, orders, spend,
                     np.zeros(rows.size), np.zeros(rows.size), end)


def record_features(view: CrmView, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(buyers, their features, the others' features) of a record on ``day``, what customers are matched on.

    A buyer's: their history (:func:`~experiments.calibrate.posterior.features` of x, t_x, T); a customer
    who never bought: log(1 + days since their last contact), large when never contacted.
    """
    rows = buyers_of(view)
    h = histories_of(view, day, rows)
    others = np.setdiff1d(np.arange(view.n), rows)
    since = np.where(view.last_contact[others] == NEVER, 10_000, day - view.last_contact[others].astype(np.int64))
    return rows, features(h.x, h.t_x, h.T), np.log1p(np.maximum(since, 0)).astype(np.float64)[:, None]


class BrandPool:
    """Draws of the brand's customers as pools starting on the campaign day (built once, drawn per replicate).

    The posterior of each customer's hidden state given their record is a reference pool: ``scenario``
    (``reference`` customers, default twice the record's within :data:`REFERENCE_MIN` and
    :data:`REFERENCE_MAX`) warmed up ``warmup`` days as ``siyu validate`` warms its own, from a seed derived
    from ``seed`` (so a brand the engine simulated is never its own reference).
    """

    def __init__(self, scenario: Scenario, view: CrmView, day: int, warmup: int = 30, seed: int = 0,
                 reference: int | None = None) -> None:
        self.scenario, self.view, self.day = scenario, view, day
        size = reference or int(min(max(2 * view.n, REFERENCE_MIN), REFERENCE_MAX))
        ref_seed = seed_of(seed, size)
        sim = warmed_pool(scenario, size, ref_seed, warmup)
        self.reference = sim.state
        ref = view_of_simulation(sim)
        alive = ref.reach != 0
        self.ref_rows, buyers, fans = record_features(ref, sim.day)
        self.ref_fans = np.setdiff1d(np.arange(ref.n), self.ref_rows)
        self.rows, self.features, self.fan_features = record_features(view, day)
        self.buyers = Nearest(buyers, alive[self.ref_rows], seed=ref_seed)
        self.fans = Nearest(fans, alive[self.ref_fans], seed=ref_seed + 1) if self.ref_fans.size else None
        value = ref.monetary[self.ref_rows] / np.maximum(ref.frequency[self.ref_rows], 1)
        self.paid = np.ones(ref.n)
        """Share of a reference buyer's usual order they paid on average (discounts), to read a buyer's value."""
        self.paid[self.ref_rows] = np.where(value > 0, value / self.reference.value[self.ref_rows], 1.0)

    def draw(self, seed: int) -> Simulation:
        """One pool of the record's customers for ``seed``, on the campaign day, before anyone is contacted."""
        v, n = self.view, self.view.n
        alive = v.reach != 0
        rng = rng_of(seed, 12)
        pick = np.zeros(n, np.int64)
        pick[self.rows] = self.ref_rows[self.buyers.draw(self.features, rng, alive[self.rows])]
        others = np.setdiff1d(np.arange(n), self.rows)
        if others.size:
            pick[others] = (self.ref_fans[self.fans.draw(self.fan_features, rng, alive[others])] if self.fans
                            else self.ref_rows[rng.integers(self.ref_rows.size, size=others.size)])
        st = State(*(getattr(self.reference, f.name)[pick].copy() for f in fields(State)))
        for name in RECORD:
            getattr(st, name)[:] = getattr(v, name)
        own = v.monetary[self.rows] / np.maximum(v.frequency[self.rows], 1)
        st.value[self.rows] = np.where(own > 0, own / self.paid[pick[self.rows]], st.value[self.rows])
        st.status[:] = np.where(alive, ACTIVE, DROPPED)
        sim = Simulation(self.scenario, customers=n, seed=seed, state=st, inflow=False)
        sim.day = self.day
        sim.world.start(self.day, sim.state)
        return sim
