"""Each day's purchase chances, summed: the purchases a forecast counts, without the noise of the draws."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.calibrate.simulate import pool_simulation, purchases
from sim.config import load_scenario
from sim.defaults import ACTIVE, WECOM
from sim.engine import Simulation
from sim.protocol import Action


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


def test_a_day_with_contacts_is_refused():
    sim = Simulation(load_scenario("beauty"), 500, 1, inflow=False)
    sim.expect_purchases()
    sim.step()
    action = Action.none(sim.n)
    action.channel[sim.observe().can_use(WECOM)] = WECOM
    with pytest.raises(ValueError, match="days without contacts only"):
        sim.step(action)
