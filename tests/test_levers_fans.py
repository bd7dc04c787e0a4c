"""Fan tiers by interaction (docs/levers.md): fans who interact earn tiers; a tier's reward for details grows reach.

《私域流量的坑你踩了多少》: besides member tiers by spend, non-member fan tiers by interaction, "to increase
interaction and let customers leave their contact details (留资) while enjoying member treatment".
Off by default (``fans.enabled``).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Z, proportion_z
from sim import Action, Simulation, load_scenario
from sim.config import apply_overrides
from sim.defaults import CONTENT, GROUP, MOMENTS, OFFICIAL, S, SMS, WECOM

N = 20_000
SEED = 17
DAYS = 30


def _engage_fans(scenario):
    """Content every day to every fan (never bought) WeCom does not reach, on a channel that does."""
    sim = Simulation(scenario, N, SEED, inflow=False)
    obs = sim.observe()
    fans = (obs.frequency[:N] == 0) & ~obs.can_use(WECOM)[:N] & obs.reachable[:N]
    total = np.zeros(len(S))
    for _ in range(DAYS):
        obs = sim.observe()
        action = Action.none(sim.n)
        turn = np.zeros(sim.n, bool)
        turn[:N] = fans
        for c in (MOMENTS, GROUP, OFFICIAL, SMS):
            go = turn & obs.can_use(c) & (action.channel < 0)
            action.channel[go] = c
        action.content[:] = CONTENT
        total += sim.step(action).sum(axis=0)
    return sim, fans, total


def test_fans_who_interact_earn_tiers_and_leave_contact_details():
    base = apply_overrides(load_scenario("beauty"), {"fans.opens_per_tier": 2})
    off_sim, fans, off = _engage_fans(base)
    on_sim, _, on = _engage_fans(apply_overrides(base, {"fans.enabled": True}))
    assert off[S["fan_details"]] == 0 and on[S["fan_details"]] > 0

    def wecom(sim):
        return int(((sim.state.reach[:N] >> WECOM) & 1)[fans].sum())

    k = int(fans.sum())
    z = proportion_z(wecom(off_sim), k, wecom(on_sim), k)
    print(f"fans WeCom did not reach, reachable on WeCom after {DAYS} days: {wecom(off_sim)} of {k} without fan "
          f"tiers, {wecom(on_sim)} with ({on[S['fan_details']]:.0f} left their details), z = {z:.1f}")
    assert z > Z
    fans_cfg = on_sim.scenario.fans
    assert on[S["incentive_cost"]] - off[S["incentive_cost"]] == pytest.approx(
        on[S["fan_details"]] * fans_cfg.reward_yuan)
    tiers = on_sim.observe().fan_tier[:N]
    buyers = on_sim.state.tier[:N] > 0
    assert tiers.max() >= 1 and (tiers[buyers] == 0).all()
    assert (off_sim.observe().fan_tier == 0).all()


def test_the_new_levers_are_deterministic_across_thread_counts():
    """Fan tiers, accounts, group folding and gender all on: same seed, same days, bit for bit, on 1 or 2 threads."""
    import numba

    from policies import load_policy
    from sim.defaults import STAT_NAMES
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    scenario = apply_overrides(load_scenario("mother_baby"), {
        "fans.enabled": True, "staff.personal_share": 0.5, "staff.personal_open_lift": 1.3,
        "staff.personal_trust_lift": 1.5, "staff.wecom_extra_delay_hours": 2.0, "platform.group_fold_per_week": 2.0,
        "contents.coupon.male_affinity": 0.5})
    runs = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        try:
            sim = Simulation(scenario, 5000, 7)
            runs.append((sim, sim.run(load_policy("blast"), 30)))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    (s1, r1), (s2, r2) = runs
    assert r1.daily["fan_details"].sum() > 0 and r1.daily["group_days_folded"].sum() > 0
    for name in STAT_NAMES:
        assert np.array_equal(r1.daily[name], r2.daily[name]), name
    for field, arr in s1.state.arrays().items():
        assert np.array_equal(arr, s2.state.arrays()[field]), field
