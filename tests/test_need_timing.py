"""Need that comes at a steady rate (``dynamics.need_impulse``) and the lapse at need occasions (``need_lapse``)."""

from __future__ import annotations

import math

import numpy as np

from policies import make_policy
from sim import Simulation, load_scenario
from sim.config import apply_overrides
from sim.defaults import ACTIVE, DROPPED
from sim.kernels import personal_lapse
from sim.seeding import from_histories


def _lapsing(lapse: float):
    """``beauty`` with no dropout but the lapse: every dropout is a lapse at a need occasion."""
    return apply_overrides(load_scenario("beauty"), {"population.dropout_per_year": 0.0,
                                                     "dynamics.need_lapse": lapse})


def test_each_need_occasion_ends_the_customer_with_chance_need_lapse():
    """With no contacts, a need occasion is an organic purchase or a sale lost to a rival; with no other dropout,
    the dropouts are a binomial draw of ``need_lapse`` over those occasions."""
    lapse = 0.2
    r = Simulation(_lapsing(lapse), 4000, 11).run(make_policy("no_contact"), 120, residual=False)
    occasions = float(r.daily["purchases_organic"].sum() + r.daily["lost_to_rivals"].sum())
    drops = float(r.daily["dropouts"].sum())
    assert occasions > 2000
    z = (drops - lapse * occasions) / math.sqrt(occasions * lapse * (1 - lapse))
    assert abs(z) < 4.0, (drops, occasions, z)


def test_no_lapse_and_no_dropout_lose_nobody():
    r = Simulation(_lapsing(0.0), 2000, 11).run(make_policy("no_contact"), 60, residual=False)
    assert r.daily["dropouts"].sum() == 0 and r.daily["purchases_organic"].sum() > 0


def test_a_history_s_last_purchase_is_an_occasion_to_lapse():
    """Conditioned on their own history, customers may have lapsed at their last order: all of them at lapse 1,
    none of those who bought yesterday at lapse 0."""
    n = 1000
    last = np.full(n, -1, np.int64)
    args = (5, np.full(n, 45.0), np.zeros(n), np.full(n, 100.0), last - 100, last, np.full(n, 3),
            np.full(n, 300.0), np.ones(n, bool))
    assert np.all(from_histories(_lapsing(1.0), *args).status[:n] == DROPPED)
    assert np.all(from_histories(_lapsing(0.0), *args).status[:n] == ACTIVE)


def test_an_impulse_need_comes_at_one_per_cycle_whatever_the_clock():
    """At ``need_impulse`` 1 the need hazard is 1/cycle every day, so a pool of 30-day cycles has one occasion
    per 30 active customer-days (Poisson count), though need never builds on the cycle within the run."""
    sc = apply_overrides(load_scenario("beauty"), {"population.dropout_per_year": 0.0, "population.cycle_sigma": 0.0,
                                                   "population.cycle_median_days": 30.0, "dynamics.need_onset": 5.0,
                                                   "dynamics.need_impulse": 1.0})
    sim = Simulation(sc, 3000, 5)
    active_before = float(np.sum(sim.state.status[: sim.n] == ACTIVE))
    r = sim.run(make_policy("no_contact"), 60, residual=False)
    active = r.daily["reachable"] + r.daily["unreachable"]
    exposure = active_before + float(active[:-1].sum())  # active at the start of each day
    occasions = float(r.daily["purchases_organic"].sum() + r.daily["lost_to_rivals"].sum())
    z = (occasions - exposure / 30.0) / math.sqrt(exposure / 30.0)
    assert abs(z) < 4.0, (occasions, exposure / 30.0, z)


def test_the_lapse_follows_a_customer_s_own_dropout_hazard_at_spread_1():
    """``need_lapse_spread`` 1: the lapse is ``need_lapse`` x dropout hazard / mean, so the customers slow to drift
    away (the lower half of dropout hazards) also lapse less; at spread 0 both halves lapse alike (two-proportion
    z within 4). The time dropout is 0.01 a year: a few of the pool in 120 days."""
    def halves(spread: float) -> float:
        sc = apply_overrides(_lapsing(0.2), {"population.dropout_per_year": 0.01, "population.dropout_sigma": 1.0,
                                             "dynamics.need_lapse_spread": spread})
        sim = Simulation(sc, 4000, 11)
        n = sim.n  # those there at the start: joiners come later
        low = sim.state.dropout[:n] < np.median(sim.state.dropout[:n])
        sim.run(make_policy("no_contact"), 120, residual=False)
        gone = sim.state.status[:n] == DROPPED
        a, b = gone[low].mean(), gone[~low].mean()
        pooled = gone.mean()
        return (b - a) / math.sqrt(pooled * (1 - pooled) * (1 / low.sum() + 1 / (~low).sum()))

    assert abs(halves(0.0)) < 4.0
    assert halves(1.0) > 8.0


def test_personal_lapse_scales_with_the_dropout_hazard_and_stays_a_chance():
    assert personal_lapse(0.2, 0.0, 5.0, 1.0) == 0.2  # spread 0: the same for all, bit for bit
    assert personal_lapse(0.2, 1.0, 0.5, 1.0) == 0.1
    assert personal_lapse(0.2, 2.0, 2.0, 1.0) == 0.8
    assert personal_lapse(0.2, 1.0, 50.0, 1.0) == 1.0  # a chance: capped at 1
    assert personal_lapse(0.2, 1.0, 0.3, 0.0) == 0.2  # no mean dropout to compare with: the same for all


def test_a_history_s_last_purchase_lapses_by_the_customer_s_own_hazard_at_spread_1():
    """Spread 1, need_lapse 0.5: a customer at twice the mean dropout hazard lapsed at their last order (chance 1),
    one with no dropout hazard did not (chance 0); both bought yesterday, so no silent day adds a dropout."""
    sc = apply_overrides(_lapsing(0.5), {"population.dropout_per_year": 18.25, "dynamics.need_lapse_spread": 1.0})
    n = 1000
    dropout = np.where(np.arange(n) % 2 == 0, 0.0, 2 * 18.25 / 365)
    last = np.full(n, -1, np.int64)
    st = from_histories(sc, 5, np.full(n, 45.0), dropout, np.full(n, 100.0), last - 100, last, np.full(n, 3),
                        np.full(n, 300.0), np.ones(n, bool))
    assert np.all(st.status[:n:2] == ACTIVE) and np.all(st.status[1:n:2] == DROPPED)
