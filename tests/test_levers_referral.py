"""Referral in the low-frequency service (docs/model.md, "Referral"): a measured rate, and a reward that pays.

``hair_transplant``'s advocates refer at a rate near measured word of mouth (the preset's comment): the
referred joiners stay a few percent of the pool after six months, not the fifth of it an earlier rate
gave; a reward brings more of them, at its cost (``conftest.paired_z`` over blocks of customers).
"""

from __future__ import annotations

from conftest import Z, paired_z
from policies import make_policy
from sim import Simulation, load_scenario
from sim.config import apply_overrides

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
