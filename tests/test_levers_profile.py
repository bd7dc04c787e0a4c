"""Journeys that read the customer's profile (docs/levers.md): ``male_offer`` and fan contact, on ``hair_transplant``.

``hair_transplant`` (70% men, coupons and flash sales convert men at 0.6, fan tiers on): ``male_offer`` turns
men's offers into another content or into no message; ``fan_every_days`` messages fans below
``fan_until_tier``, who then climb tiers and leave their contact details for the reward. The report's Levers
table shows both.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import Z
from experiments.reporting.report import lever_table, load
from experiments.running.runner import run_experiment
from experiments.running.spec import experiment_from_refs
from policies import make_policy
from sim import Simulation, load_scenario
from sim.defaults import GENDER_MALE, NO_CONTACT, OFFERS, SERVICE

SEED = 7
BASE = {"welcome": [], "base_params": {"offer": "coupon"}}
"""journeys as fatigue_capped with coupons, no welcome: offers every cycle, the lever decides who gets them."""


@pytest.fixture(scope="module")
def hair():
    return load_scenario("hair_transplant")


def day_actions(scenario, params, days, n=4000):
    """(gender, channel, content, fan_tier) of each day's action under journeys with ``params``."""
    sim = Simulation(scenario, n, SEED)
    policy = make_policy("journeys", params)
    policy.reset(sim.n, sim.seed)
    out = []
    for _ in range(days):
        obs = sim.observe()
        a = policy.act(obs)
        out.append((obs.gender.copy(), a.channel.copy(), a.content.copy(), obs.fan_tier.copy(),
                    obs.frequency.copy(), obs.days_since_contact.copy()))
        sim.step(a)
    return out


@pytest.mark.parametrize("male_offer", ["service", "none"])
def test_male_offer_spares_men_every_coupon_and_flash_sale(hair, male_offer):
    same = day_actions(hair, BASE, 20)
    spared = day_actions(hair, {**BASE, "male_offer": male_offer}, 20)
    offers_to_women = 0
    for (g, ch, ct, *_), (g2, ch2, ct2, *_) in zip(same, spared):
        men, sent = g2 == GENDER_MALE, ch2 != NO_CONTACT
        assert not (men & sent & np.isin(ct2, OFFERS)).any()
        offers_to_women += int((~men & sent & np.isin(ct2, OFFERS)).sum())
    g, ch, ct, *_ = same[0]  # day 0: the same pool and policy state; men's offers became service, or nothing
    g2, ch2, ct2, *_ = spared[0]
    was_offer = (g == GENDER_MALE) & (ch != NO_CONTACT) & np.isin(ct, OFFERS)
    assert was_offer.sum() > 100 and offers_to_women > 100
    if male_offer == "service":
        assert np.all(ct2[was_offer] == SERVICE) and np.array_equal(ch2, ch)
    else:
        assert np.all(ch2[was_offer] == NO_CONTACT) and np.array_equal(ch2[~was_offer], ch[~was_offer])


def test_male_offer_books_no_discount_to_men(hair):
    runs = {m: Simulation(hair, 4000, SEED).run(make_policy("journeys", {**BASE, "male_offer": m}), 40,
                                                residual=False) for m in ("same", "service")}
    same, spared = runs["same"].daily, runs["service"].daily
    assert spared["male_offers"].sum() == 0 and spared["male_discounts"].sum() == 0
    assert same["male_offers"].sum() > 1000 and same["male_discounts"].sum() > 0
    assert 0.6 < same["male_contacts"].sum() / same["contacts"].sum() < 0.8  # 70% men


def test_fan_contact_reaches_fans_below_the_tier_and_they_leave_details(hair):
    params = {**BASE, "fan_every_days": 3, "fan_until_tier": 2, "base": "no_contact", "base_params": {}}
    for d, (_, ch, _, tier, freq, since) in enumerate(day_actions(hair, params, 12, n=3000)):
        sent = ch != NO_CONTACT
        assert np.all(freq[sent] == 0) and np.all(tier[sent] < 2) and np.all(since[sent] >= 3), d
        if d == 0:
            assert sent.sum() > 300
    n, days = 20_000, 30
    off = Simulation(hair, n, SEED).run(make_policy("journeys", {**params, "fan_every_days": 0}), days,
                                        residual=False).daily
    on = Simulation(hair, n, SEED).run(make_policy("journeys", params), days, residual=False).daily
    x0, x1 = off["fan_details"].sum(), on["fan_details"].sum()
    assert on["fan_contacts"].sum() > 10_000 and off["fan_contacts"].sum() == 0
    z = (x1 - x0) / math.sqrt(x1 + x0)  # two Poisson counts
    assert z > Z, (x0, x1, z)


def test_report_levers_table_shows_men_and_fans(hair, tmp_path):
    policy = tmp_path / "spare_men.toml"
    policy.write_text('policy = "journeys"\nname = "spare_men"\n[params]\nwelcome = []\nmale_offer = "service"\n'
                      'fan_every_days = 5\nfan_until_tier = 3\n')
    out = tmp_path / "out"
    run_experiment(experiment_from_refs("hair_transplant", ["fatigue_capped", str(policy)], 2, customers=1000,
                                        days=20), out)
    header, rows = lever_table(load(out))
    for title in ("contacts to men", "coupons and flash sales to men", "discounts to men (yuan)",
                  "contacts to fans", "fans who left contact details"):
        assert title in header, header
    assert "folded group-days" not in header  # hair_transplant's groups never fold: the column is left out
    table = {r[0]: dict(zip(header, r)) for r in rows}
    assert table["spare_men"]["coupons and flash sales to men"] == "0"
    assert table["fatigue_capped"]["coupons and flash sales to men"] != "0"
