"""Each day's purchase chances, summed: the purchases a forecast counts, without the noise of the draws."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.calibrate.simulate import pool_simulation, purchases
from experiments.logs.export import OrderTracker
from sim.config import load_scenario
from sim.defaults import ACTIVE, CONTENTS, WECOM
from sim.engine import Simulation
from sim.protocol import Action

COUPON = CONTENTS.index("coupon")


@pytest.mark.parametrize("preset", ["beauty", "high_ticket"])
def test_summed_chances_equal_the_drawn_purchases_in_expectation(preset):
    sim = pool_simulation(load_scenario(preset), 20_000, 3)
    for _ in range(30):
        sim.step()
    chances = sim.expect_purchases()
    gone = sim.state.status[: chances.size] != ACTIVE  # left before the first summed day
    customer, _, _ = purchases(sim, 84)
    drawn = np.bincount(customer[customer < chances.size], minlength=chances.size)
    # purchases minus the summed chances is a sum of each day's (bought - chance): mean 0, variance at most the
    # chances' sum (one Bernoulli a day), so 3 sd is 3 sqrt(total)
    total = chances.sum()
    assert abs(drawn.sum() - total) < 3 * np.sqrt(total), (drawn.sum(), total)
    assert total > 1000  # enough purchases for the tolerance to be 10% or less
    # not the drawn counts: fractions; customers who had left add nothing
    assert not np.array_equal(chances, np.round(chances)) and np.all(chances >= 0)
    assert gone.any() and np.all(chances[gone] == 0.0)


def contact_some(sim: Simulation, share: float, rng: np.random.Generator) -> Action:
    """A coupon on WeCom to a random ``share`` of the customers WeCom still reaches."""
    action = Action.none(sim.n)
    chosen = sim.observe().can_use(WECOM) & (rng.random(sim.n) < share)
    action.channel[chosen], action.content[chosen] = WECOM, COUPON
    return action


def test_a_contacted_customers_day_adds_whether_they_bought_and_the_others_their_chance():
    sim = Simulation(load_scenario("beauty"), 3000, 1, inflow=False)
    sim.step()
    summed = sim.expect_purchases()
    rng, ones = np.random.default_rng(5), 0
    for _ in range(20):
        before, bought = summed.copy(), sim.state.frequency[: summed.size].copy()
        action = contact_some(sim, 0.3, rng)
        sim.step(action)
        added = summed - before
        sent = action.channel[: summed.size] >= 0
        # 0 or 1 added to a sum: equal up to rounding
        np.testing.assert_allclose(added[sent], sim.state.frequency[: summed.size][sent] != bought[sent], atol=1e-9)
        assert np.all((added[~sent] >= 0) & (added[~sent] < 1))
        ones += int(np.sum(added[sent] > 0.5))
    assert sent.sum() > 500 and ones > 0 and not np.array_equal(summed, np.round(summed))


def test_summed_under_contacts_equal_the_drawn_purchases_in_expectation():
    sim = pool_simulation(load_scenario("beauty"), 20_000, 4)
    for _ in range(30):
        sim.step()
    summed = sim.expect_purchases()
    tracker, rng = OrderTracker(sim), np.random.default_rng(6)
    drawn = np.zeros(summed.size)
    for day in range(84):
        sim.step(contact_some(sim, 0.5, rng) if day % 7 == 0 else None)
        rows, _ = tracker.orders()
        drawn += np.bincount(rows[rows < summed.size], minlength=summed.size)
    # drawn minus summed is a sum of (bought - chance) over the days nobody contacted the customer: mean 0 if the
    # others' chances are right on contact days too, variance at most the chances' sum, so 3 sd is 3 sqrt(total)
    total = summed.sum()
    assert abs(drawn.sum() - total) < 3 * np.sqrt(total), (drawn.sum(), total)
    assert total > 1000
