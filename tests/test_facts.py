"""Stylized facts 1, 2, 6, 8, 9 and 11 of docs/model.md on the ``beauty`` preset.

Each claim compares two runs on the same seed (common random numbers) and requires the difference
to exceed Z standard errors, the SE coming from the spread of the difference over independent
blocks of 1,024 customers (see ``conftest.paired_z``) or from binomial counts (``proportion_z``).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Z, paired_z, proportion_z
from policies import make_policy
from policies.base import RulePolicy, build_action, pick_channel
from sim import Simulation
from sim.config import apply_overrides
from sim.defaults import COUPON, EVENING
from sim.rng import P_POLICY, uniforms
from sim.segments import repurchase_ratio

N = 20_000
DAYS = 180
SEED = 11
ALL = [0, 1, 2, 3, 4]


def run(scenario, policy, days=DAYS, seed=SEED, n=N):
    return Simulation(scenario, n, seed).run(policy, days)


def cadence(k: int, m: int):
    return make_policy("fixed_cadence", {"content_every_days": k, "offer_every_days": m})


def test_fact1_profit_against_contact_frequency_is_an_inverted_u(beauty):
    none = run(beauty, make_policy("no_contact"))
    weekly = run(beauty, cadence(7, 28))
    daily = run(beauty, cadence(1, 4))
    blast = run(beauty, make_policy("blast"))
    assert paired_z(none, weekly, "total_value")[2] > Z  # forgetting loses
    assert paired_z(weekly, daily, "total_value")[2] < -Z  # daily contact loses
    assert paired_z(weekly, blast, "total_value")[2] < -Z  # and the blast loses most
    # daily contact loses through a shrinking, tired pool: unsubscribes, dead groups
    assert daily.summary["reachable_end"] < weekly.summary["reachable_end"]
    assert daily.summary["unsubscribes"] > 3 * weekly.summary["unsubscribes"]
    assert daily.summary["groups_alive"] < weekly.summary["groups_alive"]


def test_fact2_deep_discounts_lift_sales_cut_margin_and_train_deal_waiting(beauty):
    shallow = apply_overrides(beauty, {"contents.coupon.discount": 0.1})
    deep = apply_overrides(beauty, {"contents.coupon.discount": 0.5})
    policy = lambda: cadence(0, 14)  # noqa: E731 - coupons only, every two weeks
    s30, d30 = run(shallow, policy(), days=30), run(deep, policy(), days=30)
    assert paired_z(s30, d30, "purchases")[2] > Z  # short-term sales lift
    s, d = run(shallow, policy()), run(deep, policy())

    def margin_per_purchase(r):
        return (r.summary["gross_margin"] - r.summary["incentive_cost"]) / r.summary["purchases"]
    assert margin_per_purchase(d) < 0.9 * margin_per_purchase(s)
    assert paired_z(s, d, "deal_sum")[2] > Z  # customers learn to wait for deals (hidden)
    assert paired_z(s, d, "total_value")[2] < -Z


class NeedTimed(RulePolicy):
    """A coupon when the CRM's recency reaches 0.8-1.2 of the customer's interval, once a cycle."""

    kind = "need_timed"

    def act(self, obs):
        rel = repurchase_ratio(obs)
        want = (obs.frequency > 0) & (rel >= 0.8) & (rel <= 1.2) & (obs.days_since_contact >= 20)
        return build_action(pick_channel(obs, want, ALL), COUPON, EVENING)


class RandomTimed(RulePolicy):
    """The same coupon to buyers at random days, with a daily chance ``q``."""

    kind = "random_timed"

    def __init__(self, q: float) -> None:
        super().__init__()
        self.q = q

    def act(self, obs):
        want = (obs.frequency > 0) & (uniforms(self.seed, obs.day, P_POLICY, obs.n) < self.q)
        return build_action(pick_channel(obs, want, ALL), COUPON, EVENING)


def test_fact6_need_timed_contact_beats_random_timing(beauty):
    timed = run(beauty, NeedTimed())
    buyers = int((Simulation(beauty, N, SEED).state.frequency > 0).sum())
    q = timed.summary["contacts"] / (buyers * DAYS)
    rand = run(beauty, RandomTimed(q))
    rand = run(beauty, RandomTimed(q * timed.summary["contacts"] / rand.summary["contacts"]))
    assert rand.summary["contacts"] >= 0.97 * timed.summary["contacts"]  # at least as many contacts
    assert paired_z(rand, timed, "purchases")[2] > Z
    assert paired_z(rand, timed, "net_profit")[2] > Z
    assert proportion_z(rand.summary["purchases_contacted"], rand.summary["contacts"],
                        timed.summary["purchases_contacted"], timed.summary["contacts"]) > Z


def test_fact8_content_and_service_build_trust_which_lifts_conversion_and_referrals(beauty):
    def two_phases(first):
        sim = Simulation(beauty, N, SEED)
        nurture = sim.run(first, 120)
        probe = sim.run(cadence(0, 14), 60)  # the same coupon programme for both afterwards
        return nurture, probe

    care, care_probe = two_phases(make_policy("fixed_cadence", {"content": "service", "content_every_days": 7,
                                                                "offer_every_days": 0}))
    none, none_probe = two_phases(make_policy("no_contact"))
    assert paired_z(none, care, "trust_sum")[2] > Z
    assert proportion_z(none_probe.summary["purchases_contacted"], none_probe.summary["opens"],
                        care_probe.summary["purchases_contacted"], care_probe.summary["opens"]) > Z
    assert paired_z(none_probe, care_probe, "referrals")[2] > Z


def test_fact9_segmented_policy_beats_one_message_for_all_on_profit(beauty):
    """Fact 9 is about profit, and on profit over the horizon it holds against every uniform schedule.

    On total value (profit plus what the pool handed over brings after) it holds against schedules
    with offers but not against weekly content for all: rfm_tiered's offers to due buyers earn more now
    (z = +5 on net profit) and leave a pool with more unsubscribes and deal conditioning (z = -6 on
    residual value), a tie on the sum. The tie is the model's answer, kept here so that a change shows.
    """
    segmented = run(beauty, make_policy("rfm_tiered"))
    for one in (make_policy("fixed_cadence"), cadence(0, 7), cadence(7, 0)):
        uniform = run(beauty, one)
        assert paired_z(uniform, segmented, "net_profit")[2] > Z, one.params
        total = paired_z(uniform, segmented, "total_value")[2]
        if one.params.offer_every_days:
            assert total > Z, one.params
        else:
            assert abs(total) < Z, one.params


class RandomSlot(RulePolicy):
    """Content to a random 10% each day at a random slot."""

    kind = "random_slot"

    def act(self, obs):
        u = uniforms(self.seed, obs.day, P_POLICY, obs.n)
        slot = (u * 40).astype(np.int8) % 4
        return build_action(pick_channel(obs, u < 0.1, [0, 1, 2, 3]), 0, slot)


@pytest.mark.parametrize("scenario_name", ["beauty"])
def test_fact11_messages_in_the_active_window_are_opened_more(scenario_name, beauty):
    d = run(beauty, RandomSlot()).daily
    iwc, iwo = d["in_window_contacts"].sum(), d["in_window_opens"].sum()
    owc, owo = d["off_window_contacts"].sum(), d["off_window_opens"].sum()
    assert iwc > 10_000 and owc > 10_000
    assert proportion_z(owo, owc, iwo, iwc) > Z
    assert iwo / iwc > 2 * owo / owc
