"""Referral in the low-frequency service (docs/model.md, "Referral"): a measured rate, a reward, an ask.

``hair_transplant``'s advocates refer at a rate near measured word of mouth (the preset's comment): the
referred joiners stay a few percent of the pool after six months, not the fifth of it an earlier rate
gave; a reward brings more of them, at its cost, and so does asking repeat buyers after an order
(``conftest.paired_z`` over blocks of customers).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Z, paired_z
from policies import make_policy
from sim import Action, Simulation, load_scenario
from sim.config import apply_overrides
from sim.defaults import SERVICE, WECOM
from sim.observation import InvalidActionError

N = 20_000
SEED = 4
DAYS = 180


def test_referred_joiners_stay_a_few_percent_of_the_pool_after_six_months():
    sim = Simulation(load_scenario("hair_transplant"), N, SEED)
    result = sim.run(make_policy("fatigue_capped"), DAYS, residual=False)
    share = result.summary["acquired_referral"] / sim.joined
    assert 0.01 < share < 0.06, share


def test_a_referral_reward_brings_more_joiners_at_its_cost():
    scenario = load_scenario("hair_transplant")
    unpaid = apply_overrides(scenario, {"referral.reward_yuan": 0.0})
    a = Simulation(unpaid, N, SEED).run(make_policy("fatigue_capped"), DAYS, residual=False)
    b = Simulation(scenario, N, SEED).run(make_policy("fatigue_capped"), DAYS, residual=False)
    assert paired_z(a, b, "referrals")[2] > Z
    # rewards are booked with the day's joiners (pool level, block 0): each referred joiner costs the reward
    assert a.summary["acquisition_cost"] == 0.0 < b.summary["acquisition_cost"]
    assert b.summary["acquisition_cost"] == scenario.referral.reward_yuan * b.summary["acquired_referral"]


def test_asking_repeat_buyers_for_a_referral_brings_joiners_at_the_rewards_cost():
    scenario = load_scenario("hair_transplant")
    silent = Simulation(scenario, N, SEED).run(make_policy("fatigue_capped"), DAYS, residual=False)
    asks = make_policy("journeys", {"welcome": [], "ask_after_order_days": 7})  # fatigue_capped plus the ask
    asking = Simulation(scenario, N, SEED).run(asks, DAYS, residual=False)
    assert paired_z(silent, asking, "referrals")[2] > Z
    more = asking.summary["acquired_referral"] - silent.summary["acquired_referral"]
    assert more > 0
    paid = asking.summary["acquisition_cost"] - silent.summary["acquisition_cost"]
    assert paid == pytest.approx(scenario.referral.reward_yuan * more)


def test_an_ask_rides_on_a_contact_and_is_zero_or_one(beauty):
    sim = Simulation(beauty, 100, SEED)
    obs = sim.observe()
    who = int(np.flatnonzero(obs.can_use(WECOM))[0])
    action = Action.none(sim.n)
    action.ask = np.zeros(sim.n, np.uint8)
    action.ask[who] = 1
    with pytest.raises(InvalidActionError, match=f"customer {who}: action.ask=1 is not allowed"):
        sim.step(action)
    action.channel[who], action.content[who] = WECOM, SERVICE
    action.ask[who] = 2
    with pytest.raises(InvalidActionError, match="ask is 0 or 1"):
        sim.step(action)
    with pytest.raises(InvalidActionError, match="shape"):
        sim.step(Action(action.channel, action.content, action.slot, np.ones(3, np.uint8)))
    action.ask[who] = 1
    sim.step(action)
    assert sim.day == 1
