"""Gender (docs/levers.md): a trait of the WeChat profile the CRM sees, with a content affinity.

《私域流量的坑你踩了多少》 (hair transplant): clients are mostly men, and men are little moved by small gains;
altruism and sentiment move them. ``population.male_share`` draws the trait, ``contents.<kind>.male_affinity``
scales what a kind of message converts for men (1 everywhere by default: gender changes nothing).
"""

from __future__ import annotations

import numpy as np

from conftest import Z, proportion_z
from sim import Action, Simulation, load_scenario
from sim.config import apply_overrides
from sim.defaults import COUPON, FLAG_BOUGHT, FLAG_OPENED, GENDER_FEMALE, GENDER_MALE, WECOM

N = 20_000
SEED = 13


def _coupons(scenario, days: int = 30, gap: int = 5):
    """WeCom coupons to everyone every ``gap`` days; (opened, bought) per gender from the CRM flags."""
    sim = Simulation(scenario, N, SEED, inflow=False)
    tally = {GENDER_FEMALE: [0, 0], GENDER_MALE: [0, 0]}
    for _ in range(days):
        obs = sim.observe()
        action = Action.none(sim.n)
        go = obs.can_use(WECOM) & ((np.arange(sim.n) + sim.day) % gap == 0)
        action.channel[go] = WECOM
        action.content[:] = COUPON
        sim.step(action)
        flags = sim.observe().last_flags
        for g in tally:
            who = go & (obs.gender == g)
            tally[g][0] += int((who & (flags & FLAG_OPENED > 0)).sum())
            tally[g][1] += int((who & (flags & FLAG_BOUGHT > 0)).sum())
    return sim, tally


def test_the_crm_sees_the_drawn_gender_and_its_share():
    scenario = apply_overrides(load_scenario("hair_transplant"), {"population.male_share": 0.7})
    sim = Simulation(scenario, N, SEED)
    obs = sim.observe()
    assert np.array_equal(obs.gender, sim.state.gender[: sim.n])
    men = int((obs.gender[:N] == GENDER_MALE).sum())  # rows past N are reserved for joiners
    z = (men - 0.7 * N) / np.sqrt(N * 0.7 * 0.3)
    assert abs(z) < 4, (men, z)
    again = Simulation(scenario, N // 2, SEED).observe().gender  # customer i is the same person in a smaller pool
    assert np.array_equal(again[: N // 2], obs.gender[: N // 2])


def test_men_little_moved_by_coupons_buy_less_from_them():
    base = load_scenario("beauty")
    neutral_sim, neutral = _coupons(base)
    low_sim, low = _coupons(apply_overrides(base, {"contents.coupon.male_affinity": 0.4}))
    m0, m1 = neutral[GENDER_MALE], low[GENDER_MALE]
    z = proportion_z(m1[1], m1[0], m0[1], m0[0])
    print(f"men's purchases per opened coupon: {m0[1]}/{m0[0]} neutral, {m1[1]}/{m1[0]} at affinity 0.4, z = {z:.1f}")
    assert m0[0] > 3_000 and z > Z
    # women are untouched: the same purchases, customer by customer
    women = neutral_sim.state.gender[:N] == GENDER_FEMALE
    assert np.array_equal(neutral_sim.state.monetary[:N][women], low_sim.state.monetary[:N][women])
    assert neutral[GENDER_FEMALE] == low[GENDER_FEMALE]
