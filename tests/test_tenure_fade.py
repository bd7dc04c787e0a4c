"""The tenure fade: a customer's share of need occasions wears off with the time since their first purchase."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.calibrate.fit import EARLY_MID, PACE, TENURE, Design, _problem, extra_statistics, search_log
from experiments.calibrate.forecast import forecast
from experiments.calibrate.history import summarize
from experiments.calibrate.simulate import pool_simulation, purchases
from sim.config import apply_overrides, load_scenario
from sim.defaults import NEVER
from sim.engine import Simulation

FADE, FLOOR = 2.0, 0.4


def one_day_of_chances(scenario, state) -> np.ndarray:
    """Each customer's chance of a purchase on the first day of a simulation started from ``state``."""
    sim = Simulation(scenario, customers=state.status.size, seed=5, state=state.copy(), inflow=False)
    chances = sim.expect_purchases()
    sim.step()
    return chances


def test_a_year_after_the_first_purchase_the_chance_is_the_share_the_fade_keeps():
    beauty = load_scenario("beauty")
    sim = pool_simulation(beauty, 4000, 3)
    for _ in range(30):
        sim.step()
    state = sim.state.copy()
    bought = state.first_purchase != NEVER
    state.first_purchase[bought] = -365  # a year before the first day
    off = one_day_of_chances(beauty, state)
    on = one_day_of_chances(apply_overrides(beauty, {"dynamics.tenure_fade": FADE, "dynamics.tenure_floor": FLOOR}),
                            state)
    kept = FLOOR + (1 - FLOOR) * math.exp(-FADE)  # 2 a year over one year
    with_chance = off > 0
    assert (bought & with_chance).sum() > 500 and (~bought & with_chance).sum() > 100
    np.testing.assert_allclose(on[bought & with_chance] / off[bought & with_chance], kept, rtol=1e-9)
    np.testing.assert_array_equal(on[~bought], off[~bought])  # no first purchase yet: nothing to fade from


def test_the_default_is_off_and_keeps_every_config_hash():
    beauty = load_scenario("beauty")
    assert beauty.dynamics.tenure_fade == 0.0
    assert apply_overrides(beauty, {"dynamics.tenure_floor": 0.0}).config_hash() == beauty.config_hash()
    assert apply_overrides(beauty, {"dynamics.tenure_fade": 0.5}).config_hash() != beauty.config_hash()


def small_log():
    """Four customers over days 0-89: the first third is days 0-31, the middle 32-60, the last 61-89."""
    orders = {0: [0, 10, 40, 41, 70], 1: [0, 20, 40], 2: [0, 15], 3: [0, 35, 45, 80]}
    cust = np.array([c for c, days in orders.items() for _ in days])
    day = np.array([d for days in orders.values() for d in days])
    return summarize(np.arange(4).astype(object), cust, day, np.full(day.size, 10.0), 89)


def test_the_pace_and_the_early_share_going_on_are_matched_with_their_influence():
    h = small_log()
    values, influence = extra_statistics(h, (PACE, EARLY_MID))
    # repeats in both the middle and the last third: customers 0 (2 then 1) and 3 (2 then 1): 2 over 4
    assert values[0] == 0.5
    # a repeat in the first third: customers 0, 1 and 2; of them 0 and 1 repeat in the middle third
    assert values[1] == 2 / 3
    assert np.allclose(influence.sum(axis=0), 0.0)  # influences of a ratio and a share sum to zero
    assert influence[2, 0] == 0.0 and influence[3, 1] == 0.0  # neither in the group the statistic is taken over


def test_the_fade_is_refused_on_a_pool_seen_through_a_window_and_adds_its_statistics_on_a_cohort():
    h = small_log()
    assert Design.of(h).new  # every first order on day 0: a cohort of new customers
    problem = _problem(h, "auto", 1000, TENURE, (), ())
    assert problem.stat_names[-2:] == (PACE, EARLY_MID) and problem.names[-2:] == TENURE
    with pytest.raises(ValueError, match="existing pool seen through a window"):
        _problem(h, "pool", 1000, TENURE, (), ())


def test_a_scenario_with_a_tenure_fade_forecasts_a_cohort_but_not_a_pool_seen_through_a_window():
    h = small_log()
    faded = apply_overrides(load_scenario("beauty"), {"dynamics.tenure_fade": FADE, "dynamics.tenure_floor": FLOOR})
    assert forecast(faded, h, 14, replicates=2, cohort="new").mean.size == 2
    with pytest.raises(ValueError, match="cannot forecast with a tenure fade: the log reads as an existing pool"):
        forecast(faded, h, 14, replicates=2, cohort="pool")
    with pytest.raises(ValueError, match="cannot calibrate from a base scenario with a tenure fade: the log reads"):
        search_log(h, faded, cohort="pool", min_pool=1000)


def test_the_drawn_purchases_fade_as_the_summed_chances_do():
    """The day kernel's draws and the chances a forecast sums carry the same fade (3 sd: 3 sqrt(total))."""
    faded = apply_overrides(load_scenario("beauty"), {"dynamics.tenure_fade": FADE, "dynamics.tenure_floor": FLOOR})
    sim = pool_simulation(faded, 20_000, 3)
    for _ in range(30):
        sim.step()
    state = sim.state.copy()
    state.first_purchase[state.first_purchase != NEVER] = -365
    sim = Simulation(faded, customers=state.status.size, seed=5, state=state, inflow=False)
    chances = sim.expect_purchases()
    customer, _, _ = purchases(sim, 84)
    total = chances.sum()
    assert total > 1000
    assert abs(np.sum(customer < chances.size) - total) < 3 * np.sqrt(total), (customer.size, total)


def test_a_fit_with_the_tenure_pair_says_what_it_forecast_on_cdnow_s_small_logs():
    from types import SimpleNamespace

    from experiments.calibrate.report import tenure_hint

    fitted = {"population.cycle_median_days": 90.0, TENURE[0]: 1.1, TENURE[1]: 0.64}
    hint = tenure_hint(SimpleNamespace(values=fitted, matched=None))
    assert "fit without them" in hint and "The scan's box on ten small logs" in hint and "\n" not in hint
    assert "--prior BIG/scenario.toml" in hint and "A prior from the master's fit" in hint
    assert tenure_hint(SimpleNamespace(values={"population.cycle_median_days": 90.0})) is None
    anchored = tenure_hint(SimpleNamespace(values=fitted, matched=SimpleNamespace(prior=object())))
    assert "fit without them" in anchored and "--prior" not in anchored  # it has one
