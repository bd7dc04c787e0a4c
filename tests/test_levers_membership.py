"""The member programme (docs/levers.md): member prices and points, and paid membership as a policy offer.

A member price lifts repurchase at its cost, and unlike a coupon of the same depth it does not teach
customers to wait for deals; a paid-membership offer sells memberships whose fees are booked and whose
benefits bring members back (``conftest.paired_z`` over blocks of customers, common random numbers).
"""

from __future__ import annotations

import pytest

from conftest import Z, paired_z
from policies import make_policy
from sim import Simulation, load_scenario
from sim.config import apply_overrides

N = 20_000
SEED = 5
DAYS = 60
CUT = 0.15
"""Depth of the member price and of the deeper coupon it is compared with."""


def _run(overrides: dict, policy: str = "fatigue_capped", params: dict | None = None):
    scenario = apply_overrides(load_scenario("beauty"), overrides)
    return Simulation(scenario, N, SEED).run(make_policy(policy, params or {}), DAYS, residual=False)


def test_a_member_price_lifts_repurchase_at_its_cost_and_does_not_teach_waiting_as_a_coupon_does():
    plain = _run({})
    members = _run({"membership.enabled": True, "membership.member_price": CUT, "membership.points_rate": 0.0,
                    "membership.points_loyalty": 0.0})
    coupon = load_scenario("beauty").contents["coupon"].discount
    deeper = _run({"contents.coupon.discount": min(coupon + CUT, 0.9)})
    assert paired_z(plain, members, "purchases")[2] > Z
    assert members.summary["incentive_cost"] > plain.summary["incentive_cost"]
    # the same extra depth as a coupon trains customers to wait for deals; the member price does not
    assert paired_z(members, deeper, "deal_sum")[2] > Z
    assert plain.summary["deal_mean_end"] == pytest.approx(members.summary["deal_mean_end"], rel=0.05)


def test_points_bring_members_back():
    base = {"membership.enabled": True, "membership.member_price": 0.0, "membership.points_rate": 0.03}
    without = _run({**base, "membership.points_loyalty": 0.0})
    loyal = _run({**base, "membership.points_loyalty": 0.3})
    assert paired_z(without, loyal, "purchases_organic")[2] > Z


def test_a_paid_membership_offer_sells_memberships_whose_benefits_bring_members_back():
    offer = {"welcome": [], "invite": "paid_membership", "invite_within_days": 60, "invite_gap_days": 30}
    on = {"membership.enabled": True, "membership.paid_accept": 0.5, "membership.min_tier": 3}
    idle = _run({**on, "membership.paid_price": 0.0, "membership.paid_loyalty": 0.0}, "journeys", offer)
    paid = _run(on, "journeys", offer)
    fee = load_scenario("beauty").membership.paid_fee_yuan
    assert paid.daily["memberships_sold"].sum() > 100
    assert paid.daily["membership_fees"].sum() == pytest.approx(fee * paid.daily["memberships_sold"].sum())
    # the offers and their acceptance draw the same luck in both runs; only the members' benefits differ
    assert paid.daily["memberships_sold"].sum() == idle.daily["memberships_sold"].sum()
    assert paired_z(idle, paid, "purchases_organic")[2] > Z
    assert paid.summary["revenue"] - idle.summary["revenue"] > 0
