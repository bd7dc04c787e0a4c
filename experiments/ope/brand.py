"""The brand's own customers as a simulated pool: each conditioned on their CRM record as of the campaign day.

What :mod:`experiments.calibrate.forecast` does for a transaction log, done for a CRM record
(:class:`~experiments.crm.snapshot.CrmView`, a snapshot or the record built from the logs). A buyer's
record (first and last purchase, purchases, spend) is their history: their hidden traits are drawn from
the auxiliary model's posterior given it and the silence since their last purchase is played with the
engine's formulas (:func:`experiments.calibrate.forecast.conditioned_state`). A customer who never
bought is a draw of the scenario's fans (a generated customer with no purchase). Then every customer
gets their own CRM record back (reach, contacts, cap window, last outcome, tier), so a policy sees in
the pool exactly what it sees in the record, and the pool starts on the campaign day.

Reach is the evidence of who is still there: in the engine a customer who leaves is reachable nowhere,
so a customer the record reaches on some channel is alive, and one it reaches nowhere has left. A record
built from logs without reach information (``--reachable``) therefore counts nobody as gone.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from experiments.calibrate import auxiliary
from experiments.calibrate.forecast import conditioned_state
from experiments.calibrate.history import Histories
from experiments.crm.snapshot import CrmView
from sim.config import Scenario
from sim.defaults import ACTIVE, DROPPED, NEVER
from sim.engine import Simulation
from sim.state import State, generate

RECORD = ("reach", "last_purchase", "first_purchase", "frequency", "monetary", "last_contact", "last_flags",
          "active_slot", "month_count", "tier")
"""Fields of the engine's state that are the CRM record, set from the brand's record."""
MIN_BUYERS = 30
"""Fewer buyers cannot fit the auxiliary model: their traits are the scenario's draws given the record."""


def buyers_of(view: CrmView) -> np.ndarray:
    """Rows of ``view`` with at least one purchase."""
    return np.flatnonzero((view.frequency > 0) & (view.last_purchase != NEVER))


def histories_of(view: CrmView, day: int) -> Histories:
    """The buyers' histories as of ``day`` (exclusive) from the record: what the posterior conditions on.

    Day numbers are the record's; the mean order is spend / purchases (a record holds no single orders).
    """
    rows = buyers_of(view)
    first = np.minimum(view.first_purchase[rows], view.last_purchase[rows]).astype(np.int64)
    last = view.last_purchase[rows].astype(np.int64)
    orders = view.frequency[rows].astype(np.int64)
    spend = view.monetary[rows].astype(np.float64)
    log_value = np.log(np.maximum(spend / np.maximum(orders, 1), 1e-6))
    end = day - 1
    return Histories(view.ids[rows], first, last, orders - 1, (last - first).astype(np.float64),
                     (end - first).astype(np.float64), log_value, log_value ** 2 * orders, orders, spend,
                     np.zeros(rows.size), end)


class BrandPool:
    """Draws of the brand's customers as pools starting on the campaign day (fit once, draw per replicate)."""

    def __init__(self, scenario: Scenario, view: CrmView, day: int) -> None:
        self.scenario, self.view, self.day = scenario, view, day
        self.rows = buyers_of(view)
        self.h = histories_of(view, day)
        self.beta = auxiliary.fit(self.h, covariance=False).beta if self.rows.size >= MIN_BUYERS else None
        pop = scenario.population
        self.log_cycle = (float(np.log(pop.cycle_median_days)), float(pop.cycle_sigma))
        """The scenario's population cycle: the record holds every buyer, not those a log window selects."""

    def draw(self, seed: int) -> Simulation:
        """One pool of the record's customers for ``seed``, on the campaign day, before anyone is contacted."""
        v, n = self.view, self.view.n
        alive = v.reach != 0
        st = _fans(self.scenario, n, seed)
        if self.beta is not None:
            rng = np.random.default_rng(np.random.SeedSequence([seed, 12]))
            bought = conditioned_state(self.scenario, self.h, self.beta, self.log_cycle, rng, seed, alive[self.rows])
            for f in fields(State):
                getattr(st, f.name)[self.rows] = getattr(bought, f.name)[: self.rows.size]
        for name in RECORD:
            getattr(st, name)[:] = getattr(v, name)
        st.status[:] = np.where(alive, ACTIVE, DROPPED)
        sim = Simulation(self.scenario, customers=n, seed=seed, state=st, inflow=False)
        sim.day = self.day
        sim.world.start(self.day, sim.state)
        return sim


def _fans(scenario: Scenario, n: int, seed: int) -> State:
    """``n`` customers of ``scenario`` who never bought: the generated fans of a pool large enough to hold them."""
    size = n
    while True:
        drawn = generate(scenario, size, seed)
        fans = np.flatnonzero(drawn.frequency == 0)
        if fans.size >= n or size > 64 * n:
            break
        size *= 4
    pick = fans[np.arange(n) % fans.size] if fans.size else np.arange(n)
    return State(*(getattr(drawn, f.name)[pick] for f in fields(State)))
