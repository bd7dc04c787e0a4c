"""Every customer, group and guide is a Mesa agent viewing the engine's arrays: reads and writes round-trip,
AgentSet operations see the real state, and nothing is made up front."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from agents import CustomerAgent, GroupAgent, PoolModel, StaffAgent
from agents.mesa_model import GROUP_REPORTERS, TrackedCustomer
from sim import load_scenario
from sim.config import apply_overrides
from sim.defaults import ACTIVE, STAGES


@pytest.fixture(scope="module")
def model():
    """A beauty pool with guides, after a few days (so state has moved and customers have joined)."""
    sc = apply_overrides(load_scenario("beauty"), {"staff.customers_per_guide": 250})
    m = PoolModel(sc, "rfm_tiered", customers=2000, days=30, seed=7, tracked=25)
    for _ in range(5):
        m.step()
    return m


def test_all_rows_are_agents_and_none_is_made_up_front():
    m = PoolModel("beauty", "no_contact", customers=3000, days=3, seed=1)
    assert len(m._cache) == 0  # no Python object per customer until somebody looks
    groups = -(-m.simulation.joined // m.simulation.groups.size)
    assert (len(m.customers), len(m.groups), len(m.staff)) == (3000, groups, 0)
    assert len(m.agents) == 3000 + groups
    assert len(m.agents.select(agent_type=GroupAgent)) == groups
    first = m.customers[0]
    assert isinstance(first, mesa.Agent) and first is m.customers[0]
    assert len(m._cache) == 1
    m.step()
    by_stage = m.customers.select(lambda c: c.active).groupby("stage").count()
    assert {s: m.today[f"stage_{s}"] for s in STAGES} == {s: by_stage.get(s, 0) for s in STAGES}


def test_reads_and_writes_round_trip(model):
    st = model.simulation.state
    agent = model.customers[17]
    assert agent.fatigue == st.fatigue[17].item() and agent.stage == STAGES[st.stage[17]]
    agent.fatigue = 0.25
    agent.stage = "ask"
    assert st.fatigue[17] == np.float32(0.25) and st.stage[17] == STAGES.index("ask")
    with pytest.raises(ValueError, match="stage must be one of"):
        agent.stage = "bored"
    with pytest.raises(AttributeError, match="derived"):
        agent.reachable = True
    group = model.groups[2]
    group.heat = 0.9
    assert model.simulation.groups.heat[2] == 0.9
    assert model.staff[1].quality == model.simulation.world.quality[1]
    assert model.staff[1].customers.rows.tolist() == list(range(250, 500))
    model.customers.select(lambda c: c.row < 10).set("trust", 0.5)
    assert np.all(st.trust[:10] == np.float32(0.5)) and st.trust[10] != np.float32(0.5)


def test_select_agg_groupby_sort_see_every_row(model):
    st, n = model.simulation.state, model.simulation.joined
    tired = model.customers.select(lambda c: c.fatigue > 0.3)  # vectorised
    assert tired.rows.tolist() == np.flatnonzero(st.fatigue[:n] > 0.3).tolist()
    both = model.customers.select(lambda c: c.fatigue > 0.3 and c.tier > 0)  # not vectorisable: per agent
    assert both.rows.tolist() == np.flatnonzero((st.fatigue[:n] > 0.3) & (st.tier[:n] > 0)).tolist()
    assert len(model.customers.select(at_most=0.1)) == n // 10
    assert model.customers.agg("salience", np.mean) == st.salience[:n].mean()
    active = model.customers.select(lambda c: c.active)
    counts = np.bincount(st.stage[:n][st.status[:n] == ACTIVE], minlength=5)
    assert active.groupby("stage").count() == {STAGES[i]: int(c) for i, c in enumerate(counts) if c}
    by_tier = model.customers.groupby("tier").agg("monetary", np.sum)
    assert by_tier == {int(t): st.monetary[:n][st.tier[:n] == t].sum() for t in np.unique(st.tier[:n])}
    richest = model.customers.sort("monetary", ascending=False)[0]
    assert richest.monetary == st.monetary[:n].max()
    assert model.customers.get(["tier", "stage"])[3] == [st.tier[3].item(), STAGES[st.stage[3]]]
    size = model.simulation.groups.size
    assert model.customers[size + 1].group == 1
    assert len(model.customers.select(lambda c: c.group == 2)) == size


def test_a_write_changes_the_simulated_days():
    runs = []
    for wipe in (False, True):
        m = PoolModel("beauty", "fatigue_capped", customers=3000, days=5, seed=3)
        if wipe:
            m.customers.set("salience", 0.0)  # nobody remembers the brand
        m.run_model()
        runs.append(m.summary())
    assert runs[1]["purchases_organic"] < runs[0]["purchases_organic"]


def test_column_wise_collection_equals_mesa_agent_by_agent(model):
    reference = mesa.DataCollector(agenttype_reporters={GroupAgent: {k: k for k in GROUP_REPORTERS},
                                                        TrackedCustomer: {"fatigue": "fatigue", "stage": "stage"},
                                                        StaffAgent: {"quality": "quality"}})
    reference.collect(model)
    model.datacollector.collect(model)
    for kind, names in ((GroupAgent, list(GROUP_REPORTERS)), (TrackedCustomer, ["fatigue", "stage"]),
                        (StaffAgent, ["quality"])):
        ours = model.datacollector.get_agenttype_vars_dataframe(kind).loc[model.steps, names]
        theirs = reference.get_agenttype_vars_dataframe(kind).loc[model.steps, names]
        assert ours.equals(theirs), kind
    tracked = model.datacollector.get_agenttype_vars_dataframe(TrackedCustomer).loc[model.steps]
    assert len(tracked) == 25 and tracked.index[-1] == 1999
    assert isinstance(model.customers[0], CustomerAgent)
