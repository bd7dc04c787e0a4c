"""Transaction logs written by the engine itself.

They are the data the calibration is checked against, and the simulations indirect inference matches a
real log with.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np

from experiments.logs.export import BASE_DATE, TRANSACTION_COLUMNS, OrderTracker, write_transactions  # noqa: F401 (BASE_DATE re-exported)
from sim.config import Scenario, apply_overrides
from sim.engine import Simulation
from sim.protocol import Policy
from sim.state import State


def purchases(sim: Simulation, days: int, policy: Policy | None = None,
              after_day: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day, amount) of every order the CRM saw over ``days`` steps of ``sim``.

    ``policy`` decides the contacts (nobody is contacted without one). Days count from the simulation's
    current day (0 = the first simulated day). ``after_day(t)`` is called at the end of each day t (to read
    the state then).
    """
    tracker = OrderTracker(sim)
    if policy is not None:
        policy.reset(sim.customers, sim.seed)
    cust: list[np.ndarray] = []
    day: list[np.ndarray] = []
    amount: list[np.ndarray] = []
    for t in range(days):
        sim.step(None if policy is None else policy.act(sim.observe()))
        rows, money = tracker.orders()
        if rows.size:
            cust.append(rows)
            day.append(np.full(rows.size, t, np.int64))
            amount.append(money)
        if after_day is not None:
            after_day(t)
    if not cust:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(cust), np.concatenate(day), np.concatenate(amount)


def pool_simulation(scenario: Scenario, customers: int, seed: int, state: State | None = None) -> Simulation:
    """A fresh pool of ``customers`` without contacts, as a transaction log's pool is simulated.

    Joiners come at ``population.joiners_per_year`` of the starting pool (Poisson a day, at no cost; settled in as the
    engine's ad joiners are: traits drawn from the population, salience 0.4, no purchase yet) and nobody else: the
    scenario's own inflow (``[acquisition]``, referred friends) is a pool's growth under a strategy, which a
    transaction log does not show apart from its customers.
    """
    rate = scenario.population.joiners_per_year
    if rate <= 0:
        return Simulation(scenario, customers=customers, seed=seed, state=state, inflow=False)
    joining = apply_overrides(scenario, {"acquisition.orders_per_day": 0.0, "acquisition.store_visitors_per_day": 0.0,
                                         "acquisition.ad_adds_per_day": rate * customers / 365.0,
                                         "acquisition.ad_cost_per_add": 0.0, "referral.joins": False},
                              "population.joiners_per_year")
    return Simulation(joining, customers=customers, seed=seed, state=state, inflow=True)


def engine_log(scenario: Scenario, customers: int, days: int, seed: int,
               state: State | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders of a fresh pool of ``scenario`` and its joiners (:func:`pool_simulation`) over ``days`` days."""
    return purchases(pool_simulation(scenario, customers, seed, state), days)


def write_log(path: Path, customer: np.ndarray, day: np.ndarray, amount: np.ndarray) -> None:
    """Write orders as ``transactions.csv`` (ISO dates from :data:`BASE_DATE`, ids ``c<row>``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TRANSACTION_COLUMNS)
        for d in np.unique(day).tolist():
            on = day == d
            write_transactions(w, d, customer[on], amount[on])


def engine_transactions(scenario: Scenario, customers: int, days: int, holdout: int, seed: int):
    """An engine log of ``days + holdout`` days read back as a brand's transactions.csv, and its calibration end.

    Goes through the file so that benchmarks see exactly what ``siyu calibrate`` reads.
    """
    import tempfile

    from experiments.logs.transactions import read_transactions

    c, d, a = engine_log(scenario, customers, days + holdout, seed)
    end = BASE_DATE.toordinal() + days - 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tx.csv"
        write_log(path, c, d, a)
        return read_transactions(path, calibration_end=end), end
