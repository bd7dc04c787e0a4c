"""Accounts and platforms (docs/levers.md): personal WeChat against WeCom, group chats folding like Moments.

《价值千万的私域心法》: personal WeChat is opened more often and wins trust more easily, but WeChat folds
over-active Moments and group chats; 《私域流量的坑你踩了多少》: guides keep WeCom on a second phone and reply
later. Each claim on a fixed seed with z > 3; each parameter is neutral at its default.
"""

from __future__ import annotations

import math

import numpy as np

from conftest import Z, proportion_z
from sim import Action, Simulation, load_scenario
from sim.config import apply_overrides
from sim.defaults import ACCOUNT_PERSONAL, ACCOUNT_WECOM, CONTENT, COUPON, GROUP, S, WECOM

N = 20_000
SEED = 11


def _beauty(**overrides):
    base = {"staff.personal_share": 0.5}
    return apply_overrides(load_scenario("beauty"), {**base, **overrides})


def _wecom_every(sim: Simulation, gap: int, content: int, account: int) -> Action:
    """A WeCom message every ``gap`` days to the customers whose chat is held on ``account``."""
    obs = sim.observe()
    action = Action.none(sim.n)
    go = obs.can_use(WECOM) & (obs.account == account) & ((np.arange(sim.n) + sim.day) % gap == 0)
    action.channel[go] = WECOM
    action.content[:] = content
    return action


def _run(scenario, days: int, gap: int, content: int, account: int):
    sim = Simulation(scenario, N, SEED, inflow=False)
    total = np.zeros(len(S))
    for _ in range(days):
        total += sim.step(_wecom_every(sim, gap, content, account)).sum(axis=0)
    return sim, total


def test_personal_wechat_chats_are_opened_more_with_the_lift():
    _, flat = _run(_beauty(), 30, 5, CONTENT, ACCOUNT_PERSONAL)
    _, lifted = _run(_beauty(**{"staff.personal_open_lift": 1.4}), 30, 5, CONTENT, ACCOUNT_PERSONAL)
    a = (flat[S["wecom_opened"]], flat[S["wecom_delivered"]])
    b = (lifted[S["wecom_opened"]], lifted[S["wecom_delivered"]])
    z = proportion_z(*a, *b)
    print(f"opens of personal-WeChat chats: {a[0]:.0f}/{a[1]:.0f} without the lift, {b[0]:.0f}/{b[1]:.0f} with, "
          f"z = {z:.1f}")
    assert a[1] > 10_000 and z > Z


def test_personal_wechat_chats_build_more_trust_with_the_lift():
    """The same customers and luck (common random numbers): trust compared customer by customer."""
    flat, _ = _run(_beauty(), 30, 5, CONTENT, ACCOUNT_PERSONAL)
    lifted, _ = _run(_beauty(**{"staff.personal_trust_lift": 2.0}), 30, 5, CONTENT, ACCOUNT_PERSONAL)
    who = flat.state.account[:N] == ACCOUNT_PERSONAL
    diff = (lifted.state.trust[:N] - flat.state.trust[:N])[who].astype(np.float64)
    z = diff.mean() / (diff.std(ddof=1) / math.sqrt(diff.size))
    print(f"trust of {who.sum()} personal-WeChat customers: +{diff.mean():.4f} with the lift, z = {z:.1f}")
    assert z > Z
    others = ~who  # customers on WeCom were not contacted and do not move
    assert np.array_equal(lifted.state.trust[:N][others], flat.state.trust[:N][others])


def test_wecom_chats_convert_less_when_wecom_replies_later():
    _, prompt = _run(_beauty(), 30, 5, COUPON, ACCOUNT_WECOM)
    _, late = _run(_beauty(**{"staff.wecom_extra_delay_hours": 4.0}), 30, 5, COUPON, ACCOUNT_WECOM)
    a = (prompt[S["wecom_purchased"]], prompt[S["wecom_opened"]])
    b = (late[S["wecom_purchased"]], late[S["wecom_opened"]])
    z = proportion_z(*b, *a)
    print(f"purchases per opened WeCom coupon: {a[0]:.0f}/{a[1]:.0f} replying promptly, "
          f"{b[0]:.0f}/{b[1]:.0f} 4 hours later, z = {z:.1f}")
    assert z > Z


def test_the_account_parameters_are_neutral_at_their_defaults():
    """The defaults are the neutral values (the engine's days are then those of main, checked by test_regress)."""
    base = load_scenario("beauty")
    neutral = apply_overrides(base, {"staff.personal_open_lift": 1.0, "staff.personal_trust_lift": 1.0,
                                     "staff.wecom_extra_delay_hours": 0.0, "platform.group_fold_per_week": 0.0})
    assert neutral == base


def _group_daily(scenario, days: int):
    """Group content to every member every day: the over-active group chat WeChat folds."""
    sim = Simulation(scenario, N, SEED, inflow=False)
    total = np.zeros(len(S))
    per_day = []
    for _ in range(days):
        obs = sim.observe()
        action = Action.none(sim.n)
        action.channel[obs.can_use(GROUP)] = GROUP
        action.content[:] = CONTENT
        day = sim.step(action).sum(axis=0)
        total += day
        per_day.append(day)
    return total, np.array(per_day)


def test_group_chats_fold_when_over_posted():
    scenario = load_scenario("mother_baby")  # the preset folds above 3.5 a week: "plain" turns folding off
    plain, plain_days = _group_daily(apply_overrides(scenario, {"platform.group_fold_per_week": 0.0}), 14)
    folding, fold_days = _group_daily(apply_overrides(scenario, {"platform.group_fold_per_week": 3.0}), 14)
    assert plain[S["group_days_folded"]] == 0 and folding[S["group_days_folded"]] > 0
    # the first three days are alike: no group has had more than 3 messages a member in a week yet
    assert np.array_equal(plain_days[:3, S["group_opens"]], fold_days[:3, S["group_opens"]])
    a = (plain[S["group_opens"]], plain[S["group_contacts"]])
    b = (folding[S["group_opens"]], folding[S["group_contacts"]])
    z = proportion_z(*b, *a)
    print(f"group opens over 14 days of daily posts: {a[0]:.0f}/{a[1]:.0f} unfolded, {b[0]:.0f}/{b[1]:.0f} "
          f"folding above 3 a week, z = {z:.1f}")
    assert z > Z
