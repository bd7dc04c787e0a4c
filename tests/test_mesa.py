"""The Mesa adapter reports what the engine computes, without dynamics of its own."""

from __future__ import annotations

import numpy as np

from agents.mesa_model import PoolModel
from policies import make_policy
from sim import Simulation


def test_mesa_model_matches_the_engine_day_by_day(beauty):
    model = PoolModel(beauty, make_policy("rfm_tiered"), customers=3000, seed=4, agent_sample=50)
    for _ in range(20):
        model.step()
    direct = Simulation(beauty, 3000, 4).run(make_policy("rfm_tiered"), 20)
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 20
    assert np.array_equal(frame["revenue"].to_numpy(), direct.daily["revenue"])
    assert np.array_equal(frame["reachable"].to_numpy(), direct.daily["reachable"])
    assert len(model.agents) == 50
    agents = model.datacollector.get_agent_vars_dataframe()
    assert len(agents) == 20 * 50
    assert agents["salience"].between(0, 1).all()
    first = next(iter(model.agents))
    assert first.salience == float(model.simulation.state.salience[first.row])
