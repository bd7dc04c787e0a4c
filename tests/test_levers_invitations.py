"""Invitations (docs/levers.md): growing reach as a policy action.

An invitation to add the WeCom persona is accepted far more often by recent buyers (fact 5), its cost and
its gift show in the books, and the engine refuses what a real platform would not carry.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import Z, proportion_z
from policies import make_policy
from sim import Action, Simulation, load_scenario
from sim.config import apply_overrides
from sim.defaults import (ACCOUNT_WECOM, CONTENT, GROUP, INVITE_GROUP, INVITE_WECOM, INVITE_WECOM_GIFT,
                          OFFICIAL, S, SMS, WECOM)
from sim.observation import InvalidActionError

N = 20_000
SEED = 3
DAYS = 20
RECENT_DAYS = 30
"""Recent buyers: ordered at most this many days before the invitation."""
OLD_DAYS = 180
"""Old buyers (and fans): ordered more than this many days before, or never."""


@pytest.fixture(scope="module")
def inviting():
    """The beauty preset: it turns invitations on (the Perfect Diary funnel, 《私域营销从锦上添花变为企业标配》)."""
    scenario = load_scenario("beauty")
    assert scenario.invitation.enabled
    return scenario


def test_an_invitation_grows_wecom_reach_more_for_recent_buyers(inviting):
    sim = Simulation(inviting, N, SEED)
    policy = make_policy("journeys", {"welcome": [], "invite": "wecom_gift", "invite_within_days": 10000,
                                      "invite_gap_days": 1})
    policy.reset(sim.n, sim.seed)
    sent = {"recent": 0, "old": 0}
    took = {"recent": 0, "old": 0}
    for _ in range(DAYS):
        obs = sim.observe()
        action = policy.act(obs)
        assert action.invite is not None
        invited = action.invite == INVITE_WECOM_GIFT
        recency = obs.recency.copy()
        sim.step(action)
        st = sim.state
        accepted = invited & ((st.reach[: invited.size] >> WECOM) & 1 == 1) & (st.account[: invited.size]
                                                                               == ACCOUNT_WECOM)
        for name, who in (("recent", recency <= RECENT_DAYS), ("old", recency > OLD_DAYS)):
            sent[name] += int((invited & who).sum())
            took[name] += int((accepted & who).sum())
    assert min(sent.values()) > 1000, sent
    z = proportion_z(took["old"], sent["old"], took["recent"], sent["recent"])
    assert z > Z, (took, sent, z)
    print(f"acceptance: recent {took['recent']}/{sent['recent']}, old {took['old']}/{sent['old']}, z = {z:.1f}")


def test_an_invitation_costs_its_price_and_an_accepted_gift_its_value(inviting):
    sim = Simulation(inviting, N, SEED)
    plain = sim.validate(_invite_everyone(sim, 0))
    invited = sim.validate(_invite_everyone(sim, INVITE_WECOM_GIFT))
    twin = Simulation(inviting, N, SEED)
    a = twin.step(plain).sum(axis=0)
    b = sim.step(invited).sum(axis=0)
    inv = inviting.invitation
    n_inv, n_acc = b[S["invitations"]], b[S["invitations_accepted"]]
    assert n_inv == int((invited.invite > 0).sum()) > 1000 and n_acc > 0
    assert a[S["invitations"]] == 0
    # the same customers and luck: the day's purchases match, the books differ by the invitations alone
    assert b[S["purchases"]] == a[S["purchases"]]
    assert b[S["contact_cost"]] - a[S["contact_cost"]] == pytest.approx(n_inv * inv.cost_yuan)
    assert b[S["incentive_cost"]] - a[S["incentive_cost"]] == pytest.approx(n_acc * inv.gift_yuan)
    grown = ((sim.state.reach >> WECOM) & 1).sum() - ((twin.state.reach >> WECOM) & 1).sum()
    assert grown > 0


def _invite_everyone(sim: Simulation, code: int) -> Action:
    """Invite every customer WeCom does not reach, on the official account or else SMS."""
    obs = sim.observe()
    action = Action.none(sim.n)
    off = ~obs.can_use(WECOM) & obs.reachable
    for c in (SMS, OFFICIAL):
        go = off & obs.can_use(c)
        action.channel[go] = c
    action.content[:] = CONTENT
    action.invite = np.where(action.channel >= 0, code, 0).astype(np.uint8)
    return action


def test_invitations_are_refused_where_the_platform_would_not_carry_them(beauty, inviting):
    sim = Simulation(inviting, 200, SEED)
    obs = sim.observe()
    outside_group = (obs.reach >> GROUP) & 1 == 0
    on_wecom = int(np.flatnonzero(obs.can_use(WECOM) & (obs.account == ACCOUNT_WECOM) & outside_group)[0])
    action = Action.none(sim.n)
    action.invite = np.zeros(sim.n, np.uint8)
    action.invite[on_wecom] = INVITE_GROUP
    with pytest.raises(InvalidActionError, match=f"customer {on_wecom}: action.invite=3 is not allowed"):
        sim.step(action)  # no contact to ride on
    action.channel[on_wecom], action.content[on_wecom] = WECOM, CONTENT
    action.invite[on_wecom] = INVITE_WECOM
    with pytest.raises(InvalidActionError, match="already reached on that channel"):
        sim.step(action)
    action.invite[on_wecom] = 9
    with pytest.raises(InvalidActionError, match="code 1..5"):
        sim.step(action)
    with pytest.raises(InvalidActionError, match="shape"):
        sim.step(Action(action.channel, action.content, action.slot, None, np.ones(3, np.uint8)))
    action.invite[on_wecom] = INVITE_GROUP  # WeCom may carry an invitation to the welfare group
    off = Simulation(apply_overrides(beauty, {"invitation.enabled": False}), 200, SEED)
    with pytest.raises(InvalidActionError, match="invitations off"):
        off.step(action)
    sim.step(action)
    assert sim.day == 1


def test_a_journey_without_invitations_sends_none(inviting):
    sim = Simulation(inviting, 2000, SEED)
    policy = make_policy("journeys")
    policy.reset(sim.n, sim.seed)
    assert policy.act(sim.observe()).invite is None


def test_a_journey_sends_no_invitation_the_brand_does_not_run():
    sim = Simulation(load_scenario("hair_transplant"), 2000, SEED)  # invitations off in this preset
    policy = make_policy("journeys", {"invite": "wecom_gift", "invite_within_days": 10000})
    policy.reset(sim.n, sim.seed)
    obs = sim.observe()
    assert not any(obs.invite_enabled) and policy.act(obs).invite is None
    sim.run(policy, 3, residual=False)  # and the engine accepts its days


def test_the_report_counts_the_levers_each_policy_pulled(tmp_path):
    from experiments.reporting.report import write_report
    from experiments.running.runner import run_experiment
    from experiments.running.spec import experiment_from_refs

    policy = tmp_path / "inviting.toml"
    policy.write_text('policy = "journeys"\nname = "inviting"\n\n[params]\ninvite = "wecom_gift"\n'
                      'ask_after_order_days = 7\nevent_offer = "coupon"\n', encoding="utf-8")
    out = tmp_path / "out"
    run_experiment(experiment_from_refs("mother_baby", ["fatigue_capped", str(policy)], 2, customers=1500,
                                        days=20), out)
    section = write_report(out).markdown.read_text().split("## Levers")[1].split("## ")[0]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| policy")}
    assert rows["fatigue_capped"][2] == "0" and int(rows["inviting"][2].replace(",", "")) > 0  # invitations
    assert int(rows["inviting"][7].replace(",", "")) > 0  # contacts on the live stream's day (day 14)
